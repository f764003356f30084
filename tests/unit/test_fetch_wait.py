"""The case desk's consumer asks the broker to answer within FETCH_MAX_WAIT_MS, not faust's fixed 1,500 ms nor
the 10 ms that spent ~19% of a core on empty fetches (see `envgrid.streams.app._shorten_fetch_wait`)."""

from __future__ import annotations

import asyncio

import faust

from envgrid.streams.app import FETCH_MAX_WAIT_MS, _shorten_fetch_wait


def test_the_workers_consumer_waits_for_data_at_most_the_measured_fetch_wait():
    async def built_consumer_wait() -> int:
        app = faust.App("fetch-wait-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        _shorten_fetch_wait()
        consumer = app.consumer._thread._create_worker_consumer(app.transport)  # built, never started
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert FETCH_MAX_WAIT_MS == 250
    assert asyncio.run(built_consumer_wait()) == FETCH_MAX_WAIT_MS
