"""The department simulator as a faust agent (demo, tests and benchmarks; never in production).

It reads the departmental and grid topics like real subscribers would and answers each case copy with
the notices `envgrid.simulator.departments.respond` plans. A notice is sent when the worker's clock reaches its
planned time (dispatch time + delay), however late the copy was read, so the answers keep pace with the
demo's accelerated clock; with the manual clock it is sent at once. Pending answers live in memory only:
a simulator may forget.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from faust.types import StreamT

from envgrid.connectors.catalogue import Catalogue, CatalogueError
from envgrid.connectors.serde import UndecodableRecord
from envgrid.simulator.departments import respond
from envgrid.streams.app import Runtime, raw_topic
from envgrid.streams.clock import clock_for
from envgrid.streams.routing_service import Output

log = logging.getLogger("envgrid.simulator")


def install_department_simulator(runtime: Runtime, seed: int = 0) -> None:
    catalogue, config = runtime.catalogue, runtime.config
    subscribed = [spec.name for spec in catalogue.by_template("dept.{department}.cases")]
    subscribed += [spec.name for spec in catalogue.by_template("grid.{grid}.cases")]
    clock = clock_for(config.clock, config.speedup, config.clock_start, config.clock_origin)
    speedup = config.speedup if config.clock == "accelerated" else 1.0
    until = datetime.fromisoformat(config.clock_until) if config.clock_until else None
    pending: dict[asyncio.Task[None], datetime] = {}  # planned notices -> their event time
    runtime.waiting_sources.append(lambda: list(pending.values()))

    @runtime.app.agent(raw_topic(runtime, *subscribed), name="department-simulator")
    async def departments(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                _, dispatched = runtime.codec.decode(message.value, message.topic)
            except UndecodableRecord:
                continue  # not ours to judge: the pipeline wrote it, its own tests cover the codec
            for planned in respond(dispatched, seed=seed):
                occurred_at = planned.notice["occurred_at"]
                if until is not None and occurred_at > until:
                    continue  # after the demo's end: the SLA clock stops there
                topic = _topic_of(catalogue, planned.notice, dispatched["target"])
                output = Output(topic, planned.notice["case_id"], "DepartmentNotice", planned.notice)
                wait = 0.0 if clock is None else (occurred_at - clock.now()).total_seconds() / speedup
                if wait <= 0:
                    await runtime.send(output)
                else:
                    task = asyncio.ensure_future(_send_later(runtime, output, wait))
                    pending[task] = occurred_at
                    task.add_done_callback(lambda done: pending.pop(done, None))


def _topic_of(catalogue: Catalogue, notice: dict[str, Any], target: dict[str, Any]) -> str:
    """The notice topic of the unit the notice names; a unit with no topic of its own (the simulator's
    deliberately wrong units) writes from the topic of the unit that received the copy, and is refused
    there as forged."""
    try:
        return catalogue.notice_topic(notice["unit_kind"], notice["unit_code"])
    except CatalogueError:
        return catalogue.notice_topic(target["kind"], target["code"])


async def _send_later(runtime: Runtime, output: Output, seconds: float) -> None:
    await asyncio.sleep(seconds)
    try:
        await runtime.send(output)
    except Exception:  # noqa: BLE001 - the worker is stopping; a simulated department may forget
        log.debug("department simulator: dropped a planned notice for %s while stopping", output.key)
