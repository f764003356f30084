"""A take-over leaves a case without lead department: the parent grid acknowledges it and handles it itself."""
from __future__ import annotations

from casekit import CITIZEN, DEPARTMENTS, at, joint_taken_over, new_case, ok, taken_over

from envgrid.domain.cases import (
    CaseState,
    Feedback,
    FeedbackAudience,
    FeedbackReason,
    GridTakeover,
    NoticeKind,
    Reporter,
    ReporterKind,
    TakeoverCause,
    dispatch,
    invariant_violations,
)
from envgrid.domain.sla.commands import Milestone, SlaAction, SlaCommand

ENV_UNIT, WATER_UNIT = Reporter(ReporterKind.UNIT, "env"), Reporter(ReporterKind.UNIT, "water")


def clocks(outcome) -> set[tuple[SlaAction, Milestone, str, str]]:
    return {(c.action, c.milestone, c.handler_unit, c.supervising_grid) for c in outcome.of_type(SlaCommand)}


def told(outcome) -> set[tuple[FeedbackReason, Reporter, FeedbackAudience, str]]:
    return {(f.reason, f.recipient, f.audience, f.handler_unit) for f in outcome.of_type(Feedback)}


def from_the_grid_to_everyone(reason: FeedbackReason) -> set[tuple[FeedbackReason, Reporter, FeedbackAudience, str]]:
    """The complainant and both departments that transferred the case hear that town-3 handles it."""
    return {(reason, CITIZEN, FeedbackAudience.COMPLAINANT, "town-3"),
            (reason, ENV_UNIT, FeedbackAudience.TRANSFERRING_UNIT, "town-3"),
            (reason, WATER_UNIT, FeedbackAudience.TRANSFERRING_UNIT, "town-3")}


def test_after_a_transfer_loop_the_parent_grid_acknowledges_works_resolves_and_closes_the_case():
    moved = ok(new_case("env"), NoticeKind.TRANSFER_REQUEST, "env", 10, reason="not ours", target_department="water")
    redispatched = dispatch(moved.case, "water", (), DEPARTMENTS, at(11)).case
    looped = ok(redispatched, NoticeKind.TRANSFER_REQUEST, "water", 20, reason="not ours either", target_department="env")
    [takeover] = looped.of_type(GridTakeover)
    assert (takeover.cause, takeover.from_grid, takeover.to_grid) == (TakeoverCause.TRANSFER_LOOP, "village-7", "town-3")
    case = looped.case
    assert (case.state, case.lead_department, case.handling_grid, case.handled_by_grid) == (CaseState.ESCALATED, None, "town-3", False)

    accepted = ok(case, NoticeKind.ACKNOWLEDGE, "town-3", 30, text="grid members sent on site")
    case = accepted.case
    assert (case.state, case.lead_department, case.handled_by_grid, case.handler_unit) == (CaseState.ACKNOWLEDGED, None, True, "town-3")
    assert case.acknowledged_at == at(30) and invariant_violations(case) == []
    assert told(accepted) == from_the_grid_to_everyone(FeedbackReason.ACCEPTED)
    assert clocks(accepted) == {(SlaAction.STOP, Milestone.ACKNOWLEDGE, "town-3", "district-lc"),
                                (SlaAction.STOP, Milestone.ACCEPT_DECISION, "town-3", "district-lc"),
                                (SlaAction.START, Milestone.RESOLVE, "town-3", "district-lc")}

    working = ok(case, NoticeKind.PROGRESS, "town-3", 40, text="burning put out, owner summoned")
    assert working.case.state is CaseState.IN_PROGRESS and not working.of_type(Feedback) and not working.of_type(SlaCommand)

    resolved = ok(working.case, NoticeKind.RESULT, "town-3", 50, text="owner fined, site cleared")
    case = resolved.case
    assert (case.state, case.resolution, case.resolved_at) == (CaseState.RESOLVED, "owner fined, site cleared", at(50))
    assert told(resolved) == from_the_grid_to_everyone(FeedbackReason.RESOLVED)
    assert clocks(resolved) == {(SlaAction.STOP, milestone, "town-3", "district-lc") for milestone in Milestone}

    closed = ok(case, NoticeKind.CLOSE, "town-3", 60, text="archived")
    assert (closed.case.state, closed.case.closed_at, closed.case.handled_by_grid) == (CaseState.CLOSED, at(60), True)
    assert invariant_violations(closed.case) == []


