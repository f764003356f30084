"""Examples of every transition of the case state machine and the effects each one emits."""
from __future__ import annotations

from casekit import CHAIN, CITIZEN, DEPARTMENTS, PATROL_UNIT, T0, acknowledged, at, joint, new_case, notice, ok

from envgrid.domain.cases import (
    CaseRules,
    CaseState,
    Feedback,
    FeedbackAudience,
    FeedbackReason,
    GridTakeover,
    LifecycleEvent,
    NoticeKind,
    Outcome,
    Rejection,
    Reporter,
    ReporterKind,
    RerouteRequest,
    TakeoverCause,
    apply,
    dispatch,
    merge_report,
    open_case,
)
from envgrid.domain.sla.commands import Milestone, PauseReason, SlaAction, SlaCommand


def sla(outcome: Outcome) -> set[tuple[SlaAction, Milestone]]:
    return {(c.action, c.milestone) for c in outcome.of_type(SlaCommand)}


def events(outcome: Outcome) -> list[tuple[str, CaseState, CaseState]]:
    return [(e.event, e.before, e.after) for e in outcome.of_type(LifecycleEvent)]


def test_open_without_lead_stays_received_then_dispatch_starts_acknowledge_clocks():
    opened = open_case("C1", "dust", "letter", "E1", CITIZEN, CHAIN, 3, T0)
    assert isinstance(opened, Outcome)
    assert opened.case.state is CaseState.RECEIVED and opened.case.version == 0
    assert opened.case.handling_grid == "town-3" and opened.case.supervising_grid == "district-lc"
    dispatched = dispatch(opened.case, "env", ("urban",), DEPARTMENTS, at(5))
    assert dispatched.case.state is CaseState.DISPATCHED
    assert dispatched.case.lead_department == "env" and dispatched.case.assisting_departments == ("urban",)
    assert events(dispatched) == [("dispatched", CaseState.RECEIVED, CaseState.DISPATCHED)]
    assert sla(dispatched) == {(SlaAction.START, Milestone.ACKNOWLEDGE), (SlaAction.START, Milestone.ACCEPT_DECISION)}
    assert dispatched.case.version == 1


def test_open_with_lead_is_dispatched_at_once():
    case = new_case()
    assert case.state is CaseState.DISPATCHED and case.grid_chain == CHAIN and case.handling_grid == "village-7"


def test_acknowledge_feeds_back_to_every_reporter_and_swaps_clocks():
    outcome = ok(new_case(), NoticeKind.ACKNOWLEDGE, "env")
    assert outcome.case.state is CaseState.ACKNOWLEDGED and outcome.case.acknowledged_at == at(10)
    feedback = outcome.of_type(Feedback)
    assert [(f.reason, f.recipient, f.report_id) for f in feedback] == [(FeedbackReason.ACCEPTED, CITIZEN, "E1")]
    assert sla(outcome) == {(SlaAction.STOP, Milestone.ACKNOWLEDGE), (SlaAction.STOP, Milestone.ACCEPT_DECISION),
                            (SlaAction.START, Milestone.RESOLVE)}


def test_handling_grid_may_acknowledge():
    assert ok(new_case(), NoticeKind.ACKNOWLEDGE, "village-7").case.state is CaseState.ACKNOWLEDGED


def test_progress_moves_to_in_progress_and_is_recorded_again_later():
    first = ok(acknowledged(), NoticeKind.PROGRESS, "env", text="site visited")
    assert first.case.state is CaseState.IN_PROGRESS
    again = ok(first.case, NoticeKind.PROGRESS, "env", 20, text="owner summoned")
    assert events(again) == [("progress", CaseState.IN_PROGRESS, CaseState.IN_PROGRESS)]
    assert again.case.version == first.case.version + 1


def test_enforcement_order_is_recorded_and_starts_work():
    outcome = ok(acknowledged(), NoticeKind.ENFORCEMENT_ORDER, "env", text="power and water cut-off")
    assert outcome.case.state is CaseState.IN_PROGRESS
    assert [(o.unit, o.order) for o in outcome.case.orders] == [("env", "power and water cut-off")]


