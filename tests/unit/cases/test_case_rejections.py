"""Every rejection: the notice is not applied and the reason code says why."""
from __future__ import annotations

import pytest
from casekit import CITIZEN, DEPARTMENTS, T0, acknowledged, at, joint, new_case, notice, ok, send, taken_over

from envgrid.domain.cases import (
    CaseState,
    NoticeKind,
    Rejection,
    RejectionCode,
    Reporter,
    ReporterKind,
    apply,
    dispatch,
    merge_report,
    open_case,
)
from envgrid.domain.cases.notices import FROM_COMPLAINANTS


def rejected(outcome) -> RejectionCode:
    assert isinstance(outcome, Rejection), outcome
    assert outcome.message and outcome.case_id == "C1"
    return outcome.code


def test_unknown_case():
    outcome = apply(None, notice(NoticeKind.ACKNOWLEDGE, "env"), DEPARTMENTS, T0)
    assert rejected(outcome) is RejectionCode.UNKNOWN_CASE


def test_notice_for_another_case():
    assert rejected(send(new_case(), NoticeKind.ACKNOWLEDGE, "env", case_id="C2")) is RejectionCode.CASE_MISMATCH


def test_unknown_unit():
    assert rejected(send(new_case(), NoticeKind.ACKNOWLEDGE, "nobody")) is RejectionCode.UNKNOWN_UNIT


def test_known_department_not_assigned():
    assert rejected(send(new_case(), NoticeKind.PROGRESS, "police")) is RejectionCode.NOT_ASSIGNED


def test_assisting_department_cannot_act_as_lead():
    case = dispatch(open_case("C1", "dust", "web", "E1", CITIZEN, ("town-3", "d", "c"), 3, T0).case,
                    "env", ("urban",), DEPARTMENTS, at(1)).case
    assert rejected(send(case, NoticeKind.ACKNOWLEDGE, "urban")) is RejectionCode.NOT_LEAD
    assert rejected(send(case, NoticeKind.TRANSFER_REQUEST, "urban", reason="x")) is RejectionCode.NOT_LEAD
    assert rejected(send(case, NoticeKind.DECLINE, "urban", reason="x")) is RejectionCode.NOT_LEAD


def test_result_for_a_case_never_acknowledged():
    assert rejected(send(new_case(), NoticeKind.RESULT, "env", text="done")) is RejectionCode.NOT_ACKNOWLEDGED


@pytest.mark.parametrize("kind", [NoticeKind.PROGRESS, NoticeKind.ENFORCEMENT_ORDER, NoticeKind.JOINT_ENFORCEMENT_REQUEST])
def test_work_before_acknowledgement(kind):
    outcome = send(new_case(), kind, "env", text="x", assisting_departments=("urban",))
    assert rejected(outcome) is RejectionCode.NOT_ACKNOWLEDGED


def test_acknowledge_twice():
    assert rejected(send(acknowledged(), NoticeKind.ACKNOWLEDGE, "env")) is RejectionCode.INVALID_TRANSITION


def test_close_before_resolution():
    assert rejected(send(acknowledged(), NoticeKind.CLOSE, "env")) is RejectionCode.INVALID_TRANSITION


def test_close_with_joint_tasks_open():
    case = ok(joint(), NoticeKind.RESULT, "urban", text="sealed").case
    assert rejected(send(case, NoticeKind.CLOSE, "env")) is RejectionCode.JOINT_TASKS_OPEN


def test_lead_result_in_joint_handling_only_closes_its_own_task():
    case = ok(joint(), NoticeKind.RESULT, "env", text="fined").case
    assert case.state is CaseState.JOINT_HANDLING
    assert rejected(send(case, NoticeKind.RESULT, "env", text="again")) is RejectionCode.TASK_ALREADY_DONE


def test_result_from_a_unit_without_a_task():
    assert rejected(send(joint(), NoticeKind.RESULT, "village-7", text="x")) is RejectionCode.NOT_ASSIGNED


@pytest.mark.parametrize("kind, fields", [
    (NoticeKind.TRANSFER_REQUEST, {}),
    (NoticeKind.ESCALATION_REQUEST, {}),
    (NoticeKind.RESULT, {}),
    (NoticeKind.ENFORCEMENT_ORDER, {}),
    (NoticeKind.JOINT_ENFORCEMENT_REQUEST, {"assisting_departments": ()}),
])
def test_missing_fields(kind, fields):
    assert rejected(send(acknowledged(), kind, "env", **fields)) is RejectionCode.MISSING_FIELD


def test_decline_needs_a_reason_and_only_before_acknowledgement():
    assert rejected(send(new_case(), NoticeKind.DECLINE, "env")) is RejectionCode.MISSING_FIELD
    assert rejected(send(acknowledged(), NoticeKind.DECLINE, "env", reason="x")) is RejectionCode.INVALID_TRANSITION


def test_unknown_departments_in_requests():
    case = acknowledged()
    assert rejected(send(case, NoticeKind.TRANSFER_REQUEST, "env", reason="x", target_department="mars")) is RejectionCode.UNKNOWN_DEPARTMENT
    assert rejected(send(case, NoticeKind.JOINT_ENFORCEMENT_REQUEST, "env", assisting_departments=("mars",))) is RejectionCode.UNKNOWN_DEPARTMENT
    assert rejected(dispatch(ok(case, NoticeKind.TRANSFER_REQUEST, "env", reason="x").case, "mars", (), DEPARTMENTS, at(30))) is RejectionCode.UNKNOWN_DEPARTMENT


