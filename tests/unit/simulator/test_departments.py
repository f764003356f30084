"""The department simulator's scripts: deterministic, shares as profiled, and accepted by the real case state machine.

`_run_case` plays the router: it opens the case from the first copy, feeds every copy's notices to
`envgrid.domain.cases.apply` in delay order, and after a transfer or escalation re-dispatches the next revision
the way the pipeline would (source_event_id = the notice that caused it).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from fastavro.validation import validate

from envgrid.connectors.contracts import load_event
from envgrid.connectors.records import notice_of
from envgrid.connectors.samples import sample_events
from envgrid.domain.cases import (
    Case,
    CaseState,
    Notice,
    NoticeKind,
    Rejection,
    Reporter,
    ReporterKind,
    apply,
    dispatch,
    invariant_violations,
    open_case,
)
from envgrid.domain.departments import department_codes
from envgrid.simulator import department_timing as timing
from envgrid.simulator.departments import (
    DEFAULT_PROFILE,
    Behaviour,
    PlannedNotice,
    ResponseProfile,
    behaviour_of,
    case_script,
    respond,
)
from envgrid.simulator.reference import category_codes, lead_departments

KNOWN = department_codes()
CHANNELS = ("HOTLINE_12345", "HOTLINE_12369", "PATROL", "WEB", "LETTER", "VISIT", "OTHER")
N = 5000


def _dispatch(rng: random.Random, index: int) -> dict[str, Any]:
    """A synthetic revision-0 lead copy: sample CaseDispatched with varied lead, category, channel, chain, time."""
    record = sample_events()["CaseDispatched"]
    category = rng.choice(category_codes())
    lead = rng.choice(KNOWN) if rng.random() < 0.3 else lead_departments(category, record["dispatched_at"].date())[0]
    pool = [d for d in KNOWN if d != lead]
    chain = record["decision"]["grid_chain"][rng.choice((0, 0, 0, 1, 2, 3)):]
    record.update(case_id=f"CASE-{index:06d}", category=category, channel=rng.choice(CHANNELS),
                  dispatched_at=record["dispatched_at"] + timedelta(minutes=rng.randrange(0, 60 * 24 * 30)),
                  target={"kind": "DEPARTMENT", "code": lead, "role": "LEAD"})
    record["decision"].update(grid_chain=chain, handling_level=rng.randint(1, chain[0]["level"]), lead_department=lead,
                              assisting_departments=rng.sample(pool, rng.choice((0, 0, 1, 1, 2))))
    return record


def _copies(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Every copy of this revision, targeted as envgrid.domain.routing.decide does (lead, assisting, district grid, city)."""
    decision = record["decision"]
    targets = []
    if decision["lead_department"]:
        targets.append(("DEPARTMENT", decision["lead_department"], "LEAD"))
    targets += [("DEPARTMENT", d, "ASSISTING") for d in decision["assisting_departments"]]
    targets += [("GRID", g["code"], "OWNING_GRID") for g in decision["grid_chain"] if g["level"] == 2]
    if decision["handling_level"] == 1:
        targets.append(("GRID", decision["grid_chain"][-1]["code"], "OWNING_GRID"))
    unique = dict.fromkeys(targets)
    return [{**record, "target": {"kind": k, "code": c, "role": r}} for k, c, r in unique]


def _script_of_all_copies(record: dict[str, Any], seed: int) -> list[PlannedNotice]:
    return sorted((p for copy in _copies(record) for p in respond(copy, seed=seed)), key=lambda p: p.delay)


def _open(first: dict[str, Any]) -> Case:
    decision = first["decision"]
    opened = open_case(first["case_id"], first["category"], first["channel"].lower(), first["source_event_id"],
                       Reporter(ReporterKind.COMPLAINANT, first["channel"].lower()),
                       [g["code"] for g in decision["grid_chain"]], decision["handling_level"], first["dispatched_at"],
                       KNOWN, decision["lead_department"], tuple(decision["assisting_departments"]))
    assert not isinstance(opened, Rejection), opened
    return opened.case


