"""Builders shared by the case tests: a small department table, a grid chain, notices, and shortcuts."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from envgrid.domain.cases import (
    Case,
    Notice,
    NoticeKind,
    Outcome,
    Rejection,
    Reporter,
    ReporterKind,
    apply,
    dispatch,
    open_case,
)
from envgrid.domain.sla.calendar import CHINA_TZ

DEPARTMENTS = frozenset({"env", "urban", "water", "police", "agri", "housing"})
CHAIN = ("village-7", "town-3", "district-lc", "city-wz")  # L4 → L1
T0 = datetime(2025, 9, 26, 9, 0, tzinfo=CHINA_TZ)
CITIZEN = Reporter(ReporterKind.COMPLAINANT, "hotline_12369")
PATROL_UNIT = Reporter(ReporterKind.UNIT, "village-7")

_ids = itertools.count(1)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def new_case(lead: str | None = "env", level: int = 4, channel: str = "hotline_12369", reporter: Reporter = CITIZEN,
             chain: tuple[str, ...] = CHAIN) -> Case:
    outcome = open_case("C1", "construction_noise", channel, "E1", reporter, chain, level, T0, DEPARTMENTS, lead)
    assert isinstance(outcome, Outcome), outcome
    return outcome.case


def notice(kind: NoticeKind, unit: str, **fields) -> Notice:
    return Notice(f"n{next(_ids)}", fields.pop("case_id", "C1"), kind, unit, **fields)


def send(case: Case, kind: NoticeKind, unit: str, minutes: int = 10, **fields) -> Outcome | Rejection:
    return apply(case, notice(kind, unit, **fields), DEPARTMENTS, at(minutes))


def ok(case: Case, kind: NoticeKind, unit: str, minutes: int = 10, **fields) -> Outcome:
    outcome = send(case, kind, unit, minutes, **fields)
    assert isinstance(outcome, Outcome), outcome
    return outcome


def acknowledged(lead: str = "env") -> Case:
    return ok(new_case(lead), NoticeKind.ACKNOWLEDGE, lead).case


def joint(lead: str = "env", assisting: tuple[str, ...] = ("urban", "water")) -> Case:
    return ok(acknowledged(lead), NoticeKind.JOINT_ENFORCEMENT_REQUEST, lead, assisting_departments=assisting).case


def taken_over() -> Case:
    """The lead transfers, the router sends the case back to it: a transfer loop hands it to the parent grid without lead."""
    moved = ok(new_case("env"), NoticeKind.TRANSFER_REQUEST, "env", 20, reason="not ours")
    looped = dispatch(moved.case, "env", (), DEPARTMENTS, at(21))
    assert isinstance(looped, Outcome) and looped.case.lead_department is None, looped
    return looped.case


def joint_taken_over() -> Case:
    """A joint enforcement escalated with its tasks open, then re-dispatched into a transfer loop: no lead, tasks open."""
    escalated = ok(joint(), NoticeKind.ESCALATION_REQUEST, "env", 15, reason="cross-district").case
    moved = ok(dispatch(escalated, "police", (), DEPARTMENTS, at(16)).case, NoticeKind.TRANSFER_REQUEST, "police", 17, reason="not ours")
    looped = dispatch(moved.case, "police", (), DEPARTMENTS, at(18))
    assert isinstance(looped, Outcome) and looped.case.lead_department is None and looped.case.open_tasks, looped
    return looped.case
