"""A unit's case book: its open cases, from the copies on its topic and its own notices. Pure: no Kafka, no clock.

    book = CaseBook(NoticeAuthor("DEPARTMENT", "epb"))
    for copy in copies_read_from("dept.epb.cases"): book.add_copy(copy)
    for notice in notices_read_from("notices.dept.epb"): book.add_notice(notice)
    book.open_cases()          # [OpenCase(case_id=..., role='LEAD', status=CaseStatus.ACKNOWLEDGED, ...)]
    book.case("WZ-...")        # one open case, or Refused(unknown_case | case_not_open)

A copy (`CaseDispatched`) tells a unit the role it holds in a case at a revision; the latest revision per case
and unit wins, whatever order the copies came in, and a copy read twice (the pipeline re-sends outputs after
a restart, with the same event id) counts once. A `RELEASED` hand-over ends the unit's part in the case, and
so does the unit's own `CLOSE`. A grid's topic carries copies for the grid and for the townships and
villages under it, so a grid's book holds one entry per case and unit.

The status says what the unit has answered since its latest copy: new, acknowledged, in progress, escalation
requested, result sent, transfer requested. It is what the unit sent, not what the pipeline applied (the case
history is not the unit's to read): a refused notice still counts here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from envgrid.client.errors import Reason, Refused
from envgrid.domain.intake_contract import NoticeAuthor

#: which entry answers for a case when a grid holds it in several units: the one that acts first
ROLE_PRECEDENCE = ("LEAD", "HANDLING_GRID", "TRIAGE", "ASSISTING", "OWNING_GRID")


class CaseStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in progress"
    ESCALATION_REQUESTED = "escalation requested"
    RESULT_SENT = "result sent"
    TRANSFER_REQUESTED = "transfer requested"  # the release follows once the pipeline applies it


#: notice kind -> the status it brings; the highest status among the unit's notices since its copy wins
_STATUS_OF_KIND = {
    "ACKNOWLEDGE": CaseStatus.ACKNOWLEDGED,
    "PROGRESS": CaseStatus.IN_PROGRESS,
    "ENFORCEMENT_ORDER": CaseStatus.IN_PROGRESS,
    "JOINT_ENFORCEMENT_REQUEST": CaseStatus.IN_PROGRESS,
    "EXTENSION_REQUEST": CaseStatus.IN_PROGRESS,
    "ESCALATION_REQUEST": CaseStatus.ESCALATION_REQUESTED,
    "RESULT": CaseStatus.RESULT_SENT,
    "TRANSFER_REQUEST": CaseStatus.TRANSFER_REQUESTED,
}
_STATUS_ORDER = tuple(CaseStatus)


@dataclass(frozen=True)
class OpenCase:
    """One open case of one unit, as the unit knows it from its latest copy and its own notices."""

    case_id: str
    unit: str  # the unit holding it: the department, the grid, or a township or village under the grid
    role: str  # TargetRole: LEAD, ASSISTING, OWNING_GRID, HANDLING_GRID
    revision: int  # the case revision of the latest copy
    status: CaseStatus
    category: str
    severity: str
    channel: str
    address: str
    description: str
    occurred_at: datetime  # when the incident happened
    first_dispatched_at: datetime  # the unit's earliest copy of the case
    dispatched_at: datetime  # the latest copy: the clock of the unit's current role runs from here
    acknowledged_at: datetime | None  # the unit's own acknowledgement since its latest copy
    last_notice_at: datetime | None
    lead_department: str | None  # as of the latest copy
    handling_grid: str | None  # as of the latest copy
    complainant_token: str | None
    complainant_contact: str | None  # masked, on copies for the unit that calls back
    handover_cause: str | None  # why the latest copy came (None for the router's first dispatch)
    handover_reason: str | None
    notices: tuple[tuple[datetime, str, str], ...]  # (occurred_at, kind, event id) of its notices since the copy
    copy: dict[str, Any] = field(repr=False, compare=False)  # the latest copy itself

    @property
    def decision(self) -> dict[str, Any]:
        decision: dict[str, Any] = self.copy["decision"]
        return decision

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 text."""
        return {
            "case_id": self.case_id, "unit": self.unit, "role": self.role, "revision": self.revision,
            "status": self.status.value, "category": self.category, "severity": self.severity,
            "channel": self.channel, "address": self.address, "description": self.description,
            "occurred_at": _iso(self.occurred_at), "first_dispatched_at": _iso(self.first_dispatched_at),
            "dispatched_at": _iso(self.dispatched_at), "acknowledged_at": _iso(self.acknowledged_at),
            "last_notice_at": _iso(self.last_notice_at), "lead_department": self.lead_department,
            "handling_grid": self.handling_grid, "complainant_token": self.complainant_token,
            "complainant_contact": self.complainant_contact, "handover_cause": self.handover_cause,
            "handover_reason": self.handover_reason,
            "notices": [{"occurred_at": _iso(at), "kind": kind, "event_id": event_id}
                        for at, kind, event_id in self.notices],
        }


