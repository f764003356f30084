"""A service request's status from the case store (PostgreSQL, `envgrid.connectors.case_store`).

A request is the report (PetitionComplaint) it produced: its event id is the `service_request_id`. The case it
opened has the id `case_id_for(event id)`; a repeat merged into an open case shows that case, with a note.
Open311 knows two statuses: `closed` for a case resolved (办结), closed (结案) or not accepted (不予受理), `open`
for every other state; `status_notes` says the state in Chinese and English, and `expected_datetime` is the case's
running SLA deadline (the resolve milestone first). A request the store does not have yet is `open`, being routed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from envgrid.domain.case_ids import case_id_for

CHINA = timezone(timedelta(hours=8))
CLOSED_STATES = ("resolved", "closed", "rejected")
STATE_NOTES = {
    "received": "已受理，等待分派 Received, waiting to be dispatched",
    "dispatched": "已派单至{zh} Dispatched to the {en}",
    "acknowledged": "{zh}已签收 Accepted by the {en}",
    "in_progress": "{zh}正在处理 Being handled by the {en}",
    "transferred": "正在移交责任单位 Being transferred to the responsible unit",
    "escalated": "已上报上级网格 Escalated to a higher grid",
    "joint_handling": "联合执法处理中 Joint enforcement under way",
    "resolved": "已办结 Resolved",
    "closed": "已结案 Closed",
    "rejected": "不予受理 Not accepted",
}
ROUTING_NOTE = "已收到，正在分派 Received; being routed to the responsible unit"
LIST_LIMIT = 1000  # GeoReport v2: at most 1000 requests per answer
DEFAULT_WINDOW = timedelta(days=90)  # GeoReport v2: without dates, the last 90 days


class StatusUnavailable(RuntimeError):
    """The case store cannot be read now."""


@dataclass(frozen=True)
class CaseView:
    """What the store says of the case a request belongs to."""

    case_id: str
    state: str
    category: str
    requested_at: datetime  # when the request's report reached the case (opened it, or merged into it)
    updated_at: datetime
    lead_department: str | None
    deadline: datetime | None
    merged: bool


@dataclass(frozen=True)
class ListFilter:
    statuses: tuple[str, ...] = ()  # open, closed; empty: both
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


class StatusSource(Protocol):
    def case_of(self, request_id: str) -> CaseView | None: ...

    def cases(self, chosen: ListFilter, now: datetime) -> list[tuple[str, CaseView]]: ...


def request_status(request_id: str, view: CaseView | None, names: Mapping[str, str],
                   agencies: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The GeoReport v2 `request` of one request; `names`: category -> service name, `agencies`: department code ->
    (Chinese name, English name)."""
    if view is None:
        return {"service_request_id": request_id, "status": "open", "status_notes": ROUTING_NOTE,
                "service_name": None, "service_code": None, "agency_responsible": None,
                "requested_datetime": None, "updated_datetime": None, "expected_datetime": None}
    zh, en = agencies.get(view.lead_department or "", (view.lead_department or "责任单位",
                                                         view.lead_department or "responsible unit"))
    note = STATE_NOTES.get(view.state, view.state).format(zh=zh, en=en)
    if view.merged:
        note = f"已并入案件 {view.case_id} Merged into case {view.case_id}; {note}"
    return {"service_request_id": request_id, "status": "closed" if view.state in CLOSED_STATES else "open",
            "status_notes": note, "service_name": names.get(view.category), "service_code": view.category,
            "agency_responsible": f"{zh} {en}" if view.lead_department else None,
            "requested_datetime": _iso(view.requested_at), "updated_datetime": _iso(view.updated_at),
            "expected_datetime": _iso(view.deadline)}


def window(chosen: ListFilter, now: datetime) -> tuple[datetime, datetime]:
    """The requested_datetime range a list covers (the last 90 days when no date is given)."""
    end = chosen.end or (now if chosen.start is None else chosen.start + DEFAULT_WINDOW)
    return chosen.start or end - DEFAULT_WINDOW, end


