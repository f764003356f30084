"""The SLA ticker: sends the clock's time to every partition of the tick topic, so each partition's
deadline check runs where its cases live (see streams.case_service.CaseService.on_tick)."""

from __future__ import annotations

from datetime import timedelta

from streams.app import Runtime
from streams.clock import clock_for, tick_record
from streams.routing_service import Output


def install_ticker(runtime: Runtime) -> None:
    config = runtime.config
    clock = clock_for(config.clock, config.speedup, config.clock_start, config.clock_origin)
    if clock is None:
        return
    # Allowed lateness: a tick says "now" only for what inputs had time to arrive by, so a notice still
    # queued behind a backlog is applied before its deadline is judged (in simulated time when accelerated).
    lateness = timedelta(seconds=config.tick_lateness_s * (config.speedup if config.clock == "accelerated" else 1.0))
    topic = runtime.catalogue.topic("internal.sla-ticks")
    partitions = runtime.catalogue.spec(topic).partitions

    @runtime.app.timer(config.tick_interval_s, name="sla-ticker")
    async def tick() -> None:
        now = clock.now() - lateness
        for partition in range(partitions):
            output = Output(topic, "", "ClockTick", tick_record(clock.name, partition, now))
            await runtime.send(output, partition=partition)
