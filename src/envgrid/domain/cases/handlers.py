"""One function per notice kind: check the sender's role and the state, then record the change.

Each takes a `Step` already holding the case and returns the finished `Outcome` or a `Rejection`.
Transfers and escalations live in `envgrid.domain.cases.transfer`.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from envgrid.domain.cases.effects import FeedbackReason, HandoverCause, LifecycleKind, Outcome, Rejection, RejectionCode
from envgrid.domain.cases.model import (
    CaseState,
    ComplainantRating,
    EnforcementOrder,
    KnownDepartments,
    ReporterKind,
    Task,
    is_known,
)
from envgrid.domain.cases.notices import Notice, Rating
from envgrid.domain.cases.step import Step
from envgrid.domain.cases.transfer import escalation_request, reject, transfer_request
from envgrid.domain.sla.commands import Milestone, PauseReason, SlaAction

if TYPE_CHECKING:
    from envgrid.domain.cases.lifecycle import CaseRules

__all__ = ["acknowledge", "progress", "enforcement_order", "transfer_request", "escalation_request",
           "joint_enforcement_request", "result", "close", "decline", "extension_request", "extension_decision", "rate"]

WORKING = (CaseState.ACKNOWLEDGED, CaseState.IN_PROGRESS, CaseState.JOINT_HANDLING, CaseState.ESCALATED)


def acknowledge(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    case = step.case
    if not _leads(step, notice.unit):
        return reject(step, notice, RejectionCode.NOT_LEAD, f"only the lead department {case.lead_department} or handling grid {case.handling_grid} can acknowledge")
    if case.state not in (CaseState.DISPATCHED, CaseState.ESCALATED):
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"cannot acknowledge a case that is {case.state}")
    state = CaseState.JOINT_HANDLING if case.open_tasks else CaseState.ACKNOWLEDGED
    # Without a lead (a take-over), only the handling grid gets here: its own members work the case.
    step.change(state=state, acknowledged_at=case.acknowledged_at or step.now, handled_by_grid=case.lead_department is None)
    step.event(LifecycleKind.ACKNOWLEDGED, notice.text).feedback(FeedbackReason.ACCEPTED, notice.text, to_transferring_units=True)
    step.sla(SlaAction.STOP, Milestone.ACKNOWLEDGE, Milestone.ACCEPT_DECISION).sla(SlaAction.START, Milestone.RESOLVE)
    return step.finish()


def progress(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    case = step.case
    if case.state not in WORKING:
        return _not_yet(step, notice)
    if case.state is CaseState.ACKNOWLEDGED:
        step.change(state=CaseState.IN_PROGRESS)
    return step.event(LifecycleKind.PROGRESS, notice.text).finish()


def enforcement_order(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    """A work-starting order (e.g. power and water cut-off, 停电停水) is recorded and starts the work."""
    case = step.case
    if case.state not in WORKING:
        return _not_yet(step, notice)
    if not notice.text.strip():
        return reject(step, notice, RejectionCode.MISSING_FIELD, "an enforcement order needs its text (which order)")
    step.change(orders=(*case.orders, EnforcementOrder(notice.unit, notice.text, step.now)))
    if case.state is CaseState.ACKNOWLEDGED:
        step.change(state=CaseState.IN_PROGRESS)
    return step.event(LifecycleKind.ENFORCEMENT_ORDER, notice.text).finish()


def joint_enforcement_request(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    """Lead plus assisting units each get a task; the case resolves when every task is done.  # 联合执法"""
    case = step.case
    if not _leads(step, notice.unit):
        return reject(step, notice, RejectionCode.NOT_LEAD, "only the lead department or handling grid can organise joint enforcement")
    if case.state not in (CaseState.ACKNOWLEDGED, CaseState.IN_PROGRESS, CaseState.ESCALATED, CaseState.JOINT_HANDLING):
        return _not_yet(step, notice) if case.state is CaseState.DISPATCHED else reject(
            step, notice, RejectionCode.INVALID_TRANSITION, f"cannot start joint enforcement on a case that is {case.state}")
    lead = notice.target_department or case.lead_department
    assisting = tuple(d for d in dict.fromkeys(notice.assisting_departments) if d != lead)
    if lead is None or not assisting:
        return reject(step, notice, RejectionCode.MISSING_FIELD, "joint enforcement needs a lead and at least one other assisting department")
    unknown = [d for d in (lead, *assisting) if not is_known(known, d)]
    if unknown:
        return reject(step, notice, RejectionCode.UNKNOWN_DEPARTMENT, f"unknown department(s) {unknown}")
    done = {t.unit: t for t in case.tasks if t.done}
    tasks = tuple(done.get(unit, Task(unit)) for unit in (lead, *assisting))
    if all(t.done for t in tasks):
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, "every unit named has already finished its task")
    step.change(state=CaseState.JOINT_HANDLING, lead_department=lead, assisting_departments=assisting, tasks=tasks,
                acknowledged_at=case.acknowledged_at or step.now, handled_by_grid=False)
    step.moves_responsibility(HandoverCause.JOINT_ENFORCEMENT, f"joint enforcement organised by {notice.unit}: lead {lead}, "
                              f"with {', '.join(assisting)}")
    step.event(LifecycleKind.JOINT_HANDLING, f"lead {lead}, assisting {', '.join(assisting)}")
    return step.sla(SlaAction.REASSIGN).finish()