def test_too_many_transfers_end_the_same_way():
    case = new_case("env")
    for minutes, lead, target in ((10, "env", "water"), (20, "water", "agri")):
        moved = ok(case, NoticeKind.TRANSFER_REQUEST, lead, minutes, reason="not ours")
        case = dispatch(moved.case, target, (), DEPARTMENTS, at(minutes + 1)).case
    third = ok(case, NoticeKind.TRANSFER_REQUEST, "agri", 30, reason="not ours")
    assert third.of_type(GridTakeover)[0].cause is TakeoverCause.TOO_MANY_TRANSFERS
    accepted = ok(third.case, NoticeKind.ACKNOWLEDGE, "town-3", 40)
    assert accepted.case.handled_by_grid and accepted.case.handler_unit == "town-3"
    assert {f.recipient.address for f in accepted.of_type(Feedback)} == {CITIZEN.address, "env", "water", "agri"}


def test_a_grid_handling_a_case_may_still_organise_joint_enforcement_which_names_a_lead():
    handled = ok(taken_over(), NoticeKind.ACKNOWLEDGE, "town-3", 30).case
    joint = ok(handled, NoticeKind.JOINT_ENFORCEMENT_REQUEST, "town-3", 40, target_department="urban", assisting_departments=("police",))
    case = joint.case
    assert (case.state, case.lead_department, case.handled_by_grid, case.handler_unit) == (CaseState.JOINT_HANDLING, "urban", False, "urban")
    assert {c.handler_unit for c in joint.of_type(SlaCommand)} == {"urban"}
    done = ok(ok(case, NoticeKind.RESULT, "police", 50, text="owner detained").case, NoticeKind.RESULT, "urban", 60, text="site cleared")
    assert done.case.state is CaseState.RESOLVED
    assert ok(done.case, NoticeKind.CLOSE, "town-3", 70).case.state is CaseState.CLOSED


def test_a_grid_that_takes_over_open_joint_tasks_coordinates_them_until_the_last_one_resolves_the_case():
    case = joint_taken_over()
    accepted = ok(case, NoticeKind.ACKNOWLEDGE, case.handling_grid, 30)
    assert (accepted.case.state, accepted.case.handled_by_grid, accepted.case.lead_department) == (CaseState.JOINT_HANDLING, True, None)
    case = accepted.case
    for minutes, task in enumerate(case.open_tasks, start=4):
        case = ok(case, NoticeKind.RESULT, task.unit, minutes * 10, text="done").case
    assert case.state is CaseState.RESOLVED and invariant_violations(case) == []


def test_a_grid_that_cannot_handle_the_case_escalates_and_the_next_grid_takes_it_on():
    handled = ok(taken_over(), NoticeKind.ACKNOWLEDGE, "town-3", 30).case
    escalated = ok(handled, NoticeKind.ESCALATION_REQUEST, "town-3", 40, reason="beyond the town's means").case
    assert (escalated.state, escalated.handling_grid, escalated.handled_by_grid) == (CaseState.ESCALATED, "district-lc", False)
    accepted = ok(escalated, NoticeKind.ACKNOWLEDGE, "district-lc", 50)
    assert accepted.case.handled_by_grid and accepted.case.handler_unit == "district-lc"
    assert {c.supervising_grid for c in accepted.of_type(SlaCommand)} == {"city-wz"}


def test_a_grid_holding_a_case_without_lead_may_still_have_it_dispatched_to_a_department():
    redispatched = dispatch(taken_over(), "urban", (), DEPARTMENTS, at(30)).case
    assert (redispatched.state, redispatched.lead_department, redispatched.handled_by_grid) == (CaseState.DISPATCHED, "urban", False)
