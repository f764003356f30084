"""Consumer lag of this worker's own partitions, from faust's consumer (no second Kafka client).

A librdkafka AdminClient inside the faust worker (envgrid.streams.lag.LagCollector) crashed the worker twice
under load, in librdkafka's main thread (most likely the SIGSEGV of list_consumer_group_offsets on a
coordinator error, which `envgrid.streams.lag` no longer calls), so the worker reports the lag of the partitions it owns from
what its consumer already knows: the high watermark from fetch responses and the last committed offset.
A partition it gave up in a rebalance stops being reported (its new owner reports it).
`envgrid.streams.lag` remains the way to watch whole groups from outside (`total_lag`, `LagCollector`).
"""

from __future__ import annotations

from envgrid.streams.app import Runtime
from envgrid.streams.lag import Partition, compute_lag, export_lag


def install_lag_gauge(runtime: Runtime, interval_s: float = 5.0) -> None:
    app = runtime.app
    exported: set[Partition] = set()

    @app.timer(interval_s, name="consumer-lag")
    async def report_consumer_lag() -> None:
        nonlocal exported
        consumer = app.consumer
        committed, end = {}, {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            end[(tp.topic, tp.partition)] = high
            offset = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]  # faust keeps no public accessor
            committed[(tp.topic, tp.partition)] = -1 if offset is None else offset
        exported = export_lag(app.conf.id, compute_lag(committed, end), exported)

