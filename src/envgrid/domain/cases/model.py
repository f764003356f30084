"""A case: one routed incident and everything that happened to it since.

Departments and grids are plain string codes here; the routing module owns their tables. The grid
chain runs from the lowest grid that owns the case up to the city (L4→L1, or shorter when the case
starts higher), so `grid_chain[-1]` is always the L1 city grid.
"""
from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KnownDepartments = Container[str] | Callable[[str], bool]


class CaseState(StrEnum):
    RECEIVED = "received"              # no department yet (e.g. triage by the city grid office)
    DISPATCHED = "dispatched"          # sent to a lead department  # 派单
    ACKNOWLEDGED = "acknowledged"      # the lead, or the handling grid of a lead-less case, accepted it  # 签收/受理
    IN_PROGRESS = "in_progress"        # work started (progress or an enforcement order)
    TRANSFERRED = "transferred"        # "not ours": waiting for the router to pick another unit  # 移交移送
    ESCALATED = "escalated"            # handed to an upper grid  # 上报
    JOINT_HANDLING = "joint_handling"  # several units, one task each  # 联合执法
    RESOLVED = "resolved"              # result given  # 办结
    CLOSED = "closed"                  # 结案
    REJECTED = "rejected"              # not accepted (a petition may be declined)  # 不予受理


FINAL_STATES = frozenset({CaseState.CLOSED, CaseState.REJECTED})
BEING_HANDLED = frozenset({CaseState.ACKNOWLEDGED, CaseState.IN_PROGRESS, CaseState.JOINT_HANDLING})  # someone must be working it


class ReporterKind(StrEnum):
    COMPLAINANT = "complainant"  # a citizen; reached back through the channel the complaint came by
    UNIT = "unit"                # a grid or department that reported it (e.g. from patrol)


@dataclass(frozen=True, slots=True)
class Reporter:
    """Who reported: `address` is the channel for a complainant, the unit code for a unit.

    Contact details stay in the original event: the case keeps only what feedback routing needs.
    """

    kind: ReporterKind
    address: str


@dataclass(frozen=True, slots=True)
class LinkedReport:
    report_id: str
    reporter: Reporter
    linked_at: datetime
    original: bool  # False for a merged duplicate report


@dataclass(frozen=True, slots=True)
class Task:
    """One unit's share of a joint enforcement."""

    unit: str
    done: bool = False
    resolution: str = ""
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TransferRecord:
    from_unit: str
    reason: str
    at: datetime
    suggested_unit: str | None = None
    to_parent_grid: str | None = None  # set when the case went to the parent grid instead


@dataclass(frozen=True, slots=True)
class EscalationRecord:
    from_level: int
    to_level: int
    from_grid: str
    to_grid: str
    requested_by: str
    reason: str
    at: datetime

    @property
    def at_top(self) -> bool:
        return self.from_level == self.to_level == 1


@dataclass(frozen=True, slots=True)
class ComplainantRating:
    """One complainant's answer to a result (`rating`: a `notices.Rating` value).  # 回访评价"""

    report_id: str  # the complainant's report: who rated
    rating: str
    at: datetime
    reopened: bool  # this rating sent the case back to its handler  # 重办


