"""A case's timeline from what the pipeline published: history entries (with the opening's routing decision),
feedback sent and SLA warnings and breaches, in time order, with the chain verified. Pure: no Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from envgrid.connectors.history_chain import Break, ReadEntry, verify


@dataclass(frozen=True)
class Row:
    """One line of a timeline: a history revision, a feedback or an SLA signal."""

    case_id: str
    at: datetime
    source: str  # history | feedback | sla
    revision: int | None
    event: str  # the history kind, feedback stage, or SLA kind and milestone
    unit: str  # who acted or whom it concerns
    reason: str


@dataclass
class CaseAudit:
    """What the audit found for one case."""

    case_id: str
    rows: list[Row] = field(default_factory=list)
    decision: dict[str, Any] | None = None  # the routing decision the case opened with, with its provenance
    source_event_id: str | None = None  # the report that opened it
    source_kind: str | None = None  # PETITION_COMPLAINT, PATROL_REPORT, or a task's (SPOT_CHECK, SUPERVISION)
    breaks: list[Break] = field(default_factory=list)
    redelivered: int = 0  # exact re-deliveries of history entries, skipped


@dataclass(frozen=True)
class Published:
    """A record read from an output topic: its value, where it was read, and (history, when the reader could
    tell) its Avro body as written, which the hash chain hashes."""

    value: Mapping[str, Any]
    offset: int | None = None
    body: bytes | None = None


def build(case_id: str, history: Iterable[Published], feedback: Iterable[Published] = (),
          sla: Iterable[Published] = (), from_start: bool = True) -> CaseAudit:
    """One case's audit from its records in topic order (history, feedback, SLA); `from_start` is False when
    the history was read from a window that may begin after the case's first entry."""
    entries = list(history)
    audit = CaseAudit(case_id)
    audit.breaks, audit.redelivered = verify(case_id, [ReadEntry(p.value, p.offset, p.body) for p in entries], from_start)
    seen: set[str] = set()
    for published in entries:
        entry = published.value
        if entry["event_id"] in seen:
            continue
        seen.add(entry["event_id"])
        details = entry.get("details") or {}
        if entry["kind"] == "created" and "decision" in details:
            audit.decision = json.loads(details["decision"])
            audit.source_event_id = details.get("source_event_id")
            audit.source_kind = details.get("source_kind")
        audit.rows.append(Row(case_id, entry["occurred_at"], "history", entry.get("revision"), entry["kind"],
                              entry.get("actor_unit") or "", _history_reason(entry, audit.decision)))
    for published in _unique(feedback):
        value = published.value
        audit.rows.append(Row(case_id, value["occurred_at"], "feedback", None, f"feedback {value['stage']}",
                              f"{value['audience']} {value['recipient']}", value["message"]))
    for published in _unique(sla):
        value = published.value
        audit.rows.append(Row(case_id, value["occurred_at"], "sla", None, f"sla {value['kind']} {value['milestone']}",
                              value["handler_unit"], f"{value['fraction']:.0%} of {value['policy_id']}, due "
                                                     f"{value['deadline'].isoformat()}"))
    audit.rows = _merged(audit.rows)
    return audit


def provenance(decision: Mapping[str, Any]) -> str:
    """The routing decision in one line: rule, versions, resolution path, near-boundary candidates."""
    chain = "/".join(g["code"] for g in decision.get("grid_chain", []))
    near = (f"; near boundary, candidates {','.join(decision['boundary_candidates'])} "
            f"({decision.get('boundary_policy')})" if decision.get("near_boundary") else "")
    assisting = ",".join(decision.get("assisting_departments") or [])
    return (f"rule {decision['rule_id']} (rules {decision['rules_version']}, registry {decision['registry_version']}), "
            f"{decision['resolution_path']} -> {chain}, L{decision['handling_level']}, lead "
            f"{decision['lead_department']}{' + ' + assisting if assisting else ''}{near}")


def _merged(rows: list[Row]) -> list[Row]:
    """History in its own order (revisions: a merged report's event time may be earlier than the notices
    applied before it), feedback and SLA signals by time, each placed before the first later history row."""
    history = [row for row in rows if row.source == "history"]
    others = sorted((row for row in rows if row.source != "history"), key=lambda row: row.at)
    merged: list[Row] = []
    for row in history:
        while others and others[0].at < row.at:
            merged.append(others.pop(0))
        merged.append(row)
    return merged + others


def _history_reason(entry: Mapping[str, Any], decision: Mapping[str, Any] | None) -> str:
    states = f"{entry.get('from_state') or '-'} -> {entry.get('to_state') or '-'}"
    routed = f"; routed: {provenance(decision)}" if entry["kind"] == "created" and decision else ""
    return f"{states}: {entry['reason']}{routed}"


def _unique(records: Iterable[Published]) -> list[Published]:
    """Re-deliveries (the same event id again) once."""
    seen: set[str] = set()
    unique = []
    for published in records:
        if published.value["event_id"] not in seen:
            seen.add(published.value["event_id"])
            unique.append(published)
    return unique
