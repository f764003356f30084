"""Complainants rate results (满意率), and a dissatisfied one in time sends the case back to its handler (重办)."""
from __future__ import annotations

from datetime import timedelta

from casekit import CHAIN, CITIZEN, DEPARTMENTS, PATROL_UNIT, acknowledged, at, new_case, ok, send

from envgrid.domain.cases import (
    CaseState,
    Feedback,
    FeedbackAudience,
    FeedbackReason,
    LifecycleEvent,
    LifecycleKind,
    Notice,
    NoticeKind,
    Outcome,
    Rating,
    Rejection,
    RejectionCode,
    apply,
    merge_report,
)
from envgrid.domain.cases.effects import Handover, HandoverCause, HandoverChange, HolderRole
from envgrid.domain.cases.lifecycle import DEFAULT_RULES
from envgrid.domain.sla.commands import Milestone, SlaAction, SlaCommand

COMPLAINANT = "E1"  # the complainant is named by their report's id (casekit's new_case opens C1 from report E1)
DAY = 24 * 60


def closed(minutes: int = 30):
    resolved = ok(acknowledged(), NoticeKind.RESULT, "env", minutes - 10, text="已责令停工")
    return ok(resolved.case, NoticeKind.CLOSE, "env", minutes).case


def rate(case, grade: Rating | None, minutes: int, unit: str = COMPLAINANT, text: str = ""):
    return send(case, NoticeKind.RATING, unit, minutes, rating=grade, text=text)


def kinds(outcome: Outcome) -> list[LifecycleKind]:
    return [e.event for e in outcome.of_type(LifecycleEvent)]


def test_a_satisfied_rating_is_recorded_and_the_case_stays_closed():
    case = closed()
    rated = rate(case, Rating.BASICALLY_SATISFIED, 60, text="还行")
    assert isinstance(rated, Outcome)
    assert rated.case.state is CaseState.CLOSED and rated.case.version == case.version + 1
    assert [(r.report_id, r.rating, r.reopened) for r in rated.case.ratings] == [(COMPLAINANT, "basically_satisfied", False)]
    (event,) = rated.of_type(LifecycleEvent)
    assert event.event is LifecycleKind.RATED and event.unit == COMPLAINANT
    assert dict(event.details) == {"rating": "basically_satisfied", "rater_report": COMPLAINANT}
    assert not rated.of_type(Handover) and not rated.of_type(SlaCommand) and not rated.of_type(Feedback)


def test_a_dissatisfied_rating_in_time_reopens_the_case_for_the_same_holders():
    case = closed()
    reopened = rate(case, Rating.DISSATISFIED, 2 * DAY, text="噪声依旧")
    assert isinstance(reopened, Outcome)
    after = reopened.case
    assert kinds(reopened) == [LifecycleKind.RATED, LifecycleKind.REOPENED]
    assert after.state is CaseState.IN_PROGRESS and after.resolved_at is None and after.closed_at is None
    assert after.lead_department == "env" and after.reopens == 1
    assigned = {(h.unit, h.role, h.change, h.cause) for h in reopened.of_type(Handover)}
    assert assigned == {("env", HolderRole.LEAD, HandoverChange.ASSIGNED, HandoverCause.REOPENED),
                        (CHAIN[0], HolderRole.HANDLING_GRID, HandoverChange.ASSIGNED, HandoverCause.REOPENED)}
    assert all("噪声依旧" in h.reason and h.version == after.version for h in reopened.of_type(Handover))
    assert [(c.action, c.milestone) for c in reopened.of_type(SlaCommand)] == [(SlaAction.START, Milestone.RESOLVE)]
    told = {(f.audience, f.recipient.address) for f in reopened.of_type(Feedback) if f.reason is FeedbackReason.REOPENED}
    assert told == {(FeedbackAudience.COMPLAINANT, CITIZEN.address), (FeedbackAudience.SUPERVISING_GRID, after.supervising_grid)}
    # the lead does it again, closes it again, and the complainant is content this time
    redone = ok(ok(after, NoticeKind.RESULT, "env", 3 * DAY, text="已安装隔音屏").case, NoticeKind.CLOSE, "env", 3 * DAY + 5).case
    content = rate(redone, Rating.SATISFIED, 4 * DAY)
    assert isinstance(content, Outcome) and content.case.state is CaseState.CLOSED
    assert [r.rating for r in content.case.ratings] == ["dissatisfied", "satisfied"]