class CaseBook:
    """The open cases of the unit(s) one principal speaks for (`author`)."""

    def __init__(self, author: NoticeAuthor) -> None:
        self.author = author
        self._latest: dict[tuple[str, str], dict[str, Any]] = {}  # (case, unit) -> latest copy
        self._first: dict[tuple[str, str], datetime] = {}  # (case, unit) -> earliest dispatched_at
        self._notices: dict[str, dict[str, dict[str, Any]]] = {}  # case -> event id -> own notice
        self._closed: set[str] = set()  # cases the unit closed itself
        self._seen_copies: set[str] = set()  # event ids taken in
        self._seen_notices: set[str] = set()

    # --- taking records in --------------------------------------------------------------------------

    def add_copy(self, copy: dict[str, Any]) -> bool:
        """Take a CaseDispatched copy in; False for one already taken (same event id) or not for this unit."""
        target = copy["target"]
        if copy["event_id"] in self._seen_copies or not self._for_us(target["kind"], target["code"]):
            return False
        self._seen_copies.add(copy["event_id"])
        key = (copy["case_id"], target["code"])
        latest = self._latest.get(key)
        if latest is None or _order(copy) > _order(latest):
            self._latest[key] = copy
        first = self._first.get(key)
        if first is None or copy["dispatched_at"] < first:
            self._first[key] = copy["dispatched_at"]
        return True

    def add_notice(self, notice: dict[str, Any]) -> bool:
        """Take one of the unit's own notices in; False for one already taken or claiming another unit."""
        if notice["event_id"] in self._seen_notices or not self._for_us(notice["unit_kind"], notice["unit_code"]):
            return False
        self._seen_notices.add(notice["event_id"])
        self._notices.setdefault(notice["case_id"], {})[notice["event_id"]] = notice
        if notice["kind"] == "CLOSE":
            self._closed.add(notice["case_id"])
        return True

    def add(self, event_name: str, record: dict[str, Any]) -> bool:
        """A record read from the unit's cases topic or its notice topic."""
        if event_name == "CaseDispatched":
            return self.add_copy(record)
        if event_name == "DepartmentNotice":
            return self.add_notice(record)
        return False

    # --- reading ------------------------------------------------------------------------------------

    def open_cases(self) -> list[OpenCase]:
        """Every open (case, unit), oldest first dispatch first."""
        found = [self._view(key) for key in self._latest if self._is_open(key)]
        return sorted(found, key=lambda c: (c.first_dispatched_at, c.case_id, c.unit))

    def case(self, case_id: str) -> OpenCase:
        """The open case; for a grid holding it in several units, the unit that acts first (lead, handling
        grid, …). Refused when the unit has no copy of it, or it is not open any more."""
        return min(self.entries(case_id), key=lambda c: (_precedence(c.role), c.unit))

    def entries(self, case_id: str) -> list[OpenCase]:
        """Every open entry of a case (one per unit holding it, latest revision first); Refused as `case`."""
        keys = [key for key in self._latest if key[0] == case_id]
        if not keys:
            raise Refused(Reason.UNKNOWN_CASE, f"case {case_id!r}: {self._who()} has no copy of it on its topic; "
                                               f"`cases` lists the open ones (a case id looks like WZ-0123456789abcdef)")
        open_keys = [key for key in keys if self._is_open(key)]
        if not open_keys:
            raise Refused(Reason.CASE_NOT_OPEN, f"case {case_id}: not open for {self._who()}: {self._why_closed(keys)}")
        return sorted((self._view(key) for key in open_keys), key=lambda c: (-c.revision, c.unit))

    def knows(self, case_id: str) -> bool:
        return any(key[0] == case_id for key in self._latest)

    def __len__(self) -> int:
        return sum(1 for key in self._latest if self._is_open(key))

    # --- helpers ------------------------------------------------------------------------------------

    def _for_us(self, kind: str, code: str) -> bool:
        return kind == self.author.unit_kind and self.author.covers(code)

    def _who(self) -> str:
        return f"{self.author.unit_kind.lower()} {self.author.code}"

    def _is_open(self, key: tuple[str, str]) -> bool:
        handover = self._latest[key].get("handover")
        released = handover is not None and handover.get("change") == "RELEASED"
        return not released and key[0] not in self._closed

    def _why_closed(self, keys: list[tuple[str, str]]) -> str:
        if keys[0][0] in self._closed:
            return "it closed the case itself"
        latest = max((self._latest[key] for key in keys), key=_order)
        handover = latest["handover"] or {}
        holder = f" (now held by {handover['next_holder']})" if handover.get("next_holder") else ""
        return (f"released from its {latest['target']['role']} role at revision {latest['revision']}{holder}: "
                f"{handover.get('cause', 'UNKNOWN')}, {handover.get('reason') or 'no reason given'}")

    def _view(self, key: tuple[str, str]) -> OpenCase:
        copy = self._latest[key]
        since = copy["dispatched_at"]
        notices = sorted((n for n in self._notices.get(key[0], {}).values() if n["occurred_at"] >= since),
                         key=lambda n: (n["occurred_at"], n["event_id"]))
        statuses = [_STATUS_OF_KIND[n["kind"]] for n in notices if n["kind"] in _STATUS_OF_KIND]
        acks = [n["occurred_at"] for n in notices if n["kind"] == "ACKNOWLEDGE"]
        decision, handover = copy["decision"], copy.get("handover")
        return OpenCase(
            case_id=key[0], unit=key[1], role=copy["target"]["role"], revision=copy["revision"],
            status=max(statuses, key=_STATUS_ORDER.index, default=CaseStatus.NEW),
            category=copy["category"], severity=copy["severity"], channel=copy["channel"],
            address=(copy.get("location") or {}).get("address") or "", description=copy["description"],
            occurred_at=copy["occurred_at"], first_dispatched_at=self._first[key], dispatched_at=since,
            acknowledged_at=min(acks) if acks else None,
            last_notice_at=notices[-1]["occurred_at"] if notices else None,
            lead_department=decision.get("lead_department") or None, handling_grid=handling_grid(decision),
            complainant_token=copy.get("complainant_token"), complainant_contact=copy.get("complainant_contact"),
            handover_cause=handover["cause"] if handover else None,
            handover_reason=handover["reason"] if handover else None,
            notices=tuple((n["occurred_at"], n["kind"], n["event_id"]) for n in notices),
            copy=copy,
        )


def grid_at(decision: dict[str, Any], level: int) -> str | None:
    """The code of the grid at `level` (1 = city … 4 = village) in a copy's decision."""
    return next((g["code"] for g in decision.get("grid_chain") or () if g["level"] == level), None)


def handling_grid(decision: dict[str, Any]) -> str | None:
    return grid_at(decision, decision["handling_level"])


def grids_at_or_above_handling(decision: dict[str, Any]) -> tuple[str, ...]:
    codes = (grid_at(decision, level) for level in range(1, decision["handling_level"] + 1))
    return tuple(code for code in codes if code is not None)


def _order(copy: dict[str, Any]) -> tuple[int, str]:
    """Which of two copies of one unit is the latest: the higher revision (the event id only breaks a tie,
    so the outcome does not depend on reading order)."""
    return copy["revision"], copy["event_id"]


def _precedence(role: str) -> int:
    return ROLE_PRECEDENCE.index(role) if role in ROLE_PRECEDENCE else len(ROLE_PRECEDENCE)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
