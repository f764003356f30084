"""Property tests: random sequences of notices, dispatches and merges never produce an invalid case."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from casekit import CHAIN, DEPARTMENTS, T0, acknowledged, joint, joint_taken_over, new_case, taken_over
from hypothesis import given, settings
from hypothesis import strategies as st

from envgrid.domain.cases import (
    DEFAULT_RULES,
    Case,
    CaseState,
    Feedback,
    LifecycleEvent,
    Notice,
    NoticeKind,
    Outcome,
    Rating,
    Rejection,
    Reporter,
    ReporterKind,
    apply,
    dispatch,
    invariant_violations,
    merge_report,
)
from envgrid.domain.cases.effects import Handover
from envgrid.domain.sla.commands import SlaCommand

UNITS = sorted(DEPARTMENTS) + list(CHAIN) + ["nobody"]
K = NoticeKind
KINDS = [K.ACKNOWLEDGE] * 4 + [K.RESULT] * 5 + [K.PROGRESS, K.ENFORCEMENT_ORDER, K.TRANSFER_REQUEST, K.ESCALATION_REQUEST,
         K.DECLINE, K.EXTENSION_REQUEST, K.EXTENSION_DECISION] + [K.JOINT_ENFORCEMENT_REQUEST, K.CLOSE, K.RATING] * 2  # weighted towards deep states
ROLES = ["lead", "lead", "lead", "task", "task", "handling_grid", "upper_grid", "complainant", "any"]
departments = st.sampled_from(sorted(DEPARTMENTS))


@dataclass(frozen=True)
class Merge:
    reporter: Reporter


@dataclass(frozen=True)
class Dispatch:
    lead: str
    assisting: tuple[str, ...]


notices = st.builds(
    lambda kind, unit, reason, text, target, assisting, extension, rating: ("notice", kind, unit, reason, text, target, assisting,
                                                                          extension, rating),
    st.sampled_from(KINDS), st.sampled_from(ROLES), st.sampled_from(["", "not ours", "not ours"]),
    st.sampled_from(["", "done", "done"]), st.none() | departments, st.lists(departments, max_size=3).map(tuple), st.sampled_from([0.0, 5.0]),
    st.none() | st.sampled_from(list(Rating)),
)
merges = st.builds(Merge, st.builds(Reporter, st.sampled_from(list(ReporterKind)), st.sampled_from(["web", "hotline_12345", "village-7"])))
dispatches = st.builds(Dispatch, departments, st.lists(departments, max_size=2).map(tuple))
starts = st.sampled_from([new_case, acknowledged, joint, taken_over, joint_taken_over]).map(lambda make: make())
actions = st.lists(st.one_of(notices, notices, notices, notices, merges, dispatches), max_size=40)
taken_over_starts = st.sampled_from([taken_over, joint_taken_over]).map(lambda make: make())
GRID_ACKNOWLEDGES = ("notice", K.ACKNOWLEDGE, "handling_grid", "", "", None, (), 0.0, None)


def run(case: Case, script):
    """Apply the script; yield (before, result) for every step."""
    report_ids = iter(range(2, 10_000))
    for minute, action in enumerate(script, start=1):
        now = T0 + timedelta(minutes=minute)
        if isinstance(action, Merge):
            result = merge_report(case, f"E{next(report_ids)}", action.reporter, now)
        elif isinstance(action, Dispatch):
            result = dispatch(case, action.lead, action.assisting, DEPARTMENTS, now)
        else:
            _, kind, role, reason, text, target, assisting, extension, rating = action
            unit = sender(case, "complainant" if kind is K.RATING and role != "any" else role, minute)
            result = apply(case, Notice(f"n{minute}", case.case_id, kind, unit, reason, target, assisting, text, extension, rating),
                           DEPARTMENTS, now)
        yield case, result, action
        if isinstance(result, Outcome):
            case = result.case


def sender(case: Case, role: str, seed: int) -> str:
    """Pick the sender by role so that random scripts reach deep states, not only rejections."""
    open_tasks = [t.unit for t in case.open_tasks] or [t.unit for t in case.tasks]
    if role == "lead" and case.lead_department:
        return case.lead_department
    if role == "task" and open_tasks:
        return open_tasks[seed % len(open_tasks)]
    if role == "handling_grid":
        return case.handling_grid
    if role == "upper_grid":
        return case.supervising_grid
    if role == "complainant":
        return case.reports[seed % len(case.reports)].report_id
    return UNITS[seed % len(UNITS)]


@settings(max_examples=300, deadline=None)
@given(starts, actions)
def test_random_sequences_keep_every_invariant(start, script):
    for before, result, _ in run(start, script):
        if isinstance(result, Rejection):
            assert result.code and result.message
            continue
        after = result.case
        assert invariant_violations(after) == [], (after, result.effects)
        assert after.version == before.version + 1
        lifecycle = result.of_type(LifecycleEvent)
        assert lifecycle, "every applied change is in the audit history"
        assert lifecycle[0].before is before.state and lifecycle[-1].after is after.state
        assert all(e.version == after.version for e in lifecycle)
        for command in result.of_type(SlaCommand):
            assert command.case_id == after.case_id and command.handler_unit and command.supervising_grid


@settings(max_examples=200, deadline=None)
@given(taken_over_starts, actions)
def test_a_grid_handling_a_case_left_without_lead_keeps_every_invariant(start, script):
    """The take-over-then-acknowledge path, every time: the grid itself answers for the case until a lead is named."""
    for _, result, _ in run(start, [GRID_ACKNOWLEDGES, *script]):
        if isinstance(result, Rejection):
            continue
        after = result.case
        assert invariant_violations(after) == [], (after, result.effects)
        if after.handled_by_grid:
            assert after.lead_department is None and after.handler_unit == after.handling_grid
            assert {f.handler_unit for f in result.of_type(Feedback)} <= {after.handling_grid}
            assert {c.handler_unit for c in result.of_type(SlaCommand)} <= {after.handling_grid}


@settings(max_examples=300, deadline=None)
@given(starts, actions)
def test_closing_requires_every_joint_task_done(start, script):
    for _, result, _ in run(start, script):
        if isinstance(result, Outcome) and result.case.state in (CaseState.CLOSED, CaseState.RESOLVED):
            assert all(task.done for task in result.case.tasks)


@settings(max_examples=300, deadline=None)
@given(starts, actions)
def test_feedback_reaches_every_linked_reporter(start, script):
    for _, result, action in run(start, script):
        if not isinstance(result, Outcome) or isinstance(action, Merge):
            continue
        feedback = result.of_type(Feedback)
        if feedback:
            linked = {(r.reporter, r.report_id) for r in result.case.reports}
            assert linked <= {(f.recipient, f.report_id) for f in feedback}


@settings(max_examples=200, deadline=None)
@given(starts, actions)
def test_a_finished_case_takes_only_ratings_and_leaves_only_by_a_reopen(start, script):
    for before, result, action in run(start, script):
        if not before.finished or isinstance(result, Rejection):
            continue
        assert action[0] == "notice" and action[1] is K.RATING, (action, result)
        assert before.state is CaseState.CLOSED  # a declined case was never resolved: nothing to rate
        after = result.case
        rating = after.ratings[-1]
        if not after.finished:  # 重办: dissatisfied, in time, and not reopened as often as the rules allow yet
            assert rating.reopened and rating.rating == Rating.DISSATISFIED and after.reopens <= DEFAULT_RULES.max_reopens
            assert after.state is CaseState.IN_PROGRESS and after.resolved_at is None
        else:
            assert not rating.reopened and after.state is CaseState.CLOSED


@settings(max_examples=200, deadline=None)
@given(st.lists(departments, min_size=1, max_size=8))
def test_transfers_never_exceed_the_limit_without_reaching_a_grid(targets):
    case = new_case("env")
    for minute, target in enumerate(targets, start=1):
        now = T0 + timedelta(minutes=minute)
        if case.lead_department is None:
            break
        result = apply(case, Notice(f"t{minute}", "C1", NoticeKind.TRANSFER_REQUEST, case.lead_department, "not ours"), DEPARTMENTS, now)
        assert isinstance(result, Outcome)
        case = result.case
        if case.state is CaseState.TRANSFERRED:
            redispatched = dispatch(case, target, (), DEPARTMENTS, now)
            assert isinstance(redispatched, Outcome)
            case = redispatched.case
        if case.state is CaseState.ESCALATED:
            break
    plain_transfers = [t for t in case.transfers if t.to_parent_grid is None]
    assert len(plain_transfers) <= 2


def _resolved(close: bool, merged: bool) -> Case:
    case = acknowledged()
    if merged:
        linked = merge_report(case, "E2", Reporter(ReporterKind.COMPLAINANT, "web"), T0 + timedelta(minutes=5))
        assert isinstance(linked, Outcome)
        case = linked.case
    done = apply(case, Notice("r0", "C1", K.RESULT, "env", text="done"), DEPARTMENTS, T0 + timedelta(minutes=9))
    assert isinstance(done, Outcome)
    if not close:
        return done.case
    closed = apply(done.case, Notice("c0", "C1", K.CLOSE, "env"), DEPARTMENTS, T0 + timedelta(minutes=10))
    assert isinstance(closed, Outcome)
    return closed.case


done_starts = st.builds(_resolved, st.booleans(), st.booleans())
after_results = st.lists(st.tuples(
    st.sampled_from([K.RATING] * 4 + [K.RESULT, K.CLOSE, K.PROGRESS]),
    st.sampled_from(["E1", "E2", "env", "village-7"]),  # the complainants (E2 only when merged), the lead, a grid
    st.none() | st.sampled_from(list(Rating)),
    st.integers(min_value=0, max_value=20 * 24 * 60),   # minutes after the previous step: across the reopen window
), max_size=12)


@settings(max_examples=300, deadline=None)
@given(done_starts, after_results)
def test_ratings_keep_every_invariant_and_reopen_exactly_as_the_rules_say(start, script):
    case, now = start, T0 + timedelta(minutes=10)
    for step, (kind, unit, grade, wait) in enumerate(script):
        now += timedelta(minutes=wait)
        result = apply(case, Notice(f"a{step}", "C1", kind, unit, text="done", rating=grade), DEPARTMENTS, now)
        if isinstance(result, Rejection):
            continue
        after = result.case
        assert invariant_violations(after) == [], (after, result.effects)
        if kind is not K.RATING:
            case = after
            continue
        complainant = any(r.report_id == unit and r.reporter.kind is ReporterKind.COMPLAINANT for r in case.reports)
        assert complainant and grade is not None and case.state in (CaseState.RESOLVED, CaseState.CLOSED)
        assert case.resolved_at is not None
        should_reopen = (grade is Rating.DISSATISFIED and case.reopens < DEFAULT_RULES.max_reopens
                         and now <= case.resolved_at + DEFAULT_RULES.reopen_within)
        kinds = [e.event for e in result.of_type(LifecycleEvent)]
        assert after.ratings[-1].rating == grade.value and len(after.ratings) == len(case.ratings) + 1
        if should_reopen:
            assert after.state is CaseState.IN_PROGRESS and after.reopens == case.reopens + 1 and kinds[-1] == "reopened"
            assert {h.unit for h in result.of_type(Handover)} >= {after.lead_department, after.handling_grid}
        else:
            assert after.state is case.state and after.reopens == case.reopens and kinds == ["rated"]
        case = after