@dataclass(frozen=True, slots=True)
class EnforcementOrder:
    """A notice that starts work, e.g. a power and water cut-off order.  # 停电停水"""

    unit: str
    order: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    category: str
    channel: str  # the original report's channel; it selects the SLA policy
    grid_chain: tuple[str, ...]  # lowest owning grid first, L1 last
    handling_level: int  # 1 = city … 4 = village/community
    state: CaseState
    reports: tuple[LinkedReport, ...]
    created_at: datetime
    updated_at: datetime
    lead_department: str | None = None
    assisting_departments: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = ()
    transfers: tuple[TransferRecord, ...] = ()
    escalations: tuple[EscalationRecord, ...] = ()
    orders: tuple[EnforcementOrder, ...] = ()
    left_departments: tuple[str, ...] = ()  # departments the case was transferred away from
    resolution: str = ""
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    extension_pending: bool = False  # an extension request awaits its decision
    flagged_at_top: bool = False  # escalation asked for above L1: needs the city's attention
    handled_by_grid: bool = False  # a take-over left no lead and the handling grid accepted it: it works the case itself
    routed_departments: tuple[str, ...] = ()  # the routing decision's lead and assisting: candidates after a transfer
    ratings: tuple[ComplainantRating, ...] = ()  # complainants' answers to results, oldest first
    recent_notice_ids: tuple[str, ...] = ()  # for idempotent re-delivery
    version: int = 0  # 0 for the opening, one more for every applied change

    @property
    def lowest_level(self) -> int:
        return len(self.grid_chain)

    def grid_at(self, level: int) -> str:
        if not 1 <= level <= self.lowest_level:
            raise ValueError(f"case {self.case_id}: no grid at level L{level} in chain {self.grid_chain}")
        return self.grid_chain[self.lowest_level - level]

    @property
    def handling_grid(self) -> str:
        return self.grid_at(self.handling_level)

    @property
    def supervising_grid(self) -> str:
        """The upper grid that oversees the handler (the city grid supervises itself)."""
        return self.grid_at(max(1, self.handling_level - 1))

    @property
    def handler_unit(self) -> str:
        """Who answers for the case now: the lead department, else the handling grid.

        Without a lead the grid holds the case until it is dispatched again or the grid, by acknowledging
        it, takes it on itself (`handled_by_grid`): the plan has each grid level handle cases with its own
        members, and an upper grid that takes a case over handles or coordinates it.
        """
        return self.lead_department or self.handling_grid

    @property
    def open_tasks(self) -> tuple[Task, ...]:
        return tuple(t for t in self.tasks if not t.done)

    @property
    def reopens(self) -> int:
        return sum(rating.reopened for rating in self.ratings)

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def grids_at_or_above_handling(self) -> tuple[str, ...]:
        return tuple(self.grid_at(level) for level in range(1, self.handling_level + 1))


def invariant_violations(case: Case) -> list[str]:
    """Everything that must hold for any case the state machine produces (used by property tests)."""
    problems = []
    if not case.grid_chain or not 1 <= case.handling_level <= case.lowest_level:
        problems.append(f"handling level L{case.handling_level} outside chain {case.grid_chain}")
    if not case.reports or not case.reports[0].original or sum(r.original for r in case.reports) != 1:
        problems.append("exactly one original report must come first")
    if len({r.report_id for r in case.reports}) != len(case.reports):
        problems.append("a report is linked twice")
    if case.state in (CaseState.RESOLVED, CaseState.CLOSED) and case.open_tasks:
        problems.append(f"{case.state} with open tasks {[t.unit for t in case.open_tasks]}")
    if case.state is CaseState.JOINT_HANDLING and not case.open_tasks:
        problems.append("joint handling without open tasks")
    if case.state is CaseState.DISPATCHED and case.lead_department is None:
        problems.append("dispatched without a lead department")
    if case.state in BEING_HANDLED and case.lead_department is None and not case.handled_by_grid:
        problems.append(f"{case.state} with neither a lead department nor its handling grid as handler")
    problems += _grid_handling_violations(case)
    if case.state is CaseState.TRANSFERRED and case.lead_department is not None:
        problems.append("transferred but still has a lead department")
    if case.lead_department is not None and case.lead_department in case.assisting_departments:
        problems.append("lead department also listed as assisting")
    if case.state in (CaseState.RESOLVED, CaseState.CLOSED) and case.resolved_at is None:
        problems.append(f"{case.state} without resolved_at")
    if case.state is CaseState.CLOSED and case.closed_at is None:
        problems.append("closed without closed_at")
    working = {CaseState.ACKNOWLEDGED, CaseState.IN_PROGRESS, CaseState.JOINT_HANDLING, CaseState.ESCALATED}
    if case.extension_pending and case.state not in working:
        problems.append(f"extension pending on a case that is {case.state}")
    if case.updated_at < case.created_at or case.version < 0:
        problems.append("timestamps or version out of order")
    return problems


def _grid_handling_violations(case: Case) -> list[str]:
    """A grid works a case itself only after a take-over left it without lead, from acceptance to close."""
    if not case.handled_by_grid:
        return []
    problems = []
    if case.lead_department is not None:
        problems.append(f"handled by its grid yet led by {case.lead_department}")
    if not case.escalations:
        problems.append("handled by its grid without a take-over")
    if case.state not in BEING_HANDLED | {CaseState.RESOLVED, CaseState.CLOSED}:
        problems.append(f"handled by its grid while {case.state}")
    return problems


def is_known(known: KnownDepartments, code: str) -> bool:
    return bool(known(code)) if callable(known) else code in known