def test_result_from_lead_resolves_and_feeds_back_then_close():
    resolved = ok(acknowledged(), NoticeKind.RESULT, "env", text="noise stopped, fined")
    assert resolved.case.state is CaseState.RESOLVED and resolved.case.resolution == "noise stopped, fined"
    assert [f.reason for f in resolved.of_type(Feedback)] == [FeedbackReason.RESOLVED]
    assert all(c.action is SlaAction.STOP for c in resolved.of_type(SlaCommand))
    closed = ok(resolved.case, NoticeKind.CLOSE, "village-7", 30)
    assert closed.case.state is CaseState.CLOSED and closed.case.closed_at == at(30)


def test_transfer_pauses_clocks_and_asks_the_router_again_without_the_transferring_department():
    case = acknowledged()
    outcome = ok(case, NoticeKind.TRANSFER_REQUEST, "env", reason="water pollution, not air", target_department="water")
    assert outcome.case.state is CaseState.TRANSFERRED and outcome.case.lead_department is None
    [reroute] = outcome.of_type(RerouteRequest)
    assert reroute.excluded_departments == ("env",) and reroute.suggested_department == "water"
    assert reroute.grid_chain == CHAIN and reroute.handling_level == 4
    assert {c.pause_reason for c in outcome.of_type(SlaCommand)} == {PauseReason.TRANSFERRED}
    assert [f.reason for f in outcome.of_type(Feedback)] == [FeedbackReason.TRANSFERRED]
    redispatched = dispatch(outcome.case, "water", (), DEPARTMENTS, at(20))
    assert redispatched.case.state is CaseState.DISPATCHED and redispatched.case.lead_department == "water"
    assert sla(redispatched) == {(SlaAction.RESUME, m) for m in Milestone} | {(SlaAction.START, Milestone.ACKNOWLEDGE)}
    assert {c.handler_unit for c in redispatched.of_type(SlaCommand)} == {"water"}
    accepted = ok(redispatched.case, NoticeKind.ACKNOWLEDGE, "water", 30)
    recipients = {(f.recipient, f.audience) for f in accepted.of_type(Feedback)}
    assert recipients == {(CITIZEN, FeedbackAudience.COMPLAINANT),
                          (Reporter(ReporterKind.UNIT, "env"), FeedbackAudience.TRANSFERRING_UNIT)}  # hears back too


def bounce(case, lead, target, minutes):
    moved = ok(case, NoticeKind.TRANSFER_REQUEST, lead, minutes, reason="not ours", target_department=target)
    if moved.case.state is CaseState.TRANSFERRED:
        return moved, dispatch(moved.case, target, (), DEPARTMENTS, at(minutes + 1)).case
    return moved, moved.case


def test_third_transfer_goes_to_the_parent_grid_instead():
    _, case = bounce(new_case("env"), "env", "water", 10)
    _, case = bounce(case, "water", "agri", 20)
    third, case = bounce(case, "agri", "housing", 30)
    assert case.state is CaseState.ESCALATED and case.handling_level == 3 and case.lead_department is None
    [takeover] = third.of_type(GridTakeover)
    assert (takeover.cause, takeover.to_grid, takeover.from_grid) == (TakeoverCause.TOO_MANY_TRANSFERS, "town-3", "village-7")
    assert case.transfers[-1].to_parent_grid == "town-3"
    assert not third.of_type(RerouteRequest)


def test_max_transfers_is_configurable():
    moved = apply(new_case("env"), notice(NoticeKind.TRANSFER_REQUEST, "env", reason="no"), DEPARTMENTS, at(5), CaseRules(max_transfers=0))
    assert moved.case.state is CaseState.ESCALATED


def test_transfer_back_to_a_department_already_left_is_a_loop():
    _, case = bounce(new_case("env"), "env", "water", 10)
    loop, case = bounce(case, "water", "env", 20)
    assert case.state is CaseState.ESCALATED
    assert loop.of_type(GridTakeover)[0].cause is TakeoverCause.TRANSFER_LOOP


def test_router_dispatching_back_to_a_left_department_is_a_loop_too():
    moved = ok(new_case("env"), NoticeKind.TRANSFER_REQUEST, "env", reason="not ours")
    back = dispatch(moved.case, "env", (), DEPARTMENTS, at(20))
    assert back.case.state is CaseState.ESCALATED
    assert back.of_type(GridTakeover)[0].cause is TakeoverCause.TRANSFER_LOOP
    assert {c.action for c in back.of_type(SlaCommand)} == {SlaAction.RESUME}


