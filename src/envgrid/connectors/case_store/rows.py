"""Records of case.history, case.feedback and case.sla -> rows of the case store's tables. Pure: no I/O.

One `Batch` collects the rows of many records, reduced the way the tables keep them, so that one statement
per table writes them: an event (history entry, feedback, SLA event) is kept once per event id; a case's
current view, and each of its deadlines, by its newest revision; a unit's part in a case by the first
revision it appeared in. The store's upserts apply the same rules against what is already there
(`envgrid.connectors.case_store.store`), so any replay or redelivery, in any batching, leaves the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: table -> its columns, in the order of the row tuples below (the migrations create them)
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "case_revisions": ("event_id", "case_id", "revision", "kind", "occurred_at", "from_state", "to_state",
                       "cause_event_id", "actor_unit", "reason", "details", "snapshot"),
    "cases": ("case_id", "revision", "state", "category", "channel", "grid_chain", "handling_level", "handling_grid",
              "supervising_grid", "handler_unit", "lead_department", "assisting_departments", "open_tasks", "reports",
              "transfers", "escalations", "extension_pending", "created_at", "acknowledged_at", "resolved_at",
              "closed_at", "updated_at"),
    "case_deadlines": ("case_id", "milestone", "revision", "clock", "deadline", "started_at", "handler_unit",
                       "policy_id", "breached", "calendar"),
    "case_units": ("case_id", "unit", "first_revision"),
    "case_feedback": ("event_id", "case_id", "occurred_at", "stage", "audience", "recipient", "channel", "message"),
    "case_sla_events": ("event_id", "case_id", "occurred_at", "kind", "milestone", "policy_id", "fraction",
                        "started_at", "deadline", "handler_unit", "supervising_grid", "calendar", "calendar_version"),
    "skipped_records": ("topic", "partition", "offset", "reason"),
}
#: table -> its key columns (the primary key the upserts conflict on)
KEYS: Mapping[str, tuple[str, ...]] = {
    "case_revisions": ("event_id",), "cases": ("case_id",), "case_deadlines": ("case_id", "milestone"),
    "case_units": ("case_id", "unit"), "case_feedback": ("event_id",), "case_sla_events": ("event_id",),
    "skipped_records": ("topic", "partition", "offset"),
}
#: table -> the column whose larger value wins (newest revision), or whose smaller value wins (first revision)
NEWEST = {"cases": "revision", "case_deadlines": "revision"}
FIRST = {"case_units": "first_revision"}

Row = tuple[Any, ...]
_KEY_AT = {table: tuple(COLUMNS[table].index(name) for name in KEYS[table]) for table in COLUMNS}
#: table -> (column, +1 when the larger value wins, -1 when the smaller does)
_WINS = {**{table: (COLUMNS[table].index(name), 1) for table, name in NEWEST.items()},
         **{table: (COLUMNS[table].index(name), -1) for table, name in FIRST.items()}}


@dataclass
class Batch:
    """Rows of one write, per table, keyed by the table's key."""

    rows: dict[str, dict[tuple[Any, ...], Row]] = field(default_factory=lambda: {table: {} for table in COLUMNS})

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def table(self, name: str) -> list[Row]:
        return list(self.rows[name].values())

    def merge(self, other: Batch) -> None:
        """Take `other`'s rows by the same rules: what writing both batches to the store leaves."""
        for table, rows in other.rows.items():
            for row in rows.values():
                self._keep(table, row)

    def add_history(self, value: Mapping[str, Any]) -> None:
        """A CaseLifecycleEvent: its revision row; with a snapshot, the case's view, deadlines and units too."""
        snapshot = value.get("case")
        self._keep("case_revisions", (
            value["event_id"], value["case_id"], value.get("revision"), value["kind"], value["occurred_at"],
            value.get("from_state"), value.get("to_state"), value["cause_event_id"], value.get("actor_unit"),
            value["reason"], json_text(value.get("details") or {}), None if snapshot is None else json_text(snapshot)))
        revision = value.get("revision")
        if snapshot is None or revision is None:
            return  # an entry written before revisions and snapshots were recorded: history only
        case_id = value["case_id"]
        self._keep("cases", case_row(case_id, revision, snapshot, value["occurred_at"]))
        for deadline in snapshot.get("deadlines") or ():
            self._keep("case_deadlines", (
                case_id, deadline["milestone"], revision, deadline["clock"], deadline.get("deadline"),
                deadline.get("started_at"), deadline["handler_unit"], deadline.get("policy_id") or "",
                bool(deadline.get("breached")), deadline.get("calendar") or ""))
        for unit in units_of(snapshot):
            self._keep("case_units", (case_id, unit, revision))

    def add_feedback(self, value: Mapping[str, Any]) -> None:
        self._keep("case_feedback", (
            value["event_id"], value["case_id"], value["occurred_at"], str(value["stage"]), str(value["audience"]),
            value["recipient"], str(value["channel"]), value["message"]))

    def add_sla(self, value: Mapping[str, Any]) -> None:
        self._keep("case_sla_events", (
            value["event_id"], value["case_id"], value["occurred_at"], str(value["kind"]), value["milestone"],
            value["policy_id"], float(value["fraction"]), value["started_at"], value["deadline"],
            value["handler_unit"], value.get("supervising_grid"), value["calendar"], value.get("calendar_version")))

    def add_skipped(self, topic: str, partition: int, offset: int, reason: str) -> None:
        self._keep("skipped_records", (topic, partition, offset, reason))

    def _keep(self, table: str, row: Row) -> None:
        at = _KEY_AT[table]
        key = (row[at[0]],) if len(at) == 1 else (row[at[0]], row[at[1]]) if len(at) == 2 else \
            tuple(row[i] for i in at)
        rows = self.rows[table]
        kept = rows.get(key)
        if kept is not None:
            wins = _WINS.get(table)
            if wins is None:
                return  # an event id seen already: a re-send carries the same content
            column, sign = wins
            if (row[column] - kept[column]) * sign <= 0:
                return  # not newer (not earlier, for a first revision): the row kept stays
        rows[key] = row


def case_row(case_id: str, revision: int, snapshot: Mapping[str, Any], updated_at: Any) -> Row:
    """The `cases` row of a CaseSnapshot at `revision`."""
    return (case_id, revision, snapshot["state"], snapshot["category"], snapshot["channel"],
            list(snapshot["grid_chain"]), snapshot["handling_level"], snapshot["handling_grid"],
            snapshot["supervising_grid"], snapshot["handler_unit"], snapshot.get("lead_department"),
            list(snapshot.get("assisting_departments") or ()), list(snapshot.get("open_tasks") or ()),
            snapshot["reports"], snapshot.get("transfers", 0), snapshot.get("escalations", 0),
            bool(snapshot.get("extension_pending")), snapshot["created_at"], snapshot.get("acknowledged_at"),
            snapshot.get("resolved_at"), snapshot.get("closed_at"), updated_at)


def units_of(snapshot: Mapping[str, Any]) -> list[str]:
    """The units with a part in the case at this revision: its lead and assisting departments, the units of its
    joint tasks, and every grid of its chain (the row-level security reads these)."""
    units = [snapshot.get("lead_department"), *(snapshot.get("assisting_departments") or ()),
             *(snapshot.get("open_tasks") or ()), *snapshot["grid_chain"]]
    return list(dict.fromkeys(unit for unit in units if unit))


def json_text(value: Any) -> str:
    """A decoded Avro value as JSON text (what a jsonb column reads): datetimes as ISO-8601 text."""
    return json.dumps(value, default=_iso, ensure_ascii=False, separators=(",", ":"))


def _iso(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
