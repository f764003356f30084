"""The SLA ticker: sends the pipeline's SLA time to every partition of the tick topic, so each partition's
deadline check runs where its cases live (see envgrid.streams.case_service.CaseService.on_tick).

The time it sends is a watermark (`envgrid.domain.sla.watermark`): the clock, held back by the allowed lateness
(config/pipeline.yaml) and by the oldest input the pipeline has not processed yet (`envgrid.streams.watermark`), and
by what the demo's department simulator, reading outside the pipeline's group, still has to send.
So a deadline is judged only after every answer that could still meet it was applied, however busy, slow
or long stopped the workers were: the verdicts are a function of the events, not of processing speed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from envgrid.connectors.outages import outage_of
from envgrid.domain.sla.watermark import watermark
from envgrid.streams import metrics
from envgrid.streams.app import Runtime
from envgrid.streams.clock import clock_for, tick_record
from envgrid.streams.composition import load_pipeline_settings
from envgrid.streams.routing_service import Output
from envgrid.streams.watermark import ProgressUnknown, pipeline_progress

log = logging.getLogger("envgrid.ticker")


def install_ticker(runtime: Runtime) -> None:
    config = runtime.config
    clock = clock_for(config.clock, config.speedup, config.clock_start, config.clock_origin)
    if clock is None:
        return
    lateness = load_pipeline_settings().allowed_lateness
    until = datetime.fromisoformat(config.clock_until) if config.clock_until else None
    topic = runtime.catalogue.topic("internal.sla-ticks")
    partitions = runtime.catalogue.spec(topic).partitions
    progress = pipeline_progress(config.cluster, config.app_id, runtime.catalogue, runtime.codec.decode)
    last: list[datetime] = []

    def waiting() -> list[datetime]:
        """The pipeline's unprocessed inputs, then what the sources outside its group still hold (after that
        read, so that nothing slips between; see Runtime.waiting_sources). Blocking: run in the executor."""
        since = time.monotonic()
        return [*progress.waiting(), *runtime.waiting_outside(since)]

    @runtime.app.timer(config.tick_interval_s, name="sla-ticker")
    async def tick() -> None:
        now = clock.now()
        try:
            held = await asyncio.get_running_loop().run_in_executor(None, waiting)
        except ProgressUnknown as error:
            log.warning("SLA clock held at its last time: %s", error)
            return
        mark = watermark(now, held, lateness, last[-1] if last else None, until)
        if last and mark <= last[-1]:
            return
        try:
            for partition in range(partitions):
                await runtime.send(Output(topic, "", "ClockTick", tick_record(clock.name, partition, mark)),
                                   partition=partition)
        except Exception as error:
            if outage_of(error) is None:
                raise
            log.warning("SLA clock held at its last time: %s unavailable (%s)", outage_of(error), error)
            return  # the next tick sends again (a repeated tick is answered like a redelivered one)
        last[:] = [mark]
        metrics.SLA_CLOCK.set(mark.timestamp())
