"""The three-broker test's publisher (tests/integration/three_broker_clients.py) killed mid-traffic as librdkafka's
assertion would (SIGABRT): the one that follows publishes exactly what the intake topics lack, so every event is in
the log once and the conservation accounting stays exact."""

from __future__ import annotations

import os
import signal
import time

import pytest

from envgrid.simulator.generator import generate
from tests.integration.client_process import ChildDied, ClientProcess
from tests.integration.conservation import CONFIG
from tests.integration.pipeline_process import prepare
from tests.integration.three_broker_clients import published_once

pytestmark = pytest.mark.integration


def test_a_publisher_aborted_mid_traffic_is_followed_by_one_that_publishes_what_the_log_lacks(cluster, unique_name,
                                                                                              tmp_path):
    prefix = unique_name("resume")
    catalogue, codec = prepare(cluster, prefix)
    events = list(generate(seed=7, count=400, config=CONFIG))
    publisher = ClientProcess("tests.integration.three_broker_clients:Publisher", (cluster, prefix, None, events, 100.0),
                              log=tmp_path / "publisher.log")
    try:
        publisher.call("start", False)
        time.sleep(1.5)  # about 150 of the 400 published at 100/s
        pid = publisher.pid
        assert pid is not None
        os.kill(pid, signal.SIGABRT)
        with pytest.raises(ChildDied, match="SIGABRT"):
            while True:
                publisher.call("status")
                time.sleep(0.1)
        publisher.call("start", True, 3.0)  # a new child: settles, reads the intake topics, publishes the rest
        deadline = time.monotonic() + 120
        while not (status := publisher.call("status"))["done"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
    finally:
        publisher.close()
    assert not status["error"] and not status["failed"] and not status["errors"], status
    assert 0 < status["found_in_log"] < len(events), status
    assert status["found_in_log"] + sum(status["delivered"].values()) == len(events), status
    assert published_once(cluster, catalogue, codec, events) == []
