"""Who is responsible for a case, and the decisions that move responsibility.

A unit holds a case in one role: the lead department, an assisting department (or a joint-enforcement
partner), or the handling grid. Whenever one step of the state machine changes who holds what, the
difference is a set of `Handover`s — an assignment for each unit that gains a role, a release for each
unit that loses one — and the stream processor sends each to that unit's topic. The first dispatch is the
router's; a finished (closed or declined) case releases nobody, its history says it ended.

The decisions themselves are pure functions here: which department leads after a transfer
(`next_lead`), which grid takes a case over (`takeover_grid`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from envgrid.domain.cases.effects import Handover, HandoverCause, HandoverChange, HolderRole, TakeoverCause, UnitKind
from envgrid.domain.cases.model import Case, CaseState, KnownDepartments, is_known

TAKEOVER_CAUSES = {
    TakeoverCause.ESCALATION_REQUEST: HandoverCause.ESCALATION,
    TakeoverCause.TOO_MANY_TRANSFERS: HandoverCause.TOO_MANY_TRANSFERS,
    TakeoverCause.TRANSFER_LOOP: HandoverCause.TRANSFER_LOOP,
    TakeoverCause.SLA_BREACH: HandoverCause.SLA_BREACH,
    TakeoverCause.NO_DEPARTMENT_LEFT: HandoverCause.NO_DEPARTMENT_LEFT,
}


@dataclass(frozen=True, slots=True)
class Holding:
    unit: str
    role: HolderRole


def holdings(case: Case) -> tuple[Holding, ...]:
    """Every (unit, role) of the case, lead first, then assisting departments and task units, then the grid."""
    held: dict[Holding, None] = {}
    if case.lead_department is not None:
        held[Holding(case.lead_department, HolderRole.LEAD)] = None
    for unit in (*case.assisting_departments, *(t.unit for t in case.tasks)):
        if unit != case.lead_department:
            held[Holding(unit, HolderRole.ASSISTING)] = None
    held[Holding(case.handling_grid, HolderRole.HANDLING_GRID)] = None
    return tuple(held)


def handovers(before: Case, after: Case, cause: HandoverCause | None, reason: str, at: datetime,
              version: int) -> tuple[Handover, ...]:
    """Assignments for the roles `after` adds to `before`, releases for those it drops (none once finished)."""
    if after.finished or _holders_of(before) == _holders_of(after):  # most steps: no one gains or loses a role
        return ()
    old, new = holdings(before), holdings(after)
    gained = [h for h in new if h not in old]
    lost = [h for h in old if h not in new]
    if not gained and not lost:
        return ()
    if cause is None:
        raise ValueError(f"case {after.case_id}: responsibility moved ({gained} gained, {lost} lost) without a cause")
    gaining = {h.unit for h in gained}
    assigned = [Handover(after.case_id, h.unit, _unit_kind(h, cause), h.role, HandoverChange.ASSIGNED, cause,
                         _holder(before, h.role) or _transferred_from(before, h.role), None,
                         _via_grid(after, h), reason, at, version) for h in gained]
    # A unit that only changes role (assisting -> lead) hears of its new role, not of losing the old one.
    released = [Handover(after.case_id, h.unit, _unit_kind(h, cause), h.role, HandoverChange.RELEASED, cause,
                         None, _holder(after, h.role), _via_grid(before, h), reason, at, version)
                for h in lost if h.unit not in gaining]
    return (*assigned, *released)


def reassignments(case: Case, cause: HandoverCause, reason: str, at: datetime) -> tuple[Handover, ...]:
    """An assignment for every role of `case` to the unit that already holds it: the case is theirs again
    (a reopen, 重办), and each hears it on its own topic like a new dispatch."""
    return tuple(Handover(case.case_id, h.unit, _unit_kind(h, cause), h.role, HandoverChange.ASSIGNED, cause, h.unit, None,
                          _via_grid(case, h), reason, at, case.version) for h in holdings(case))


def next_lead(case: Case, suggested: str | None, known: KnownDepartments) -> str | None:
    """The department that leads after a transfer: the one the transferring lead suggested if it may take
    it, else the first department of the routing decision (assisting first, then the original lead) that
    has not transferred it already. None when every candidate has: the city grid office takes it."""
    candidates: Sequence[str | None] = (suggested, *case.assisting_departments, *case.routed_departments[1:],
                                        *case.routed_departments[:1])
    excluded = set(case.left_departments)
    return next((d for d in candidates if d and d not in excluded and is_known(known, d)), None)


def takeover_grid(case: Case, cause: TakeoverCause) -> tuple[int, str]:
    """The level and grid that take a case over: the city grid office when no department is left, else the
    parent of the handling grid (the city grid stays with a case already at the top)."""
    level = 1 if cause is TakeoverCause.NO_DEPARTMENT_LEFT else max(1, case.handling_level - 1)
    return level, case.grid_at(level)


def _holders_of(case: Case) -> tuple[object, ...]:
    """What `holdings` is made of."""
    return case.lead_department, case.assisting_departments, case.tasks, case.handling_level, case.grid_chain


def _holder(case: Case, role: HolderRole) -> str | None:
    if role is HolderRole.LEAD:
        return case.lead_department
    if role is HolderRole.HANDLING_GRID:
        return case.handling_grid
    return None


def _transferred_from(case: Case, role: HolderRole) -> str | None:
    if role is HolderRole.LEAD and case.state is CaseState.TRANSFERRED and case.transfers:
        return case.transfers[-1].from_unit
    return None


def _unit_kind(holding: Holding, cause: HandoverCause) -> UnitKind:
    if holding.role is not HolderRole.HANDLING_GRID:
        return UnitKind.DEPARTMENT
    return UnitKind.TRIAGE if cause is HandoverCause.NO_DEPARTMENT_LEFT else UnitKind.GRID


def _via_grid(case: Case, holding: Holding) -> str | None:
    """The grid whose topic carries this grid's cases: itself at L1/L2, its level-2 grid below."""
    if holding.role is not HolderRole.HANDLING_GRID or holding.unit not in case.grid_chain:
        return None
    level = case.lowest_level - case.grid_chain.index(holding.unit)
    return holding.unit if level <= 2 else case.grid_at(2)
