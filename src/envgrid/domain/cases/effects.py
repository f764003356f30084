"""What applying a notice asks the outside world to do: value objects, no I/O.

The stream processor turns each effect into a record: lifecycle events to `case.history`, feedback to
`feedback`, re-route requests back to the router, grid take-overs to the grid topics, SLA commands to
the SLA desk. A `Rejection` is returned instead of an `Outcome` when a notice cannot be applied.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from envgrid.domain.cases.model import Case, CaseState, Reporter
from envgrid.domain.sla.commands import SlaCommand


class LifecycleKind(StrEnum):
    """What happened to a case (the `kind` of a CaseLifecycleEvent record)."""

    CREATED = "created"
    DISPATCHED = "dispatched"
    REROUTED = "rerouted"  # dispatched again after a transfer or by an upper grid
    MERGED = "merged"
    ACKNOWLEDGED = "acknowledged"
    PROGRESS = "progress"
    ENFORCEMENT_ORDER = "enforcement_order"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    SENT_TO_PARENT_GRID = "sent_to_parent_grid"  # a transfer bounced too often or looped
    JOINT_HANDLING = "joint_handling"
    TASK_DONE = "task_done"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DECLINED = "declined"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_GRANTED = "extension_granted"
    EXTENSION_REFUSED = "extension_refused"
    DEADLINE_RETIMED = "deadline_retimed"  # a new or corrected holiday schedule moved a deadline
    RATED = "rated"        # a complainant rated the result  # 回访评价
    REOPENED = "reopened"  # a dissatisfied complainant, in time: the handler does it again  # 重办


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One entry of the audit history: what happened, who did it, state before and after."""

    case_id: str
    event: LifecycleKind
    before: CaseState | None  # None for the creation of the case
    after: CaseState
    unit: str | None
    reason: str
    at: datetime
    version: int  # the case version after the change
    cause_event_id: str | None = None  # the notice, report or routing decision that caused it
    details: tuple[tuple[str, str], ...] = ()  # further facts for the record's `details` map

    @property
    def event_id(self) -> str:
        """Idempotency key: one per case version and kind (a step may record several kinds)."""
        return f"{self.case_id}:{self.version}:{self.event.value}"


class FeedbackReason(StrEnum):
    ACCEPTED = "accepted"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    DECLINED = "declined"
    EXTENDED = "extended"  # petitioners are told when and why the handling time is extended
    MERGED = "merged"      # a repeat report was linked to an existing case
    REOPENED = "reopened"  # a dissatisfied rating sent the case back to its handler  # 重办


class FeedbackAudience(StrEnum):
    COMPLAINANT = "complainant"
    REPORTING_UNIT = "reporting_unit"
    TRANSFERRING_UNIT = "transferring_unit"
    SUPERVISING_GRID = "supervising_grid"  # the upper grid that oversees the handler  # 上级网格


@dataclass(frozen=True, slots=True)
class Feedback:
    """A message to one reporter or transferring unit.  # 反馈

    `report_id` names the linked report for a reporter (None for a transferring unit), so the feedback
    sender can look up the complainant's contact in the original event.
    """

    case_id: str
    reason: FeedbackReason
    audience: FeedbackAudience
    recipient: Reporter
    report_id: str | None
    handler_unit: str
    message: str
    at: datetime
    case_version: int

    @property
    def event_id(self) -> str:
        """Idempotency key: one per case version, reason and recipient."""
        return f"{self.case_id}:{self.case_version}:{self.reason.value}:{self.report_id or self.recipient.address}"


@dataclass(frozen=True, slots=True)
class RerouteRequest:
    """After a transfer the router must decide again, never picking an excluded department."""

    case_id: str
    category: str
    grid_chain: tuple[str, ...]
    handling_level: int
    excluded_departments: tuple[str, ...]
    suggested_department: str | None
    reason: str
    at: datetime


class TakeoverCause(StrEnum):
    ESCALATION_REQUEST = "escalation_request"
    TOO_MANY_TRANSFERS = "too_many_transfers"
    TRANSFER_LOOP = "transfer_loop"
    SLA_BREACH = "sla_breach"  # a deadline passed: the supervising upper grid takes the case
    NO_DEPARTMENT_LEFT = "no_department_left"  # every candidate transferred it: back to the city grid office


