"""The audit's API: select cases, read what the pipeline published about them, build and verify each
timeline, and re-decide their routing. `python -m envgrid.audit` is a thin command line over `audit`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer

from envgrid.audit.reader import BodyOf, Decode, Read, Scanned, Window, read
from envgrid.audit.redecide import Redecided, latest, redecide
from envgrid.audit.timeline import CaseAudit, Published, build
from envgrid.connectors import history_chain
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.serde import EventCodec
from envgrid.connectors.wire import UndecodableRecord
from envgrid.domain.routing.context import RoutingContext

INTAKE_LEAD_MS = 24 * 3_600_000  # how long before a case's opening its report may have been produced


@dataclass(frozen=True)
class Selection:
    """Which cases: one case, or every case of a grid (any level) or a department, in a window of record time
    (when case.history recorded it); with no window, the whole topic."""

    case_id: str | None = None
    grid: str | None = None
    department: str | None = None
    window: Window = Window()

    def matches(self, case_id: str, entries: Iterable[Mapping[str, Any]]) -> bool:
        if self.case_id is not None:
            return case_id == self.case_id
        if self.grid is None and self.department is None:
            return True
        for entry in entries:
            snapshot = entry.get("case") or {}
            if self.grid is not None and self.grid in (snapshot.get("grid_chain") or ()):
                return True
            if self.department is not None and self.department in (
                    snapshot.get("lead_department"), entry.get("actor_unit"),
                    *(snapshot.get("assisting_departments") or ())):
                return True
        return False


@dataclass(frozen=True)
class Topics:
    history: str
    feedback: str
    sla: str
    intake: tuple[str, ...]


@dataclass
class Report:
    cases: list[CaseAudit] = field(default_factory=list)
    redecided: list[Redecided] = field(default_factory=list)
    history_read: int = 0  # case.history records read (every record of the window, selected or not)
    history_decoded: int = 0  # of them decoded (with --case, only that key's)
    history_seconds: float = 0.0

    @property
    def history_rate(self) -> float:
        """case.history records read per second (those of another key are read, not decoded)."""
        return self.history_read / self.history_seconds if self.history_seconds else 0.0

    @property
    def breaks(self) -> int:
        return sum(len(case.breaks) for case in self.cases)


def audit(consumer: Consumer, decode: Decode, topics: Topics, selection: Selection,
          routing: RoutingContext | None = None, registry_version: str | None = None,
          rules_version: str | None = None, *, ends: LogEnds, chain_body: BodyOf | None = None) -> Report:
    """Audit the selected cases. With `routing`, re-decide each case's original report twice: under the
    versions in force when it came, and under the named (else the newest) registry and rules versions.
    `ends` tells where the topics' logs start and end (envgrid.connectors.log_ends). `chain_body`
    (`chain_bodies(codec)`) gives a history record's body as written when it is what the hash chain hashes, so
    the chain is checked without encoding the entries again."""
    report = Report()
    started = time.perf_counter()
    keys = frozenset({selection.case_id}) if selection.case_id else None
    by_case: dict[str, list[Read]] = {}
    scanned = Scanned()
    for record in read(consumer, topics.history, selection.window, decode, keys, scanned=scanned, ends=ends,
                       body_of=chain_body):
        report.history_decoded += 1
        by_case.setdefault(record.value["case_id"], []).append(record)
    report.history_seconds = time.perf_counter() - started
    report.history_read = scanned.records
    chosen = {case_id: entries for case_id, entries in by_case.items()
              if selection.matches(case_id, (r.value for r in entries))}
    wanted = frozenset(chosen)
    feedback = _grouped(read(consumer, topics.feedback, selection.window, decode, wanted, ends=ends)) if wanted else {}
    sla = _grouped(read(consumer, topics.sla, selection.window, decode, wanted, ends=ends)) if wanted else {}
    from_start = selection.window.start_ms is None
    for case_id, entries in sorted(chosen.items(), key=lambda item: item[1][0].value["occurred_at"]):
        report.cases.append(build(case_id, _published(entries), _published(feedback.get(case_id, [])),
                                  _published(sla.get(case_id, [])), from_start))
    if routing is not None and report.cases:
        openings = [(c.case_id, c.source_event_id, c.decision) for c in report.cases
                    if c.decision is not None and c.source_event_id and c.source_kind not in TASK_SOURCES]
        intake = _intake(consumer, ends, decode, topics, chosen, {source for _, source, _ in openings})
        label, today = latest(routing, registry_version, rules_version)
        report.redecided = [redecide("as recorded (versions in force then)", routing, openings, intake),
                            redecide(label, today, openings, intake)]
    return report


TASK_SOURCES = frozenset({"SPOT_CHECK", "SUPERVISION"})  # scheduled tasks: opened by no report, never routed


def _intake(consumer: Consumer, ends: LogEnds, decode: Decode, topics: Topics, chosen: Mapping[str, list[Read]],
            wanted: set[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The original reports, read from the intake topics over the time the chosen cases opened (and a day
    before: a report is produced before its case opens), kept by event id."""
    opened = [r.timestamp_ms for entries in chosen.values() for r in entries if r.value["kind"] == "created"]
    if not opened:
        return {}
    window = Window(min(opened) - INTAKE_LEAD_MS, max(opened) + 1)
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for topic in topics.intake:
        for record in read(consumer, topic, window, _tolerant(decode), ends=ends):
            if record.value and record.value.get("event_id") in wanted:
                found.setdefault(record.value["event_id"], (record.event, record.value))
    return found


def _tolerant(decode: Decode) -> Decode:
    """Intake topics hold broken records too (they went to dead letters): read past them."""
    def decoded(data: bytes | None, topic: str) -> tuple[str, dict[str, Any]]:
        try:
            return decode(data, topic)
        except UndecodableRecord:
            return "", {}
    return decoded


def _grouped(records: Iterable[Read]) -> dict[str, list[Read]]:
    grouped: dict[str, list[Read]] = {}
    for record in records:
        grouped.setdefault(record.value["case_id"], []).append(record)
    return grouped


def _published(records: list[Read]) -> list[Published]:
    return [Published(r.value, r.offset, r.body) for r in records]


def chain_bodies(codec: EventCodec) -> BodyOf:
    """What `audit` takes as `chain_body`: a history record's body when its writer schema is the chain's."""
    def body(data: bytes | None, topic: str) -> bytes | None:
        return codec.body_if_written_as(data, topic, history_chain.CHAIN_FORM)

    return body