def _run_case(first: dict[str, Any], seed: int = 0) -> tuple[Case, list[Rejection], list[Behaviour]]:
    return _play(_open(first), first, seed)


def _taken_over(first: dict[str, Any]) -> tuple[Case, dict[str, Any]]:
    """The lead transfers and the router sends the case straight back: the parent grid takes it over without lead."""
    case, lead = _open(first), first["decision"]["lead_department"]
    at = first["dispatched_at"] + timedelta(hours=2)
    moved = apply(case, Notice("transfer", case.case_id, NoticeKind.TRANSFER_REQUEST, lead, reason="not ours"), KNOWN, at)
    looped = dispatch(moved.case, lead, (), KNOWN, at + timedelta(minutes=5))
    assert looped.case.state is CaseState.ESCALATED and looped.case.lead_department is None, looped
    record = {**first, "revision": 1, "dispatched_at": at + timedelta(minutes=5), "source_event_id": "transfer",
              "decision": {**first["decision"], "handling_level": looped.case.handling_level, "lead_department": None,
                           "assisting_departments": []}}
    return looped.case, record


def _play(case: Case, record: dict[str, Any], seed: int) -> tuple[Case, list[Rejection], list[Behaviour]]:
    """Feed every copy's notices of each revision to the domain, re-dispatching as the router would, until done."""
    rejections: list[Rejection] = []
    behaviours: list[Behaviour] = []
    for _ in range(6):
        behaviours.append(behaviour_of(record, seed=seed))
        script = _script_of_all_copies(record, seed)
        assert [p.notice["event_id"] for p in script] == [p.notice["event_id"] for p in case_script(record, seed=seed)]
        for planned in script:
            outcome = apply(case, notice_of(planned.notice), KNOWN, planned.notice["occurred_at"])
            if isinstance(outcome, Rejection):
                rejections.append(outcome)
            else:
                case = outcome.case
                assert not invariant_violations(case), invariant_violations(case)
        if case.finished or not script:
            break
        last = script[-1].notice
        at = last["received_at"] + timedelta(minutes=5)
        if case.state is CaseState.TRANSFERRED:
            outcome = dispatch(case, last["suggested_department"], (), KNOWN, at)
            assert not isinstance(outcome, Rejection), outcome
            case = outcome.case
        assert case.state in (CaseState.DISPATCHED, CaseState.ESCALATED), case.state
        record = {**record, "revision": record["revision"] + 1, "dispatched_at": at, "source_event_id": last["event_id"],
                  "decision": {**record["decision"], "handling_level": case.handling_level,
                               "lead_department": case.lead_department,
                               "assisting_departments": list(case.assisting_departments)}}
    return case, rejections, behaviours


@pytest.fixture(scope="module")
def dispatches() -> list[dict[str, Any]]:
    rng = random.Random(12345)
    return [_dispatch(rng, i) for i in range(N)]


@pytest.fixture(scope="module")
def runs(dispatches) -> list[tuple[Case, list[Rejection], list[Behaviour]]]:
    return [_run_case(record) for record in dispatches]


def test_respond_is_deterministic_per_seed_and_copy(dispatches):
    for record in dispatches[:300]:
        for copy in _copies(record):
            assert respond(copy, seed=7) == respond(dict(copy), seed=7)
    differing = sum(respond(r, seed=1) != respond(r, seed=2) for r in dispatches[:200])
    assert differing > 150


def test_notices_are_complete_records_with_consistent_times(dispatches):
    parsed = load_event("DepartmentNotice").parsed
    ids: set[str] = set()
    for record in dispatches[:1000]:
        for copy in _copies(record):
            for planned in respond(copy):
                notice = planned.notice
                validate(notice, parsed, raise_errors=True)
                assert notice["occurred_at"] == record["dispatched_at"] + planned.delay
                assert timedelta(0) < notice["received_at"] - notice["occurred_at"] <= timedelta(seconds=30)
                assert planned.delay.microseconds == 0
                assert notice["event_id"] not in ids
                ids.add(notice["event_id"])


