"""The case state machine: open a case, dispatch it, merge duplicate reports, apply department notices.

Every function is pure: it takes the case, the input and `now` (timezone-aware) and returns either an
`Outcome` (new case + effects) or a `Rejection`; nothing is applied on rejection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from envgrid.domain.cases import handlers
from envgrid.domain.cases.effects import (
    FeedbackReason,
    HandoverCause,
    LifecycleKind,
    Outcome,
    Rejection,
    RejectionCode,
    RerouteRequest,
    TakeoverCause,
)
from envgrid.domain.cases.model import Case, CaseState, KnownDepartments, LinkedReport, Reporter, is_known
from envgrid.domain.cases.notices import FROM_COMPLAINANTS, Notice, NoticeKind
from envgrid.domain.cases.responsibility import next_lead
from envgrid.domain.cases.step import ExtensionCheck, Step
from envgrid.domain.cases.transfer import ESCALATABLE, hand_to_parent_grid
from envgrid.domain.sla.clock import require_aware
from envgrid.domain.sla.commands import Milestone, SlaAction


@dataclass(frozen=True, slots=True)
class CaseRules:
    max_transfers: int = 2  # a further transfer sends the case to the parent grid instead
    # 重办: a complainant's "dissatisfied" within this time after the result sends the case back to its handler,
    # at most `max_reopens` times; later, or once more, the rating is recorded and counts, and the case stays done
    reopen_within: timedelta = timedelta(days=15)
    max_reopens: int = 1


DEFAULT_RULES = CaseRules()

_HANDLERS = {
    NoticeKind.ACKNOWLEDGE: handlers.acknowledge,
    NoticeKind.PROGRESS: handlers.progress,
    NoticeKind.ENFORCEMENT_ORDER: handlers.enforcement_order,
    NoticeKind.TRANSFER_REQUEST: handlers.transfer_request,
    NoticeKind.ESCALATION_REQUEST: handlers.escalation_request,
    NoticeKind.JOINT_ENFORCEMENT_REQUEST: handlers.joint_enforcement_request,
    NoticeKind.RESULT: handlers.result,
    NoticeKind.CLOSE: handlers.close,
    NoticeKind.DECLINE: handlers.decline,
    NoticeKind.EXTENSION_REQUEST: handlers.extension_request,
    NoticeKind.EXTENSION_DECISION: handlers.extension_decision,
    NoticeKind.RATING: handlers.rate,
}


def open_case(
    case_id: str,
    category: str,
    channel: str,
    report_id: str,
    reporter: Reporter,
    grid_chain: tuple[str, ...] | list[str],
    handling_level: int,
    now: datetime,
    known_departments: KnownDepartments = (),
    lead_department: str | None = None,
    assisting_departments: tuple[str, ...] = (),
) -> Outcome | Rejection:
    """A new case for a routed report; dispatched at once when the router named a lead department."""
    require_aware(now, "now")
    chain = tuple(grid_chain)
    if not chain or not 1 <= handling_level <= len(chain) or len(chain) > 4:
        return Rejection(RejectionCode.INVALID_CASE, f"handling level L{handling_level} must be within grid chain {chain} (at most L4→L1)", case_id)
    case = Case(
        case_id=case_id, category=category, channel=channel, grid_chain=chain, handling_level=handling_level,
        state=CaseState.RECEIVED, reports=(LinkedReport(report_id, reporter, now, original=True),),
        created_at=now, updated_at=now, version=0,
        routed_departments=tuple(dict.fromkeys(d for d in (lead_department, *assisting_departments) if d)),
    )
    step = Step(case, now, reporter.address, cause_event_id=report_id, created=True).event(LifecycleKind.CREATED, f"report {report_id}")
    if lead_department is None:
        return step.finish()
    return _dispatch_into(step, lead_department, tuple(assisting_departments), known_departments)


def dispatch(
    case: Case, lead_department: str, assisting_departments: tuple[str, ...], known_departments: KnownDepartments, now: datetime,
    cause_event_id: str | None = None,
) -> Outcome | Rejection:
    """Assign a lead department: first dispatch, re-dispatch after a transfer, or by an upper grid."""
    require_aware(now, "now")
    if case.finished:
        return _finished(case, None, None)
    if case.state not in (CaseState.RECEIVED, CaseState.TRANSFERRED, CaseState.ESCALATED):
        return Rejection(RejectionCode.INVALID_TRANSITION, f"cannot dispatch a case that is {case.state}", case.case_id)
    return _dispatch_into(Step(case, now, None, cause_event_id=cause_event_id), lead_department, tuple(assisting_departments), known_departments)


def reroute(case: Case, request: RerouteRequest, known_departments: KnownDepartments, now: datetime,
            cause_event_id: str | None = None) -> Outcome | Rejection:
    """After a transfer: dispatch to the department `responsibility.next_lead` picks, or, when every candidate
    has transferred it already, hand the case to the city grid office (triage), which routes it by hand."""
    require_aware(now, "now")
    if case.state is not CaseState.TRANSFERRED:
        return Rejection(RejectionCode.INVALID_TRANSITION, f"only a transferred case is re-routed; {case.case_id} is {case.state}", case.case_id)
    lead = next_lead(case, request.suggested_department, known_departments)
    step = Step(case, now, None, cause_event_id=cause_event_id)
    if lead is None:
        reason = f"every candidate department ({', '.join(case.left_departments)}) transferred it"
        return hand_to_parent_grid(step, TakeoverCause.NO_DEPARTMENT_LEFT, reason).finish()
    return _dispatch_into(step, lead, tuple(d for d in case.assisting_departments if d != lead), known_departments)


def escalate_for_breach(case: Case, milestone: Milestone, deadline: datetime, supervising_grid: str, now: datetime,
                        cause_event_id: str) -> Outcome | Rejection:
    """A missed deadline hands the case to the supervising upper grid, the lead keeping its part.  # 超期上报

    Refused (and only the breach itself reported) when the case cannot go up any more: finished, or no
    longer in a state that escalates."""
    require_aware(now, "now")
    if case.finished or case.state not in ESCALATABLE:
        return Rejection(RejectionCode.NOT_ESCALATABLE, f"SLA breach of {milestone} on case {case.case_id}: a case that is "
                         f"{case.state} is not escalated", case.case_id)
    step = Step(case, now, supervising_grid, cause_event_id=cause_event_id)
    reason = f"SLA breach of {milestone} (deadline {deadline.isoformat()})"
    return hand_to_parent_grid(step, TakeoverCause.SLA_BREACH, reason, keep_lead=True).finish()


def retime(case: Case, milestone: Milestone, old_deadline: datetime | None, new_deadline: datetime | None, reason: str,
           now: datetime, cause_event_id: str, details: tuple[tuple[str, str], ...] = ()) -> Outcome:
    """Record that a deadline moved because the holiday schedule changed (a new revision, state unchanged).

    A breach no longer due is recorded here as withdrawn; an escalation it caused stands (the upper grid
    keeps the case), because undoing a hand-over already made would confuse the units more than it helps."""
    require_aware(now, "now")
    facts = (("milestone", milestone.value),
             ("old_deadline", old_deadline.isoformat() if old_deadline else "none"),
             ("new_deadline", new_deadline.isoformat() if new_deadline else "none"), *details)
    step = Step(case, now, None, cause_event_id=cause_event_id)
    return step.event(LifecycleKind.DEADLINE_RETIMED, reason, facts).finish()


def merge_report(case: Case, report_id: str, reporter: Reporter, now: datetime) -> Outcome | Rejection:
    """Link a repeat report of the same incident; its reporter gets every later feedback.  # 重复件合并"""
    require_aware(now, "now")
    if any(r.report_id == report_id for r in case.reports):  # first: a redelivered merge is a replay, also once
        # the case has finished since (the case desk answers it with what it sent, not with a refusal)
        return Rejection(RejectionCode.DUPLICATE_REPORT, f"report {report_id} is already linked to case {case.case_id}", case.case_id)
    if case.finished:
        return _finished(case, None, None)
    step = Step(case, now, reporter.address, cause_event_id=report_id)
    step.change(reports=(*case.reports, LinkedReport(report_id, reporter, now, original=False))).event(LifecycleKind.MERGED, f"report {report_id}")
    status = "accepted" if case.acknowledged_at is not None and case.state is not CaseState.TRANSFERRED else str(case.state)
    step.to_reporter(FeedbackReason.MERGED, reporter, report_id,
                     f"your report was merged into case {case.case_id} ({status}, handled by {case.handler_unit})")
    return step.finish()