class HolderRole(StrEnum):
    """The part a unit has in a case; each role a unit gains or loses is sent to its topic."""

    LEAD = "lead"                    # the department that answers for the case
    ASSISTING = "assisting"          # a department that helps, or has a task in a joint enforcement
    HANDLING_GRID = "handling_grid"  # the grid at the handling level: it coordinates, or works the case itself


class UnitKind(StrEnum):
    DEPARTMENT = "department"
    GRID = "grid"
    TRIAGE = "triage"  # the city grid office (网格办), routing a case no department could take


class HandoverChange(StrEnum):
    ASSIGNED = "assigned"  # the unit now has this role
    RELEASED = "released"  # the unit no longer has it: the case left it


class HandoverCause(StrEnum):
    """Why responsibility moved (the first dispatch is the router's and has no handover)."""

    TRANSFER = "transfer"                        # 移交移送: a department passed it on
    TRANSFER_LOOP = "transfer_loop"              # the next lead had already transferred it: the parent grid
    TOO_MANY_TRANSFERS = "too_many_transfers"    # more transfers than the rules allow: the parent grid
    ESCALATION = "escalation"                    # 上报: asked for by the lead or a grid
    SLA_BREACH = "sla_breach"                    # a deadline passed: the supervising grid takes it
    JOINT_ENFORCEMENT = "joint_enforcement"      # 联合执法: departments added, or the lead changed
    NO_DEPARTMENT_LEFT = "no_department_left"    # nobody left to lead: back to the city grid office  # 网格办
    DISPATCH = "dispatch"                        # a grid dispatched a case it held (after triage or a take-over)
    REOPENED = "reopened"                        # 重办: the complainant was not satisfied; the same holders again


@dataclass(frozen=True, slots=True)
class Handover:
    """One unit gains or loses one role in a case: a dispatch (or a release) on that unit's topic.

    `via_grid` is the grid whose topic carries a grid's cases: itself at L1 and L2, its level-2 grid
    below (the plan has a district grid oversee its townships and villages). For an assignment
    `previous_holder` held the role before; for a release `next_holder` holds it now (either may be None).
    """

    case_id: str
    unit: str
    unit_kind: UnitKind
    role: HolderRole
    change: HandoverChange
    cause: HandoverCause
    previous_holder: str | None
    next_holder: str | None
    via_grid: str | None
    reason: str
    at: datetime
    version: int  # the case version whose change this is (the dispatch's revision)


@dataclass(frozen=True, slots=True)
class GridTakeover:
    """An upper grid now handles the case (escalation, or a transfer that bounced too often or looped).

    `at_top`: the case was already at the city grid (L1); it stays there and is flagged.
    """

    case_id: str
    from_grid: str
    to_grid: str
    to_level: int
    cause: TakeoverCause
    at_top: bool
    reason: str
    at: datetime


Effect = LifecycleEvent | Feedback | RerouteRequest | GridTakeover | Handover | SlaCommand

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    effects: tuple[Effect, ...]

    def of_type(self, kind: type[E]) -> list[E]:
        return [e for e in self.effects if isinstance(e, kind)]


class RejectionCode(StrEnum):
    UNKNOWN_CASE = "unknown_case"
    CASE_MISMATCH = "case_mismatch"            # notice names another case
    CASE_FINISHED = "case_finished"            # closed or rejected
    UNKNOWN_UNIT = "unknown_unit"              # neither a known department nor a grid of the case
    UNKNOWN_DEPARTMENT = "unknown_department"  # a target or assisting department is not known
    NOT_ASSIGNED = "not_assigned"              # a known unit that has no part in this case
    NOT_LEAD = "not_lead"                      # only the lead unit or handling grid may do this
    NOT_ACKNOWLEDGED = "not_acknowledged"      # work or a result before the case was accepted
    INVALID_TRANSITION = "invalid_transition"
    JOINT_TASKS_OPEN = "joint_tasks_open"
    TASK_ALREADY_DONE = "task_already_done"
    MISSING_FIELD = "missing_field"
    DUPLICATE_NOTICE = "duplicate_notice"      # the same notice id was applied already
    DUPLICATE_REPORT = "duplicate_report"
    INVALID_CASE = "invalid_case"
    NOT_ESCALATABLE = "not_escalatable"        # an SLA breach on a case that cannot go up (finished, already handled above)
    NOT_REPORTER = "not_reporter"              # a rating from someone who is not a complainant of the case


@dataclass(frozen=True, slots=True)
class Rejection:
    code: RejectionCode
    message: str
    case_id: str
    notice_id: str | None = None
    unit: str | None = None