class CaseStoreStatus:
    """Reads the store through one connection (autocommit, re-opened after a failure), one query at a time."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None
        self._lock = threading.Lock()

    def case_of(self, request_id: str) -> CaseView | None:
        rows = self._query(_ONE_OPENED, {"case_id": case_id_for(request_id), "request": request_id})
        if not rows:  # not the report that opened a case: a repeat merged into one?
            rows = self._query(_ONE_MERGED, {"request": request_id})
        return _view(rows[0]) if rows else None

    def cases(self, chosen: ListFilter, now: datetime) -> list[tuple[str, CaseView]]:
        start, end = window(chosen, now)
        states = list(CLOSED_STATES) if chosen.statuses == ("closed",) else None
        open_only = chosen.statuses == ("open",)
        rows = self._query(_MANY, {"start": start, "end": end, "codes": list(chosen.service_codes) or None,
                                   "closed": states, "open_only": open_only, "closed_states": list(CLOSED_STATES),
                                   "limit": LIST_LIMIT})
        return [(row[0], _view(row[1:])) for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _query(self, statement: str, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        import psycopg

        from envgrid.connectors.case_store.store import connect

        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = connect(self.dsn, autocommit=True, connect_timeout=5,
                                         application_name="envgrid-open311")
                return list(self._conn.execute(statement, params).fetchall())
            except psycopg.errors.UndefinedTable as error:
                raise StatusUnavailable("the case store has no tables yet: its sink creates them when it starts "
                                        "(python -m envgrid.connectors.case_store migrate)") from error
            except psycopg.Error as error:  # connection lost, server down, ...: the next query connects afresh
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                raise StatusUnavailable(f"case store: {error}".strip()) from error


_CASE_COLUMNS = """c.case_id, c.state, c.category, r.occurred_at, c.updated_at, c.lead_department,
  (SELECT d.deadline FROM case_store.case_deadlines d WHERE d.case_id = c.case_id AND d.clock = 'running'
     AND d.deadline IS NOT NULL ORDER BY (d.milestone = 'resolve') DESC, d.deadline LIMIT 1),
  r.kind = 'merged'"""
_ONE_OPENED = f"""SELECT {_CASE_COLUMNS} FROM case_store.cases c
  JOIN case_store.case_revisions r ON r.case_id = c.case_id AND r.kind = 'created' AND r.cause_event_id = %(request)s
  WHERE c.case_id = %(case_id)s LIMIT 1"""
_ONE_MERGED = f"""SELECT {_CASE_COLUMNS} FROM case_store.case_revisions r
  JOIN case_store.cases c ON c.case_id = r.case_id
  WHERE r.kind = 'merged' AND r.cause_event_id = %(request)s ORDER BY r.revision LIMIT 1"""
_MANY = f"""SELECT r.cause_event_id, {_CASE_COLUMNS} FROM case_store.case_revisions r
  JOIN case_store.cases c ON c.case_id = r.case_id
  WHERE r.kind IN ('created', 'merged') AND r.occurred_at >= %(start)s AND r.occurred_at <= %(end)s
    AND (%(codes)s::text[] IS NULL OR c.category = ANY(%(codes)s::text[]))
    AND (%(closed)s::text[] IS NULL OR c.state = ANY(%(closed)s::text[]))
    AND (NOT %(open_only)s OR c.state <> ALL(%(closed_states)s::text[]))
  ORDER BY r.occurred_at DESC, r.cause_event_id LIMIT %(limit)s"""


def _view(row: Sequence[Any]) -> CaseView:
    case_id, state, category, requested, updated, lead, deadline, merged = row
    return CaseView(case_id, state, category, requested, updated, lead, deadline, bool(merged))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(CHINA).isoformat(timespec="seconds")