def apply(
    case: Case | None, notice: Notice, known_departments: KnownDepartments, now: datetime, rules: CaseRules = DEFAULT_RULES,
    extension_check: ExtensionCheck | None = None,
) -> Outcome | Rejection:
    """Apply one department notice to its case. `extension_check` says why the SLA policy would refuse an
    extension (None: it allows it); without one, every grant is taken as allowed."""
    require_aware(now, "now")
    if case is None:
        return Rejection(RejectionCode.UNKNOWN_CASE, f"no case {notice.case_id} for notice {notice.notice_id}", notice.case_id, notice.notice_id, notice.unit)
    if notice.case_id != case.case_id:
        return Rejection(RejectionCode.CASE_MISMATCH, f"notice {notice.notice_id} is for case {notice.case_id}, not {case.case_id}", case.case_id, notice.notice_id, notice.unit)
    if notice.notice_id in case.recent_notice_ids:
        return Rejection(RejectionCode.DUPLICATE_NOTICE, f"notice {notice.notice_id} was already applied", case.case_id, notice.notice_id, notice.unit)
    if notice.kind in FROM_COMPLAINANTS:  # the handler checks that the rater is a complainant of the case
        return _HANDLERS[notice.kind](Step(case, now, notice.unit, notice.notice_id), notice, known_departments, rules)
    if case.finished:
        return _finished(case, notice.notice_id, notice.unit)
    if notice.unit not in case.grid_chain and not is_known(known_departments, notice.unit):
        return Rejection(RejectionCode.UNKNOWN_UNIT, f"unit {notice.unit!r} is neither a known department nor a grid of case {case.case_id}", case.case_id, notice.notice_id, notice.unit)
    if not _takes_part(case, notice.unit):
        return Rejection(RejectionCode.NOT_ASSIGNED, f"unit {notice.unit} has no part in case {case.case_id} (lead {case.lead_department}, handling grid {case.handling_grid})", case.case_id, notice.notice_id, notice.unit)
    step = Step(case, now, notice.unit, notice.notice_id, extension_check=extension_check)
    return _HANDLERS[notice.kind](step, notice, known_departments, rules)


