"""The SLA ticker: sends the clock's time to every partition of the tick topic, so each partition's
deadline check runs where its cases live (see streams.case_service.CaseService.on_tick)."""

from __future__ import annotations

from streams.app import Runtime
from streams.clock import clock_for, tick_record
from streams.routing_service import Output


def install_ticker(runtime: Runtime) -> None:
    config = runtime.config
    clock = clock_for(config.clock, config.speedup, config.clock_start)
    if clock is None:
        return
    topic = runtime.catalogue.topic("internal.sla-ticks")
    partitions = runtime.catalogue.spec(topic).partitions

    @runtime.app.timer(config.tick_interval_s, name="sla-ticker")
    async def tick() -> None:
        now = clock.now()
        for partition in range(partitions):
            output = Output(topic, "", "ClockTick", tick_record(clock.name, partition, now))
            await runtime.send(output, partition=partition)