def test_shares_follow_the_profile(dispatches):
    counts = Counter(behaviour_of(r) for r in dispatches)
    expected = {Behaviour.SILENT: DEFAULT_PROFILE.silent, Behaviour.TRANSFER: DEFAULT_PROFILE.transfer,
                Behaviour.ESCALATE: DEFAULT_PROFILE.escalate, Behaviour.JOINT: DEFAULT_PROFILE.joint,
                Behaviour.ENFORCEMENT_ORDER: DEFAULT_PROFILE.enforcement_order, Behaviour.LATE: DEFAULT_PROFILE.late,
                Behaviour.EXTENSION: DEFAULT_PROFILE.extension}
    expected[Behaviour.NORMAL] = 1 - sum(expected.values())
    for behaviour, share in expected.items():
        sigma = (share * (1 - share) / N) ** 0.5
        assert abs(counts[behaviour] / N - share) < 4 * sigma + 0.002, (behaviour, counts[behaviour])
    retransfers = Counter(behaviour_of({**r, "revision": 1}) for r in dispatches)[Behaviour.TRANSFER]
    assert 0.004 < retransfers / N < 0.018
    assert Counter(behaviour_of({**r, "revision": 2}) for r in dispatches)[Behaviour.TRANSFER] == 0


def test_scripts_match_their_behaviour(dispatches):
    for record in dispatches[:2000]:
        behaviour, script = behaviour_of(record), case_script(record)
        kinds = [p.notice["kind"] for p in script]
        assert [p.delay for p in script] == sorted(p.delay for p in script)
        if behaviour is Behaviour.SILENT:
            assert kinds == []
            continue
        if behaviour is not Behaviour.TRANSFER:
            assert kinds[0] == "ACKNOWLEDGE"
        marker = {Behaviour.TRANSFER: "TRANSFER_REQUEST", Behaviour.ESCALATE: "ESCALATION_REQUEST",
                  Behaviour.JOINT: "JOINT_ENFORCEMENT_REQUEST", Behaviour.ENFORCEMENT_ORDER: "ENFORCEMENT_ORDER",
                  Behaviour.EXTENSION: "EXTENSION_REQUEST"}.get(behaviour)
        if marker:
            assert marker in kinds
        if behaviour in (Behaviour.NORMAL, Behaviour.LATE):
            assert kinds[0] == "ACKNOWLEDGE" and kinds[-2:] == ["RESULT", "CLOSE"]
            took = script[-2].delay - script[0].delay
            usual_max, late_min = timing.resolve_days(record["channel"])[1], timing.resolve_days(record["channel"])[2]
            if behaviour is Behaviour.LATE:
                assert took >= timedelta(days=late_min)
            else:
                assert took <= timedelta(days=usual_max, hours=1)
        if behaviour is Behaviour.TRANSFER:
            notice = script[-1].notice
            assert notice["suggested_department"] in KNOWN and notice["suggested_department"] != record["target"]["code"]
            assert notice["reason"]


def test_hotline_acknowledgements_come_within_working_hours(dispatches):
    from envgrid.domain.sla.policy import load_sla_policies
    from envgrid.domain.sla.worktime import TimeBasis, WorkTime

    hotline = [r for r in dispatches if r["channel"].startswith("HOTLINE")]
    acknowledged = [(r, s[0].delay) for r, s in zip(hotline, map(case_script, hotline), strict=True)
                    if s and s[0].notice["kind"] == "ACKNOWLEDGE"]
    delays = [delay for _, delay in acknowledged]
    assert all(timedelta(minutes=15) <= d <= timedelta(days=3, hours=6) for d in delays)
    worktime = WorkTime(office_periods=load_sla_policies().office_periods)
    within = [worktime.counted(TimeBasis.WORKING_HOURS, r["dispatched_at"], r["dispatched_at"] + delay).amount
              <= timedelta(hours=2) for r, delay in acknowledged]
    # config/sla.yaml: hotline acknowledge within 2 working hours
    assert 0.85 < sum(within) / len(within) < 0.995  # most in time, some late (warnings and breaches)