def test_escalation_climbs_the_chain_and_stays_flagged_at_the_city():
    case = acknowledged()
    levels = []
    for step in range(4):
        outcome = ok(case, NoticeKind.ESCALATION_REQUEST, case.handling_grid, 10 + step, reason="beyond our means")
        case = outcome.case
        [takeover] = outcome.of_type(GridTakeover)
        levels.append((case.handling_level, takeover.to_grid, takeover.at_top))
        told = {(f.reason, f.audience, f.recipient.address) for f in outcome.of_type(Feedback)}
        assert told == {(FeedbackReason.ESCALATED, FeedbackAudience.COMPLAINANT, "hotline_12369"),
                        (FeedbackReason.ESCALATED, FeedbackAudience.SUPERVISING_GRID, case.supervising_grid)}
    assert levels == [(3, "town-3", False), (2, "district-lc", False), (1, "city-wz", False), (1, "city-wz", True)]
    assert case.state is CaseState.ESCALATED and case.flagged_at_top and case.lead_department == "env"
    assert case.escalations[-1].at_top


def test_upper_grid_acknowledges_or_redispatches_an_escalated_case():
    escalated = ok(acknowledged(), NoticeKind.ESCALATION_REQUEST, "env", reason="needs the town").case
    assert ok(escalated, NoticeKind.ACKNOWLEDGE, "town-3", 20).case.state is CaseState.ACKNOWLEDGED
    redispatched = dispatch(escalated, "police", (), DEPARTMENTS, at(20))
    assert redispatched.case.lead_department == "police" and redispatched.case.state is CaseState.DISPATCHED


def test_supervising_grid_may_escalate_for_example_after_an_sla_breach():
    outcome = ok(acknowledged(), NoticeKind.ESCALATION_REQUEST, "town-3", reason="SLA breach: resolve")
    assert outcome.case.handling_grid == "town-3"


def test_joint_enforcement_gives_each_unit_a_task_and_resolves_when_all_are_done():
    case = joint()
    assert case.state is CaseState.JOINT_HANDLING
    assert [(t.unit, t.done) for t in case.tasks] == [("env", False), ("urban", False), ("water", False)]
    first = ok(case, NoticeKind.RESULT, "urban", 20, text="site sealed")
    assert first.case.state is CaseState.JOINT_HANDLING and [e[0] for e in events(first)] == ["task_done"]
    second = ok(first.case, NoticeKind.RESULT, "water", 30, text="outfall blocked")
    last = ok(second.case, NoticeKind.RESULT, "env", 40, text="fined")
    assert last.case.state is CaseState.RESOLVED
    assert [e[0] for e in events(last)] == ["task_done", "resolved"]
    assert last.case.resolution == "env: fined; urban: site sealed; water: outfall blocked"
    assert ok(last.case, NoticeKind.CLOSE, "env", 50).case.state is CaseState.CLOSED


def test_escalated_joint_case_returns_to_joint_handling_on_acknowledge():
    case = ok(joint(), NoticeKind.ESCALATION_REQUEST, "env", reason="cross-district").case
    assert case.state is CaseState.ESCALATED and case.open_tasks
    assert ok(case, NoticeKind.ACKNOWLEDGE, "town-3", 30).case.state is CaseState.JOINT_HANDLING


def test_decline_rejects_a_dispatched_petition_with_feedback():
    outcome = ok(new_case(channel="letter"), NoticeKind.DECLINE, "env", reason="already in litigation")
    assert outcome.case.state is CaseState.REJECTED
    assert [f.reason for f in outcome.of_type(Feedback)] == [FeedbackReason.DECLINED]