def result(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    case = step.case
    if case.tasks and case.open_tasks and case.state in (CaseState.JOINT_HANDLING, CaseState.ESCALATED):
        return _task_result(step, notice)
    if case.state in (CaseState.DISPATCHED, CaseState.ESCALATED, CaseState.RECEIVED):
        return _not_yet(step, notice)
    if case.state not in (CaseState.ACKNOWLEDGED, CaseState.IN_PROGRESS):
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"cannot report a result on a case that is {case.state}")
    if not _leads(step, notice.unit):
        return reject(step, notice, RejectionCode.NOT_LEAD, f"only the lead department {case.lead_department} or handling grid can report the result")
    if not notice.text.strip():
        return reject(step, notice, RejectionCode.MISSING_FIELD, "a result needs its resolution text")
    return _resolve(step, notice.text)


def close(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    case = step.case
    if notice.unit != case.lead_department and notice.unit not in case.grids_at_or_above_handling():
        return reject(step, notice, RejectionCode.NOT_LEAD, "only the lead department or the handling or an upper grid can close a case")
    if case.open_tasks:
        return reject(step, notice, RejectionCode.JOINT_TASKS_OPEN, f"tasks still open for {[t.unit for t in case.open_tasks]}")
    if case.state is not CaseState.RESOLVED:
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"only a resolved case can be closed; this one is {case.state}")
    step.change(state=CaseState.CLOSED, closed_at=step.now)
    return step.event(LifecycleKind.CLOSED, notice.text).finish()


def decline(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    """The lead decides not to accept the case (a petition outside the accepting scope).  # 不予受理"""
    case = step.case
    if notice.unit != case.lead_department:
        return reject(step, notice, RejectionCode.NOT_LEAD, f"only the lead department {case.lead_department} can decline")
    if case.state is not CaseState.DISPATCHED:
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"only a dispatched, not yet acknowledged case can be declined; this one is {case.state}")
    if not notice.reason.strip():
        return reject(step, notice, RejectionCode.MISSING_FIELD, "declining needs a reason")
    step.change(state=CaseState.REJECTED, closed_at=step.now)
    step.event(LifecycleKind.DECLINED, notice.reason).feedback(FeedbackReason.DECLINED, notice.reason, to_transferring_units=True)
    return step.sla(SlaAction.STOP).finish()


def extension_request(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    """The lead asks for more time; the resolve clock pauses until a grid decides.  # 申请延期"""
    case = step.case
    if not _leads(step, notice.unit):
        return reject(step, notice, RejectionCode.NOT_LEAD, "only the lead department or handling grid can ask for an extension")
    if case.state not in WORKING or case.state is CaseState.ESCALATED:
        return _not_yet(step, notice)
    if case.extension_pending:
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, "an extension request is already waiting for its decision")
    if not notice.reason.strip():
        return reject(step, notice, RejectionCode.MISSING_FIELD, "an extension request needs a reason")
    step.change(extension_pending=True).event(LifecycleKind.EXTENSION_REQUESTED, notice.reason)
    return step.sla(SlaAction.PAUSE, Milestone.RESOLVE, pause_reason=PauseReason.AWAITING_EXTENSION).finish()


def extension_decision(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    """A grid at or above the handling level grants (notice.extension > 0 units) or refuses the extension."""
    case = step.case
    if notice.unit not in case.grids_at_or_above_handling():
        return reject(step, notice, RejectionCode.NOT_LEAD, "only the handling grid or an upper grid decides on extensions")
    if not case.extension_pending:
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, "no extension request is waiting for a decision")
    if notice.extension < 0:
        return reject(step, notice, RejectionCode.MISSING_FIELD, f"extension must be 0 (refused) or positive, got {notice.extension}")
    step.change(extension_pending=False)
    step.sla(SlaAction.RESUME, Milestone.RESOLVE)
    if notice.extension == 0:
        return step.event(LifecycleKind.EXTENSION_REFUSED, notice.reason).finish()
    refusal = step.extension_check(Milestone.RESOLVE, notice.extension) if step.extension_check else None
    if refusal is not None:  # the grid granted what the SLA policy does not allow: the clock runs on unchanged
        text = f"the grant of {notice.extension:g} more by {notice.unit} is refused by the SLA policy: {refusal}"
        return step.event(LifecycleKind.EXTENSION_REFUSED, f"{text}; {notice.reason}".rstrip("; ")).finish()
    step.event(LifecycleKind.EXTENSION_GRANTED, f"{notice.extension:g} more; {notice.reason}".rstrip("; "))
    step.feedback(FeedbackReason.EXTENDED, notice.reason or f"handling time extended by {notice.extension:g}")
    return step.sla(SlaAction.EXTEND, Milestone.RESOLVE, extension_units=notice.extension).finish()


