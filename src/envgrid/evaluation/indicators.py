"""Indicators per unit and period, computed from a `Ledger` as of an instant (docs/evaluation.md defines each).

A unit is a department or a grid of any level. A case counts for every grid of its chain (a grid answers for
its area, and an upper grid for its lower grids' areas: that is the plan's roll-up, 自评结果逐级上报), and for
one department: its last lead (the department that answered for it last). Figures are counts; rates are
derived from them, so tallies of several units or periods add up.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from envgrid.domain.cases.notices import Rating
from envgrid.domain.sla.worktime import TimeBasis, WorkTime
from envgrid.domain.tasks.opening import TaskKind
from envgrid.evaluation.ledger import RESPONSE_MILESTONES, CaseFacts, Ledger
from envgrid.evaluation.periods import Period

GRID, DEPARTMENT = "grid", "department"
RESOLVED_STATES = frozenset({"resolved", "closed"})
RATES = ("response_rate", "on_time_rate", "resolution_rate", "return_rate", "satisfaction_rate", "redo_rate")
DISSATISFIED = Rating.DISSATISFIED.value  # the one grade that does not count as satisfied
SUPERVISION = TaskKind.SUPERVISION.value  # the channel of a supervision task's case


@dataclass(frozen=True, slots=True, order=True)
class Unit:
    kind: str  # grid or department
    code: str
    level: int = 0  # grid level 1 (city) … 4; 0 for a department


@dataclass(slots=True)
class Tally:
    """Counts for one unit over one period's cases; every rate is None when its denominator is 0."""

    cases: int = 0                # cases opened in the period
    accepted: int = 0             # not declined (不予受理)
    responded_on_time: int = 0    # acknowledged / accepted within the limit  # 按时签收/受理
    responded_late: int = 0       # after the limit, or not at all and the limit has passed
    resolved_on_time: int = 0     # result given within the limit  # 按时办结
    resolved_late: int = 0        # after the limit, or still open past it
    resolved: int = 0             # result given at all  # 解决
    received: int = 0             # a department: cases it was ever lead of; a grid: its accepted cases
    returned: int = 0             # of those, sent back by a transfer or a decline  # 回退
    rated: int = 0                # complainants' ratings (each complainant's latest)  # 回访
    satisfied: int = 0            # of those, satisfied or basically satisfied  # 满意, 基本满意
    with_result: int = 0          # cases given a result at least once (resolved now, or reopened since)
    reopened: int = 0             # of those, reopened by a dissatisfied complainant  # 重办
    sla_warnings: int = 0         # 超期预警
    sla_breaches: int = 0         # 超期
    handling_working_days: float = 0.0  # summed over resolved cases: opening to result
    # an upper grid's quarterly supervision of its lower grids (季度督查, envgrid.domain.tasks.supervision)
    supervision_tasks: int = 0    # tasks set in the period
    supervision_done: int = 0     # result given
    supervision_on_time: int = 0  # result given within the limit
    supervision_late: int = 0     # after the limit, or still open past it

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def response_rate(self) -> float | None:  # 受理及时率 / 响应率
        return _ratio(self.responded_on_time, self.responded_on_time + self.responded_late)

    @property
    def on_time_rate(self) -> float | None:  # 按时办结率
        return _ratio(self.resolved_on_time, self.resolved_on_time + self.resolved_late)

    @property
    def resolution_rate(self) -> float | None:  # 解决率
        return _ratio(self.resolved, self.accepted)

    @property
    def return_rate(self) -> float | None:  # 回退率
        return _ratio(self.returned, self.received)

    @property
    def satisfaction_rate(self) -> float | None:  # 满意率
        return _ratio(self.satisfied, self.rated)

    @property
    def redo_rate(self) -> float | None:  # 重办率
        return _ratio(self.reopened, self.with_result)

    @property
    def supervision_rate(self) -> float | None:  # 督查按时完成率
        return _ratio(self.supervision_on_time, self.supervision_on_time + self.supervision_late)

    @property
    def average_handling_days(self) -> float | None:  # 平均办理时长 (working days)
        return None if not self.resolved else self.handling_working_days / self.resolved


def evaluate(ledger: Ledger, period: Period, worktime: WorkTime, as_of: datetime | None = None) -> dict[Unit, Tally]:
    """Every unit's tally over the cases opened in `period`, judged as of `as_of` (default: the latest event
    folded; a case still open past a deadline that lies before it counts as late)."""
    as_of = as_of or ledger.latest
    tallies: dict[Unit, Tally] = {}
    if as_of is None:
        return tallies
    sla_by_case: dict[str, list[tuple[str, str]]] = {}
    breaches: dict[str, set[str]] = {}
    for sla in ledger.sla_events():
        sla_by_case.setdefault(sla.case_id, []).append((sla.kind, sla.handler_unit))
        if sla.kind == "BREACH":
            breaches.setdefault(sla.case_id, set()).add(sla.milestone)
    for case_id in sorted(ledger.cases):  # a fixed order: sums of floats come out the same every time
        facts = ledger.cases[case_id]
        if not facts.known or facts.created_at is None or not period.contains(facts.created_at) or facts.created_at > as_of:
            continue
        own = case_tally(facts, as_of, worktime, breaches.get(case_id, ()))
        if facts.channel == SUPERVISION:
            _count_supervision(tallies, facts, own)
            continue
        for level in range(1, len(facts.grid_chain) + 1):
            grid = facts.grid_at(level)
            assert grid is not None
            tally = tallies.setdefault(Unit(GRID, grid, level), Tally())
            tally.add(own)
            tally.received += own.accepted
            tally.returned += 1 if facts.returned_by and own.accepted else 0
            _count_sla(tally, sla_by_case.get(case_id, ()), None)
        lead = facts.last_lead
        if lead is not None:
            tally = tallies.setdefault(Unit(DEPARTMENT, lead), Tally())
            tally.add(own)
            _count_sla(tally, sla_by_case.get(case_id, ()), lead)
        for department in sorted(facts.leads):  # 回退率: of every department the case was dispatched to as lead
            tally = tallies.setdefault(Unit(DEPARTMENT, department), Tally())
            tally.received += 1
            tally.returned += 1 if department in facts.returned_by else 0
    return tallies