def test_merged_reporters_all_get_later_feedback():
    case = new_case(reporter=PATROL_UNIT)
    other = Reporter(ReporterKind.COMPLAINANT, "hotline_12345")
    merged = merge_report(case, "E2", other, at(5))
    assert events(merged) == [("merged", CaseState.DISPATCHED, CaseState.DISPATCHED)]
    [told] = merged.of_type(Feedback)  # only the new reporter hears about the merge
    assert (told.reason, told.report_id, told.audience) == (FeedbackReason.MERGED, "E2", FeedbackAudience.COMPLAINANT)
    accepted = ok(merged.case, NoticeKind.ACKNOWLEDGE, "env", 10)
    feedback = accepted.of_type(Feedback)
    assert {(f.recipient, f.report_id, f.audience) for f in feedback} == {
        (PATROL_UNIT, "E1", FeedbackAudience.REPORTING_UNIT), (other, "E2", FeedbackAudience.COMPLAINANT)}
    assert len({f.event_id for f in feedback}) == 2


def test_a_report_merged_into_an_accepted_case_is_told_at_once():
    merged = merge_report(acknowledged(), "E2", Reporter(ReporterKind.COMPLAINANT, "web"), at(30))
    [feedback] = merged.of_type(Feedback)
    assert feedback.reason is FeedbackReason.MERGED and feedback.report_id == "E2" and "accepted" in feedback.message


def test_lifecycle_events_carry_the_new_version():
    case = new_case()
    outcome = ok(case, NoticeKind.ACKNOWLEDGE, "env")
    assert {e.version for e in outcome.of_type(LifecycleEvent)} == {case.version + 1} == {outcome.case.version}


def test_known_departments_may_be_a_callable():
    outcome = apply(new_case(), notice(NoticeKind.ACKNOWLEDGE, "env"), lambda code: code in DEPARTMENTS, at(1))
    assert isinstance(outcome, Outcome) and not isinstance(outcome, Rejection)


def test_extension_request_pauses_the_resolve_clock_until_a_grid_decides():
    requested = ok(acknowledged(), NoticeKind.EXTENSION_REQUEST, "env", reason="lab results take 3 weeks")
    assert requested.case.extension_pending and requested.case.state is CaseState.ACKNOWLEDGED
    [pause] = requested.of_type(SlaCommand)
    assert (pause.action, pause.milestone, pause.pause_reason) == (SlaAction.PAUSE, Milestone.RESOLVE, PauseReason.AWAITING_EXTENSION)
    granted = ok(requested.case, NoticeKind.EXTENSION_DECISION, "town-3", 20, extension=30, reason="complex case")
    assert not granted.case.extension_pending
    assert [(c.action, c.extension_units) for c in granted.of_type(SlaCommand)] == [(SlaAction.RESUME, 0.0), (SlaAction.EXTEND, 30)]
    assert [f.reason for f in granted.of_type(Feedback)] == [FeedbackReason.EXTENDED]
    assert events(granted)[0][0] == "extension_granted"


def test_refused_extension_only_resumes_the_clock():
    requested = ok(acknowledged(), NoticeKind.EXTENSION_REQUEST, "env", reason="need more time").case
    refused = ok(requested, NoticeKind.EXTENSION_DECISION, "village-7", 20, extension=0, reason="not justified")
    assert [c.action for c in refused.of_type(SlaCommand)] == [SlaAction.RESUME] and not refused.of_type(Feedback)
    assert events(refused)[0][0] == "extension_refused"


def test_audit_history_names_its_cause_and_matches_the_contract_kinds():
    opened = open_case("C1", "dust", "letter", "E1", CITIZEN, CHAIN, 4, T0, DEPARTMENTS, "env")
    created, dispatched = opened.of_type(LifecycleEvent)
    assert (created.event, created.before, created.after, created.cause_event_id) == ("created", None, CaseState.RECEIVED, "E1")
    assert dispatched.event == "dispatched"
    transfer = notice(NoticeKind.TRANSFER_REQUEST, "env", reason="not ours")
    moved = apply(opened.case, transfer, DEPARTMENTS, at(5))
    assert moved.of_type(LifecycleEvent)[0].cause_event_id == transfer.notice_id
    rerouted = dispatch(moved.case, "water", (), DEPARTMENTS, at(6), cause_event_id="route-9")
    [event] = rerouted.of_type(LifecycleEvent)
    assert (event.event, event.cause_event_id, event.event_id) == ("rerouted", "route-9", f"C1:{rerouted.case.version}:rerouted")