def _dispatch_into(step: Step, lead: str, assisting: tuple[str, ...], known: KnownDepartments) -> Outcome | Rejection:
    case = step.case
    unknown = [d for d in (lead, *assisting) if not is_known(known, d)]
    if unknown:
        return Rejection(RejectionCode.UNKNOWN_DEPARTMENT, f"unknown department(s) {unknown} for case {case.case_id}", case.case_id)
    if lead in case.left_departments:
        return hand_to_parent_grid(step, TakeoverCause.TRANSFER_LOOP, f"dispatched back to {lead}, which already transferred it").finish()
    first_dispatch = case.state is CaseState.RECEIVED
    if case.state is CaseState.TRANSFERRED:
        step.moves_responsibility(HandoverCause.TRANSFER, f"{case.transfers[-1].from_unit} transferred it: {case.transfers[-1].reason}"
                                  if case.transfers else f"dispatched to {lead}")
    else:
        step.moves_responsibility(HandoverCause.DISPATCH, f"dispatched to {lead} by {case.handling_grid}")
    step.change(state=CaseState.DISPATCHED, lead_department=lead, extension_pending=False,
                assisting_departments=tuple(d for d in dict.fromkeys(assisting) if d != lead))
    step.event(LifecycleKind.DISPATCHED if first_dispatch else LifecycleKind.REROUTED, f"lead {lead}")
    if first_dispatch:
        step.sla(SlaAction.START, Milestone.ACKNOWLEDGE, Milestone.ACCEPT_DECISION)
    else:
        step.sla(SlaAction.RESUME)  # also hands the running clocks to the new lead
        if case.acknowledged_at is not None:
            step.sla(SlaAction.START, Milestone.ACKNOWLEDGE)  # the new lead must sign for it in time too
    return step.finish()


def _takes_part(case: Case, unit: str) -> bool:
    if unit in case.grid_chain:
        return True  # grids of the chain coordinate and supervise; handlers check the role
    return unit == case.lead_department or unit in case.assisting_departments or any(t.unit == unit for t in case.tasks)


def _finished(case: Case, notice_id: str | None, unit: str | None) -> Rejection:
    return Rejection(RejectionCode.CASE_FINISHED, f"case {case.case_id} is {case.state}; nothing more can happen to it", case.case_id, notice_id, unit)