def test_every_script_is_accepted_by_the_case_state_machine(dispatches, runs):
    outcomes: Counter[str] = Counter()
    seen: Counter[Behaviour] = Counter()
    for record, (case, rejections, behaviours) in zip(dispatches, runs, strict=True):
        assert rejections == [], (record["case_id"], behaviours, rejections)
        seen.update(behaviours)
        outcomes[case.state.value] += 1
        if behaviours[-1] is Behaviour.SILENT:
            assert not case.finished
        else:
            assert case.state is CaseState.CLOSED, (record["case_id"], behaviours, case.state)
    assert seen[Behaviour.GRID_HANDLES] > 100 and seen[Behaviour.JOINT] > 200
    assert outcomes["closed"] > 0.85 * N


def test_transfers_bounce_sometimes_and_loops_end_with_the_parent_grid(runs):
    retransferred = [case for case, _, behaviours in runs if behaviours[:2] == [Behaviour.TRANSFER, Behaviour.TRANSFER]]
    assert 0 < len(retransferred) < 0.01 * N
    loops = [case for case in retransferred if any(t.to_parent_grid for t in case.transfers)]
    assert loops and all(case.state is CaseState.CLOSED and (case.handled_by_grid or case.lead_department) for case in loops)


def test_a_grid_that_takes_a_case_over_acknowledges_it_and_handles_it_or_still_coordinates_joint_enforcement(dispatches):
    outcomes: Counter[tuple[Behaviour, bool]] = Counter()
    for record in dispatches[:1000]:
        case, revision = _taken_over(record)
        behaviour = behaviour_of(revision)
        script = case_script(revision)
        case, rejections, _ = _play(case, revision, seed=0)
        assert rejections == [], (record["case_id"], behaviour, rejections)
        if behaviour is Behaviour.SILENT:
            continue
        kinds = [p.notice["kind"] for p in script]
        assert kinds[0] == "ACKNOWLEDGE" and script[0].notice["unit_kind"] == "GRID" and kinds[-1] == "CLOSE"
        assert ("JOINT_ENFORCEMENT_REQUEST" in kinds) == (behaviour is Behaviour.GRID_COORDINATES)
        assert case.state is CaseState.CLOSED
        outcomes[behaviour, case.handled_by_grid] += 1
    handled, coordinated = outcomes[Behaviour.GRID_HANDLES, True], outcomes[Behaviour.GRID_COORDINATES, False]
    assert set(outcomes) == {(Behaviour.GRID_HANDLES, True), (Behaviour.GRID_COORDINATES, False)}
    assert 0.15 < coordinated / (handled + coordinated) < 0.35  # DEFAULT_PROFILE.takeover_joint of them


def test_only_the_right_copies_answer(dispatches):
    for record in dispatches[:1500]:
        behaviour = behaviour_of(record)
        for copy in _copies(record):
            notices = [p.notice for p in respond(copy)]
            if copy["target"]["role"] == "ASSISTING":
                assert all(n["kind"] == "RESULT" and n["unit_code"] == copy["target"]["code"] for n in notices)
                assert bool(notices) == (behaviour is Behaviour.JOINT)
            if copy["target"]["role"] == "OWNING_GRID":
                assert all(n["kind"] == "EXTENSION_DECISION" for n in notices)
        triage = {**record, "target": {"kind": "TRIAGE", "code": "330300", "role": "TRIAGE"}}
        assert respond(triage) == []
        no_lead = {**record, "decision": {**record["decision"], "lead_department": None, "assisting_departments": []}}
        assert all(respond(copy) == [] for copy in _copies(no_lead))


def test_a_profile_can_make_every_unit_silent_or_reject_bad_shares(dispatches):
    quiet = ResponseProfile(silent=1.0, transfer=0, escalate=0, joint=0, enforcement_order=0, late=0, extension=0)
    assert all(respond(r, profile=quiet) == [] for r in dispatches[:200])
    with pytest.raises(ValueError):
        ResponseProfile(silent=0.6, transfer=0.6)
    with pytest.raises(ValueError):
        ResponseProfile(takeover_joint=-0.1)