def rate(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    """A complainant answers the result (`notice.unit`: the id of their report).  # 回访评价

    Any rating is recorded (it counts in 满意率). A "dissatisfied" within `rules.reopen_within` of the result,
    while the case was reopened fewer than `rules.max_reopens` times, reopens it (重办): the same lead and grid
    work it again, each told on its own topic, with a new resolve limit; the complainant is told too."""
    case = step.case
    if not any(r.report_id == notice.unit and r.reporter.kind is ReporterKind.COMPLAINANT for r in case.reports):
        return reject(step, notice, RejectionCode.NOT_REPORTER,
                      f"{notice.unit!r} is not the report of a complainant of case {case.case_id}; only they rate its result")
    if notice.rating is None:
        return reject(step, notice, RejectionCode.MISSING_FIELD, "a rating needs its grade (satisfied, basically satisfied, dissatisfied)")
    if case.state not in (CaseState.RESOLVED, CaseState.CLOSED) or case.resolved_at is None:
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"a case is rated once it has a result; this one is {case.state}")
    dissatisfied = notice.rating is Rating.DISSATISFIED
    why_not = _why_not_reopen(case.resolved_at, case.reopens, step.now, rules) if dissatisfied else None
    reopen = dissatisfied and why_not is None
    step.change(ratings=(*case.ratings, ComplainantRating(notice.unit, notice.rating.value, step.now, reopen)))
    verdict = f"{notice.rating.value}" + (f": {notice.text}" if notice.text.strip() else "")
    step.event(LifecycleKind.RATED, verdict if why_not is None else f"{verdict} (not reopened: {why_not})",
               (("rating", notice.rating.value), ("rater_report", notice.unit)))
    if not reopen:
        return step.finish()
    step.change(state=CaseState.IN_PROGRESS,
                resolved_at=None, closed_at=None, resolution="")
    reason = f"the complainant of report {notice.unit} is not satisfied with the result ({case.resolution})" + \
        (f": {notice.text}" if notice.text.strip() else "")
    step.reassigns_everyone(HandoverCause.REOPENED, reason)
    step.event(LifecycleKind.REOPENED, reason, (("reopen", str(case.reopens + 1)),))
    step.feedback(FeedbackReason.REOPENED, notice.text, to_supervising_grid=True)
    return step.sla(SlaAction.START, Milestone.RESOLVE).finish()


def _why_not_reopen(resolved_at: datetime, reopens: int, now: datetime, rules: CaseRules) -> str | None:
    """Why a dissatisfied rating now does not reopen the case (None: it does)."""
    if reopens >= rules.max_reopens:
        return f"it was reopened {reopens} time(s) already, the most the rules allow"
    if now > resolved_at + rules.reopen_within:
        return f"later than {rules.reopen_within.days} days after the result"
    return None


def _task_result(step: Step, notice: Notice) -> Outcome | Rejection:
    case = step.case
    task = next((t for t in case.tasks if t.unit == notice.unit), None)
    if task is None:
        return reject(step, notice, RejectionCode.NOT_ASSIGNED, f"unit {notice.unit} has no task in the joint enforcement of case {case.case_id}")
    if task.done:
        return reject(step, notice, RejectionCode.TASK_ALREADY_DONE, f"unit {notice.unit} already reported its result")
    if not notice.text.strip():
        return reject(step, notice, RejectionCode.MISSING_FIELD, "a result needs its resolution text")
    done = Task(task.unit, True, notice.text, step.now)
    step.change(tasks=tuple(done if t.unit == task.unit else t for t in case.tasks))
    step.event(LifecycleKind.TASK_DONE, f"{task.unit}: {notice.text}")
    if step.case.open_tasks:
        return step.finish()
    summary = "; ".join(f"{t.unit}: {t.resolution}" for t in step.case.tasks)
    return _resolve(step, summary)


def _resolve(step: Step, resolution: str) -> Outcome:
    step.change(state=CaseState.RESOLVED, resolution=resolution, resolved_at=step.now, extension_pending=False)
    step.event(LifecycleKind.RESOLVED, resolution).feedback(FeedbackReason.RESOLVED, resolution, to_transferring_units=True)
    return step.sla(SlaAction.STOP).finish()


def _leads(step: Step, unit: str) -> bool:
    return unit == step.case.lead_department or unit == step.case.handling_grid


def _not_yet(step: Step, notice: Notice) -> Rejection:
    case = step.case
    if case.state in (CaseState.DISPATCHED, CaseState.ESCALATED, CaseState.RECEIVED):
        return reject(step, notice, RejectionCode.NOT_ACKNOWLEDGED, f"case {case.case_id} is {case.state} and was not acknowledged by its handler yet")
    return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"{notice.kind} is not possible while the case is {case.state}")
