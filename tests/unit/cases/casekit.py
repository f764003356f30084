"""Builders shared by the case tests: a small department table, a grid chain, notices, and shortcuts."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from domain.cases import Case, Notice, NoticeKind, Outcome, Rejection, Reporter, ReporterKind, apply, open_case
from domain.sla.calendar import CHINA_TZ

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