def test_a_case_is_reopened_at_most_as_often_as_the_rules_allow():
    once = rate(closed(), Rating.DISSATISFIED, DAY)
    assert isinstance(once, Outcome)
    redone = ok(ok(once.case, NoticeKind.RESULT, "env", DAY + 10, text="再次处理").case, NoticeKind.CLOSE, "env", DAY + 20).case
    again = rate(redone, Rating.DISSATISFIED, DAY + 60)
    assert isinstance(again, Outcome) and kinds(again) == [LifecycleKind.RATED]
    assert again.case.state is CaseState.CLOSED and again.case.reopens == DEFAULT_RULES.max_reopens == 1
    assert "the most the rules allow" in again.of_type(LifecycleEvent)[0].reason


def test_a_dissatisfied_rating_after_the_reopen_window_is_recorded_only():
    late = int((DEFAULT_RULES.reopen_within + timedelta(minutes=1)) / timedelta(minutes=1)) + 20
    rated = rate(closed(), Rating.DISSATISFIED, late)
    assert isinstance(rated, Outcome) and kinds(rated) == [LifecycleKind.RATED]
    assert rated.case.state is CaseState.CLOSED and [r.reopened for r in rated.case.ratings] == [False]
    assert f"later than {DEFAULT_RULES.reopen_within.days} days" in rated.of_type(LifecycleEvent)[0].reason


def test_a_resolved_case_not_yet_closed_can_be_rated_and_reopened():
    resolved = ok(acknowledged(), NoticeKind.RESULT, "env", 20, text="done").case
    reopened = rate(resolved, Rating.DISSATISFIED, 60)
    assert isinstance(reopened, Outcome) and reopened.case.state is CaseState.IN_PROGRESS


def test_only_a_complainant_of_the_case_rates_it_and_only_a_result():
    case = closed()
    for unit in ("env", CHAIN[0], "E99"):  # a department, a grid, someone else's report
        refused = rate(case, Rating.SATISFIED, 60, unit=unit)
        assert isinstance(refused, Rejection) and refused.code is RejectionCode.NOT_REPORTER, refused
    patrol = ok(ok(ok(new_case(reporter=PATROL_UNIT), NoticeKind.ACKNOWLEDGE, "env").case, NoticeKind.RESULT, "env",
                   20, text="done").case, NoticeKind.CLOSE, "env", 30).case
    refused = rate(patrol, Rating.SATISFIED, 60)
    assert isinstance(refused, Rejection) and refused.code is RejectionCode.NOT_REPORTER
    early = rate(acknowledged(), Rating.SATISFIED, 60)
    assert isinstance(early, Rejection) and early.code is RejectionCode.INVALID_TRANSITION
    no_grade = rate(case, None, 60)
    assert isinstance(no_grade, Rejection) and no_grade.code is RejectionCode.MISSING_FIELD


def test_a_merged_complainant_rates_too_and_a_replayed_rating_is_a_duplicate():
    merged = merge_report(acknowledged(), "E2", CITIZEN, at(15))
    assert isinstance(merged, Outcome)
    case = ok(ok(merged.case, NoticeKind.RESULT, "env", 20, text="done").case, NoticeKind.CLOSE, "env", 30).case
    rated = rate(case, Rating.SATISFIED, 60, unit="E2")
    assert isinstance(rated, Outcome)
    redelivered = Notice(rated.case.recent_notice_ids[-1], "C1", NoticeKind.RATING, "E2", rating=Rating.SATISFIED)
    again = apply(rated.case, redelivered, DEPARTMENTS, at(61))
    assert isinstance(again, Rejection) and again.code is RejectionCode.DUPLICATE_NOTICE
