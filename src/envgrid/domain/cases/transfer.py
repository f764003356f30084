"""Moving a case between units: transfer (移交移送), escalation (上报) and hand-over to the parent grid.

A department that says "not ours" sends the case back to the router with itself excluded. A case that
bounced more than `max_transfers` times, or would go back to a department it already left, goes to the
parent grid instead, without a lead department. That grid then dispatches it again, organises joint
enforcement naming a lead, or acknowledges it and handles it itself (`Case.handled_by_grid`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envgrid.domain.cases.effects import (
    FeedbackReason,
    GridTakeover,
    HandoverCause,
    LifecycleKind,
    Outcome,
    Rejection,
    RejectionCode,
    RerouteRequest,
    TakeoverCause,
)
from envgrid.domain.cases.model import CaseState, EscalationRecord, KnownDepartments, TransferRecord, is_known
from envgrid.domain.cases.notices import Notice
from envgrid.domain.cases.responsibility import TAKEOVER_CAUSES, takeover_grid
from envgrid.domain.cases.step import Step
from envgrid.domain.sla.commands import PauseReason, SlaAction

if TYPE_CHECKING:
    from envgrid.domain.cases.lifecycle import CaseRules

TRANSFERABLE = (CaseState.DISPATCHED, CaseState.ACKNOWLEDGED, CaseState.IN_PROGRESS)
ESCALATABLE = (*TRANSFERABLE, CaseState.JOINT_HANDLING, CaseState.ESCALATED, CaseState.TRANSFERRED)


def transfer_request(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    case = step.case
    if case.lead_department is None:
        return reject(step, notice, RejectionCode.NOT_LEAD, f"case {case.case_id} has no lead department to transfer it; its handling grid "
                      f"{case.handling_grid} may handle it, escalate it or organise joint enforcement")
    if notice.unit != case.lead_department:
        return reject(step, notice, RejectionCode.NOT_LEAD, f"only the lead department {case.lead_department} can transfer case {case.case_id}")
    if case.state not in TRANSFERABLE:
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"cannot transfer a case that is {case.state}")
    if not notice.reason.strip():
        return reject(step, notice, RejectionCode.MISSING_FIELD, "a transfer request needs a reason")
    target = notice.target_department
    if target is not None and not is_known(known, target):
        return reject(step, notice, RejectionCode.UNKNOWN_DEPARTMENT, f"suggested target {target!r} is not a known department")
    left = tuple(dict.fromkeys((*case.left_departments, notice.unit)))
    record = TransferRecord(notice.unit, notice.reason, step.now, suggested_unit=target)
    step.change(transfers=(*case.transfers, record), left_departments=left)
    if target is not None and target in case.left_departments:
        return _to_parent(step, record, TakeoverCause.TRANSFER_LOOP, f"{notice.reason} (suggested {target}, which already transferred it)")
    if len(step.case.transfers) > rules.max_transfers:
        return _to_parent(step, record, TakeoverCause.TOO_MANY_TRANSFERS, f"{notice.reason} (transfer {len(step.case.transfers)}, more than {rules.max_transfers})")
    step.sla(SlaAction.PAUSE, pause_reason=PauseReason.TRANSFERRED)
    # The assisting departments stay: the next lead is chosen among them first (`responsibility.next_lead`).
    step.change(state=CaseState.TRANSFERRED, lead_department=None, extension_pending=False)
    step.moves_responsibility(HandoverCause.TRANSFER, notice.reason)
    step.event(LifecycleKind.TRANSFERRED, notice.reason).feedback(FeedbackReason.TRANSFERRED, notice.reason)
    step.effect(RerouteRequest(case.case_id, case.category, case.grid_chain, case.handling_level, left, target, notice.reason, step.now))
    return step.finish()


def escalation_request(step: Step, notice: Notice, known: KnownDepartments, rules: CaseRules) -> Outcome | Rejection:
    case = step.case
    if notice.unit != case.lead_department and notice.unit not in case.grids_at_or_above_handling():
        return reject(step, notice, RejectionCode.NOT_LEAD, f"only the lead department or the handling or an upper grid can escalate case {case.case_id}")
    if case.state not in ESCALATABLE:
        return reject(step, notice, RejectionCode.INVALID_TRANSITION, f"cannot escalate a case that is {case.state}")
    if not notice.reason.strip():
        return reject(step, notice, RejectionCode.MISSING_FIELD, "an escalation request needs a reason")
    return hand_to_parent_grid(step, TakeoverCause.ESCALATION_REQUEST, notice.reason, keep_lead=True).finish()


def hand_to_parent_grid(step: Step, cause: TakeoverCause, reason: str, keep_lead: bool = False) -> Step:
    """The grid `responsibility.takeover_grid` names takes the case (the parent grid, or the city grid office
    when no department is left); a case already at L1 stays there and is flagged."""
    case = step.case
    at_top = case.handling_level == 1 and cause is not TakeoverCause.NO_DEPARTMENT_LEFT
    to_level, to_grid = takeover_grid(case, cause)
    from_grid = case.handling_grid
    record = EscalationRecord(case.handling_level, to_level, from_grid, to_grid, step.unit or "", reason, step.now)
    was_transferred = case.state is CaseState.TRANSFERRED
    changes: dict[str, Any] = dict(state=CaseState.ESCALATED, extension_pending=case.extension_pending and keep_lead, handling_level=to_level, escalations=(*case.escalations, record),
                         flagged_at_top=case.flagged_at_top or at_top, handled_by_grid=False)  # the upper grid decides anew
    if not keep_lead or was_transferred:
        changes.update(lead_department=None, assisting_departments=())
    step.change(**changes)
    escalated = cause in (TakeoverCause.ESCALATION_REQUEST, TakeoverCause.SLA_BREACH)
    step.moves_responsibility(TAKEOVER_CAUSES[cause], reason)
    step.event(LifecycleKind.ESCALATED if escalated else LifecycleKind.SENT_TO_PARENT_GRID, f"{cause.value}: {reason}")
    step.effect(GridTakeover(case.case_id, from_grid, to_grid, to_level, cause, at_top, reason, step.now))
    step.feedback(FeedbackReason.ESCALATED, reason, to_supervising_grid=True)
    step.sla(SlaAction.RESUME if was_transferred else SlaAction.REASSIGN)
    return step


def _to_parent(step: Step, record: TransferRecord, cause: TakeoverCause, reason: str) -> Outcome:
    parent = step.case.grid_at(max(1, step.case.handling_level - 1))
    transfers = (*step.case.transfers[:-1], TransferRecord(record.from_unit, record.reason, record.at, record.suggested_unit, parent))
    step.change(transfers=transfers)
    return hand_to_parent_grid(step, cause, reason).finish()


def reject(step: Step, notice: Notice, code: RejectionCode, message: str) -> Rejection:
    return Rejection(code, f"notice {notice.notice_id} ({notice.kind}) from {notice.unit}: {message}", step.case.case_id, notice.notice_id, notice.unit)