def test_transfer_during_joint_handling_or_after_transfer():
    assert rejected(send(joint(), NoticeKind.TRANSFER_REQUEST, "env", reason="x")) is RejectionCode.INVALID_TRANSITION
    moved = ok(acknowledged(), NoticeKind.TRANSFER_REQUEST, "env", reason="x").case
    assert rejected(send(moved, NoticeKind.TRANSFER_REQUEST, "env", reason="x")) is RejectionCode.NOT_ASSIGNED


def test_a_grid_handling_a_case_without_lead_cannot_transfer_or_decline_it():
    handled = ok(taken_over(), NoticeKind.ACKNOWLEDGE, "town-3", 30).case
    refused = send(handled, NoticeKind.TRANSFER_REQUEST, "town-3", 40, reason="not ours")
    assert rejected(refused) is RejectionCode.NOT_LEAD and "escalate" in refused.message
    assert rejected(send(handled, NoticeKind.DECLINE, "town-3", 40, reason="x")) is RejectionCode.NOT_LEAD
    assert rejected(send(handled, NoticeKind.PROGRESS, "env", 40, text="x")) is RejectionCode.NOT_ASSIGNED  # it left the case


def test_notices_on_a_finished_case():
    resolved = ok(acknowledged(), NoticeKind.RESULT, "env", text="done").case
    closed = ok(resolved, NoticeKind.CLOSE, "env").case
    for kind in set(NoticeKind) - FROM_COMPLAINANTS:  # a complainant still rates a closed case (test_ratings.py)
        assert rejected(send(closed, kind, "env", reason="x", text="x")) is RejectionCode.CASE_FINISHED
    assert rejected(merge_report(closed, "E9", CITIZEN, at(60))) is RejectionCode.CASE_FINISHED
    assert rejected(dispatch(closed, "env", (), DEPARTMENTS, at(60))) is RejectionCode.CASE_FINISHED


def test_dispatch_of_a_case_already_with_a_lead():
    assert rejected(dispatch(acknowledged(), "water", (), DEPARTMENTS, at(30))) is RejectionCode.INVALID_TRANSITION


def test_redelivered_notice_is_a_duplicate():
    case = new_case()
    first = notice(NoticeKind.ACKNOWLEDGE, "env")
    applied = apply(case, first, DEPARTMENTS, at(1))
    assert rejected(apply(applied.case, first, DEPARTMENTS, at(2))) is RejectionCode.DUPLICATE_NOTICE


def test_same_report_merged_twice():
    assert rejected(merge_report(new_case(), "E1", Reporter(ReporterKind.COMPLAINANT, "web"), at(1))) is RejectionCode.DUPLICATE_REPORT


def test_a_report_merged_again_after_the_case_finished_is_a_duplicate_not_a_refusal():
    """The router re-sends a merge after a restart; the case may have closed since: the case desk must see a
    replay (and answer with what it sent), not a refusal that dead-letters a report already merged."""
    merged = merge_report(ok(acknowledged(), NoticeKind.RESULT, "env", text="done").case, "E7", CITIZEN, at(50))
    assert not isinstance(merged, Rejection)
    closed = ok(merged.case, NoticeKind.CLOSE, "env").case
    assert rejected(merge_report(closed, "E7", CITIZEN, at(70))) is RejectionCode.DUPLICATE_REPORT
    assert rejected(merge_report(closed, "E8", CITIZEN, at(70))) is RejectionCode.CASE_FINISHED


def test_invalid_case_shape():
    assert rejected(open_case("C1", "dust", "web", "E1", CITIZEN, ("town-3", "c"), 3, T0)) is RejectionCode.INVALID_CASE


def test_naive_time_is_a_programming_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        apply(new_case(), notice(NoticeKind.ACKNOWLEDGE, "env"), DEPARTMENTS, T0.replace(tzinfo=None))


def test_rejection_leaves_the_case_untouched():
    case = new_case()
    before = (case.state, case.version)
    send(case, NoticeKind.RESULT, "env", text="x")
    assert (case.state, case.version) == before


def test_extension_rejections():
    case = acknowledged()
    assert rejected(send(case, NoticeKind.EXTENSION_REQUEST, "env")) is RejectionCode.MISSING_FIELD
    assert rejected(send(new_case(), NoticeKind.EXTENSION_REQUEST, "env", reason="x")) is RejectionCode.NOT_ACKNOWLEDGED
    assert rejected(send(case, NoticeKind.EXTENSION_DECISION, "town-3", extension=5)) is RejectionCode.INVALID_TRANSITION
    pending = ok(case, NoticeKind.EXTENSION_REQUEST, "env", reason="x").case
    assert rejected(send(pending, NoticeKind.EXTENSION_REQUEST, "env", reason="x")) is RejectionCode.INVALID_TRANSITION
    assert rejected(send(pending, NoticeKind.EXTENSION_DECISION, "env", extension=5)) is RejectionCode.NOT_LEAD
    assert rejected(send(pending, NoticeKind.EXTENSION_DECISION, "town-3", extension=-1)) is RejectionCode.MISSING_FIELD


def test_a_transfer_lets_a_pending_extension_lapse():
    pending = ok(acknowledged(), NoticeKind.EXTENSION_REQUEST, "env", reason="x").case
    moved = ok(pending, NoticeKind.TRANSFER_REQUEST, "env", 20, reason="not ours").case
    assert not moved.extension_pending
