"""What the case desk's agent reads in a realistic run, recorded as bytes (for `bench.case_desk_bench` and the
tests that replay it), and tables that keep their values as the worker's store does.

Generated reports go through the real router (`envgrid.streams.composition.routing_service`); every copy sent to a
department or grid (the router's first ones, the case desk's re-dispatches) is answered the way the demo's
department simulator answers it (`envgrid.simulator.departments.respond`), and every result told to a complainant
is rated as the demo's complainants rate it (`envgrid.simulator.complainants.answer`, on the feedback channel's
topic); each answer passes the notice gate on its unit's own topic. The case commands, the admitted notices and clock ticks every `tick_every` of event
time go to a case desk built by `composition.case_service`, in event-time order, and each is recorded as the
Avro bytes the worker's `cases` agent would read (one partition, offsets in order). Replaying the recording
through a fresh case desk gives the same outputs: the case desk is deterministic.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

from envgrid.connectors.catalogue import CatalogueError
from envgrid.connectors.contracts import EVENT_TYPES
from envgrid.connectors.serde import EventCodec
from envgrid.domain.duplicates import IncidentIndex
from envgrid.simulator.complainants import answer
from envgrid.simulator.departments import respond
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams.case_service import CaseService, CaseState, Handled
from envgrid.streams.clock import tick_record
from envgrid.streams.composition import case_service, notice_gate, routing_service
from envgrid.streams.routing_service import Intake, Output, Refused
from envgrid.streams.state_codec import decode_state, encode_state
from tests.unit.pipeline.harness import CATALOGUE, COMMANDS, TEST_PSEUDONYMISER

TICKS = CATALOGUE.topic("internal.sla-ticks")
REPORTS = GeneratorConfig(kind_shares={"PetitionComplaint": 0.75, "PatrolReport": 0.25, "DepartmentNotice": 0.0},
                          broken_share=0.0)
PARTITION = 0


@dataclass(frozen=True)
class Input:
    """One record of the case desk's input topics: a case command, a notice (both on internal.case-commands)
    or a clock tick, as bytes."""

    kind: str  # command | notice | tick
    topic: str
    offset: int
    value: bytes


@dataclass
class Traffic:
    inputs: list[Input]
    codec: EventCodec  # knows the schema ids the bytes name (a mock registry, warmed up like a running worker's)
    opened: int  # cases opened


def new_codec() -> EventCodec:
    """A codec over a mock registry, every schema registered in a fixed order: recorded bytes name the same
    schema ids in any process."""
    codec = EventCodec(MockSchemaRegistryClient({"url": "mock://case-desk-bench"}), CATALOGUE.event_type_of)
    for event_name in EVENT_TYPES:
        codec.schema_id(event_name)
    return codec


def record_traffic(cases: int = 2_000, seed: int = 7, tick_every: timedelta = timedelta(minutes=10)) -> Traffic:
    """About `cases` cases opened from generated reports, then everything their units answer, with ticks."""
    recorder = _Recorder(new_codec(), seed)
    recorder.route_reports(cases, seed)
    recorder.play(tick_every)
    return Traffic(recorder.inputs, recorder.codec, recorder.opened)


@dataclass
class _Recorder:
    codec: EventCodec
    seed: int
    desk: CaseService = field(default_factory=lambda: case_service(CATALOGUE, TEST_PSEUDONYMISER))
    state: CaseState = field(default_factory=lambda: CaseState({}, {}, {}, {}))
    inputs: list[Input] = field(default_factory=list)
    opened: int = 0
    _queue: list[tuple[datetime, int, str, bytes]] = field(default_factory=list)  # (event time, order, kind, bytes)
    _order: Iterator[int] = field(default_factory=itertools.count)
    _answered: set[str] = field(default_factory=set)  # notice event ids planned already (several copies plan one)

    def __post_init__(self) -> None:
        self.gate = notice_gate(CATALOGUE, self.codec.decode)

    def route_reports(self, cases: int, seed: int) -> None:
        router = routing_service(CATALOGUE, self.codec.decode, TEST_PSEUDONYMISER)
        indexes: defaultdict[str, IncidentIndex] = defaultdict(IncidentIndex)
        for event in generate(seed, 10 * cases, REPORTS):
            if self.opened >= cases:
                break
            if event.value is None:
                continue
            topic = CATALOGUE.intake(event.kind)
            located = router.locate(self.codec.encode(event.kind, event.value, topic), topic)
            if isinstance(located, Refused):
                continue
            intake = router.open_or_merge(located, indexes[located.incidents_key])
            if not isinstance(intake, Intake):
                continue
            self.opened += not intake.merged
            for output in intake.outputs:
                if output.topic == COMMANDS:
                    at = output.value.get("dispatched_at") or output.value["occurred_at"]
                    self._push(at, "command", self.codec.encode(output.event_name, output.value, output.topic))
                else:
                    self._answer(output)

    def play(self, tick_every: timedelta) -> None:
        """Hand the queue to the case desk in event-time order, a tick at every `tick_every` passed."""
        clock: datetime | None = None
        while self._queue:
            at, _, kind, value = heapq.heappop(self._queue)
            clock = clock or at
            while clock + tick_every <= at:
                clock += tick_every
                self._feed("tick", TICKS, self.codec.encode("ClockTick", tick_record("manual", PARTITION, clock), TICKS))
            self._feed(kind, COMMANDS, value)
        if clock is not None:  # what is left to fire: breaches of the cases nobody answered
            self._feed("tick", TICKS, self.codec.encode("ClockTick", tick_record("manual", PARTITION,
                                                                                  clock + timedelta(days=90)), TICKS))

    def _feed(self, kind: str, topic: str, value: bytes) -> None:
        self.inputs.append(Input(kind, topic, len(self.inputs), value))
        event_name, record = self.codec.decode(value, topic)
        handled = handle(self.desk, self.state, kind, event_name, record)
        for output in handled.outputs:
            self._answer(output)

    def _answer(self, output: Output) -> None:
        """Plan the notices a unit sends for a copy it was given (not for a copy that releases it)."""
        copy = output.value
        if output.event_name == "CaseFeedback":
            rating = answer(copy, seed=self.seed)
            planned_notices = [] if rating is None else [rating]
        elif output.event_name != "CaseDispatched" or (copy.get("handover") or {}).get("change") == "RELEASED":
            return
        else:
            planned_notices = [planned.notice for planned in respond(copy, seed=self.seed)]
        for notice in planned_notices:
            if notice["event_id"] in self._answered:
                continue
            self._answered.add(notice["event_id"])
            try:
                topic = CATALOGUE.notice_topic(notice["unit_kind"], notice["unit_code"])
            except CatalogueError:
                continue  # a unit with no topic of its own: the gate refuses it, the case desk never sees it
            value = self.codec.encode("DepartmentNotice", notice, topic)
            if not isinstance(self.gate.admit(value, topic), Refused):  # forwarded as it came (agents.forward_notice)
                self._push(notice["occurred_at"], "notice", value)

    def _push(self, at: datetime, kind: str, value: bytes) -> None:
        heapq.heappush(self._queue, (at, next(self._order), kind, value))


def handle(desk: CaseService, state: CaseState, kind: str, event_name: str, record: dict[str, Any],
           source: Any = None) -> Handled:
    """What the worker's `cases` agent calls for one decoded input (`envgrid.streams.agents.install_cases`)."""
    if kind == "tick":
        return desk.on_tick(record["now"], state, PARTITION, record["event_id"])
    if event_name == "DepartmentNotice":
        return desk.on_notice(record, state, PARTITION, 0, source)
    return desk.on_command(event_name, record, state, PARTITION)


class StoredTable(MutableMapping[str, Any]):
    """A dict whose every write is encoded by the state codec, as a faust table encodes it for its changelog;
    with `reads_decoded`, every read is a fresh copy decoded from those bytes, as from the worker's RocksDB
    store (nothing the case desk holds is shared with what it stored); without `encoding`, nothing is encoded."""

    def __init__(self, encoding: bool = True, reads_decoded: bool = False) -> None:
        self.data: dict[str, Any] = {}
        self.encoding, self.reads_decoded = encoding or reads_decoded, reads_decoded
        self.bytes = self.writes = 0

    def __getitem__(self, key: str) -> Any:
        value = self.data[key]
        return decode_state(value) if self.reads_decoded else value

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        if self.encoding:
            written = encode_state(value)
            self.bytes += len(key) + len(written)
            value = written if self.reads_decoded else value
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        self.writes += 1
        self.bytes += len(key) if self.encoding else 0  # a tombstone
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
