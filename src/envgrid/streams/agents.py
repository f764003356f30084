"""The case desk's faust agents: decode, call the service, encode, send. No business logic lives here.
(The router runs on librdkafka: `envgrid.streams.router_loop`.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types import Message, StreamT, TableT

from envgrid.connectors.outages import OUTAGE_BACKOFF_S, outage_of
from envgrid.connectors.serde import UndecodableRecord
from envgrid.connectors.wire import stable_message
from envgrid.streams import metrics
from envgrid.streams.app import Runtime, raw_topic
from envgrid.streams.calendar_metrics import set_unofficial_deadlines
from envgrid.streams.case_service import CaseService, CaseState, Handled
from envgrid.streams.composition import case_service, notice_gate
from envgrid.streams.deadletter import SOURCE_HEADER, reinjections_of, source_header
from envgrid.streams.held_notices import SourceRecord
from envgrid.streams.open_cases import OpenCasesGauge
from envgrid.streams.routing_service import Refused
from envgrid.streams.state_codec import STATE_CODEC

log = logging.getLogger("envgrid.streams")


def install_cases(runtime: Runtime) -> CaseService:
    """The case state machine: case commands, department notices, clock ticks, published holiday schedules
    and 双随机 draws (one copy per partition, like the ticks), all co-partitioned."""
    app, catalogue = runtime.app, runtime.catalogue
    service = case_service(catalogue, runtime.pseudonymiser)
    commands_name, ticks_name = catalogue.topic("internal.case-commands"), catalogue.topic("internal.sla-ticks")
    gate = notice_gate(catalogue, runtime.codec.decode)
    partitions = catalogue.spec(commands_name).partitions
    calendar_name, draws_name = catalogue.topic("internal.calendar"), catalogue.topic("internal.spot-check-draws")
    inputs = raw_topic(runtime, commands_name, ticks_name, calendar_name, draws_name)
    state = CaseState(
        files=_table(app, "case-files", partitions),
        timers=_table(app, "sla-timers", partitions),
        buckets=_table(app, "sla-buckets", partitions),
        cursors=_table(app, "sla-cursors", partitions),
        refused=_table(app, "refused-notices", partitions),
        held=_table(app, "held-notices", partitions),
    )
    gauge = OpenCasesGauge()

    async def rebuild_open_cases_gauge() -> None:
        gauge.rebuild(file.case for file in state.files.values())

    async def adopt_applied_calendars() -> None:
        service.calendar.recover(state, partitions)

    state.files.on_recover(rebuild_open_cases_gauge)  # type: ignore[attr-defined]
    state.cursors.on_recover(adopt_applied_calendars)  # type: ignore[attr-defined]

    @app.agent(raw_topic(runtime, *catalogue.notice_topics()), name="notice-intake")
    async def notice_intake(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            await _guarded(runtime, event.message, "cases", forward_notice)

    async def forward_notice(message: Message) -> None:
        """Admit a notice from its own unit's topic only (`streams.notice_gate`), then re-key it by case id
        with the pipeline's own partitioner: a department's client may hash keys differently, and the
        notice must reach the partition where its case lives."""
        admitted = gate.admit(message.value, message.topic)
        if isinstance(admitted, Refused):
            await _dead_letter(runtime, message, admitted)
            return
        await runtime.send_bytes(commands_name, admitted.case_id.encode(), message.value, None,
                                 [*_plain_headers(message), source_header(message)])

    @app.agent(inputs, name="cases")
    async def cases(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            await _guarded(runtime, event.message, "cases", handle_one)

    async def handle_one(message: Message) -> None:
        try:
            event_name, record = runtime.codec.decode(message.value, message.topic)
        except UndecodableRecord as error:
            await _dead_letter(runtime, message, Refused("DECODE", error.reason, type(error).__name__, str(error)))
            return
        if message.topic == ticks_name:
            handled = service.on_tick(record["now"], state, message.partition, record["event_id"])
        elif message.topic == calendar_name:
            handled = service.on_calendar(record, state, message.partition)
        elif message.topic == draws_name:
            handled = service.on_draw(record, state, message.partition)
        elif event_name == "DepartmentNotice":
            handled = service.on_notice(record, state, message.partition, reinjections_of(message),
                                        SourceRecord.of(message))
        else:
            handled = service.on_command(event_name, record, state, message.partition)
        await _emit(runtime, message, handled, gauge)

    return service


def _plain_headers(message: Any) -> list[tuple[str, bytes]]:  # aiokafka gives headers as (key, value) pairs
    return [(k, v) for k, v in (message.headers or []) if k != SOURCE_HEADER]


def _table(app: faust.App, name: str, partitions: int) -> TableT[str, Any]:
    """A table keyed by str, its values written by the state codec (versioned JSON, `streams.state_codec`)
    in the store and the changelog alike; internal state only, never a contract with other programs."""
    return app.Table(name, partitions=partitions, value_type=StateValue)


class StateValue:
    """faust value type of the tables: faust takes the codec from `_options.serializer` (for the store,
    the changelog and recovery alike) and, with `from_data` returning its input, rebuilds nothing."""

    class _options:
        serializer = STATE_CODEC

    @classmethod
    def from_data(cls, data: Any, *, preferred_type: type | None = None) -> Any:
        return data


async def _emit(runtime: Runtime, message: Message, handled: Handled, gauge: OpenCasesGauge) -> None:
    await runtime.send_all(handled.outputs)
    if handled.refused is not None:
        await _dead_letter(runtime, message, handled.refused)
    for held in handled.dead_letters:
        await _dead_letter(runtime, held.source, held.refused)
    metrics.count_held_notices(handled.held, handled.released, handled.expired)
    if handled.replayed:
        metrics.REPLAYED.labels(processor="cases").inc()
    for transition in handled.transitions:
        gauge.move(transition)
    metrics.count_outputs(handled.outputs)
    if handled.unofficial_deadlines is not None:
        set_unofficial_deadlines(handled.unofficial_deadlines)


async def _guarded(runtime: Runtime, message: Message, processor: str,
                   handle: Callable[[Message], Awaitable[None]]) -> None:
    """Count, then handle one record. While the schema registry or the broker is down, wait and try again
    (consumption pauses: the agent takes one record at a time); a redelivered input gives the same outputs,
    so a try cut short leaves nothing half-sent for good. Any other error dead-letters the record instead of
    crashing the agent (a crashed faust agent is restarted past the record, which would lose it)."""
    metrics.EVENTS_CONSUMED.labels(topic=message.topic).inc()
    wait = OUTAGE_BACKOFF_S[0]
    while True:
        try:
            try:
                await handle(message)
            except Exception as error:
                if outage_of(error) is not None:
                    raise
                log.exception("%s: record %s/%s@%s failed; dead-lettered", processor, message.topic,
                              message.partition, message.offset)
                await _dead_letter(runtime, message, Refused("APPLY", "processing_error", type(error).__name__,
                                                             f"{processor}: {stable_message(str(error))}"))
            metrics.OUTAGE.labels(processor=processor).set(0)
            return
        except Exception as error:
            dependency = outage_of(error)
            if dependency is None:
                raise
            metrics.OUTAGE.labels(processor=processor).set(1)
            metrics.OUTAGE_RETRIES.labels(processor=processor, dependency=dependency.value).inc()
            log.warning("%s: %s unavailable (%s: %s); record %s/%s@%s waits %.1fs and is tried again", processor,
                        dependency.value, type(error).__name__, error, message.topic, message.partition,
                        message.offset, wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, OUTAGE_BACKOFF_S[1])


async def _dead_letter(runtime: Runtime, message: Any, refused: Refused) -> None:
    await runtime.deadletters.send(message, refused.stage, refused.reason_code, refused.error_class,
                                   refused.message, refused.event_id)