def case_tally(facts: CaseFacts, as_of: datetime, worktime: WorkTime, standing_breaches: Iterable[str] = ()) -> Tally:
    """One case's contribution: 1 in each count it falls under (not the return counts, which depend on the unit).
    `standing_breaches`: milestones with a breach on case.sla that was not withdrawn."""
    tally = Tally(cases=1)
    breached = facts.breached(standing_breaches)
    declined = facts.state == "rejected"
    tally.accepted = 0 if declined else 1
    responded_at = facts.acknowledged_at
    responded = responded_at is not None or declined or facts.state in RESOLVED_STATES
    milestone = next((m for m in RESPONSE_MILESTONES if m in facts.deadlines or m in breached), None)
    if milestone is not None:
        late = _late(facts, breached, milestone, responded, responded_at, as_of)
        if late is not None:
            tally.responded_late, tally.responded_on_time = (1, 0) if late else (0, 1)
    if declined:
        return tally
    resolved = facts.resolved_at is not None or facts.state in RESOLVED_STATES
    tally.resolved = 1 if resolved else 0
    grades = [grade for _revision, grade in facts.ratings.values()]
    tally.rated, tally.satisfied = len(grades), sum(grade != DISSATISFIED for grade in grades)
    tally.reopened = 1 if facts.reopened_at else 0
    tally.with_result = 1 if resolved or facts.reopened_at else 0
    late = _late(facts, breached, "resolve", resolved, facts.resolved_at, as_of)
    if late is None and resolved:
        late = False  # no resolve limit: a result is in time
    if late is not None:
        tally.resolved_late, tally.resolved_on_time = (1, 0) if late else (0, 1)
    if facts.resolved_at is not None and facts.created_at is not None:
        counted = worktime.counted(TimeBasis.WORKING_DAYS, facts.created_at, facts.resolved_at).amount
        tally.handling_working_days = counted / timedelta(days=1)
    return tally


def by_kind(tallies: dict[Unit, Tally], kind: str, level: int | None = None) -> dict[Unit, Tally]:
    return {unit: tally for unit, tally in sorted(tallies.items())
            if unit.kind == kind and (level is None or unit.level == level)}


def children(tallies: dict[Unit, Tally], parent: Unit, ledger: Ledger) -> list[Unit]:
    """The grids one level below `parent` that had cases: the self-assessment's roll-up (逐级上报)."""
    below: set[str] = set()
    for facts in ledger.cases.values():
        if facts.grid_at(parent.level) == parent.code:
            child = facts.grid_at(parent.level + 1)
            if child is not None:
                below.add(child)
    return [unit for unit in (Unit(GRID, code, parent.level + 1) for code in sorted(below)) if unit in tallies]


def _late(facts: CaseFacts, breached: set[str], milestone: str, met: bool, met_at: datetime | None,
          as_of: datetime) -> bool | None:
    """True late, False in time, None not yet judged (open and not due) or the case has no such limit."""
    if milestone in breached:
        return True
    known = facts.deadlines.get(milestone)
    if known is None:
        return None
    due = known[1]
    if met:
        return met_at is not None and met_at > due
    return True if as_of > due else None


def _count_supervision(tallies: dict[Unit, Tally], facts: CaseFacts, own: Tally) -> None:
    """A supervision task counts for the upper grid that does it (the one above its lower grid, second in the
    chain), in the supervision counts only: it is not a case of the lower grid's area, and leaves the case
    indicators of every unit alone."""
    if len(facts.grid_chain) < 2:
        return
    upper = facts.grid_chain[1]
    tally = tallies.setdefault(Unit(GRID, upper, len(facts.grid_chain) - 1), Tally())
    tally.supervision_tasks += 1
    tally.supervision_done += own.resolved
    tally.supervision_on_time += own.resolved_on_time
    tally.supervision_late += own.resolved_late


def _count_sla(tally: Tally, events: Iterable[tuple[str, str]], handler: str | None) -> None:
    for kind, unit in events:
        if handler is not None and unit != handler:
            continue
        if kind == "BREACH":
            tally.sla_breaches += 1
        elif kind == "WARNING":
            tally.sla_warnings += 1


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator
