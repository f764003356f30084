from collections import Counter
from datetime import timedelta

import pytest

from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams.routing_service import Refused
from tests.unit.pipeline.harness import COMMANDS, HISTORY, SLA, InMemoryPipeline, as_input

CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.75, "PatrolReport": 0.25, "DepartmentNotice": 0.0})


@pytest.fixture(scope="module")
def run():
    pipeline = InMemoryPipeline()
    events = list(generate(seed=7, count=1500, config=CONFIG))
    outcomes = [(event, pipeline.report(as_input(event))) for event in events]
    return pipeline, outcomes


def test_every_report_is_opened_merged_or_dead_lettered_exactly_once(run):
    pipeline, outcomes = run
    counts = Counter()
    for event, outcome in outcomes:
        if isinstance(outcome, Refused):
            counts["dead_letter"] += 1
            assert not event.truth.valid or event.truth.broken, f"valid {event.truth} was refused: {outcome}"
        else:
            counts["merged" if outcome.merged else "opened"] += 1
            if event.truth.broken == "outside_city":
                # a patrol report names its own grid, which outranks coordinates (resolution order step 1)
                assert event.kind == "PatrolReport", f"complaint outside the city got through: {event.truth}"
            else:
                assert event.truth.broken is None, f"broken {event.truth.broken} got through"
    assert sum(counts.values()) == len(outcomes) == 1500
    assert counts["merged"] > 0 and counts["dead_letter"] > 0


def test_broken_input_is_refused_with_its_reason(run):
    _, outcomes = run
    reasons = Counter((e.truth.broken, o.reason_code) for e, o in outcomes if isinstance(o, Refused))
    assert {b for b, _ in reasons} == {"invalid_avro", "missing_fields", "unknown_category", "outside_city"}
    for (broken, reason), _count in reasons.items():
        assert broken is not None, f"valid input refused as {reason}"
        expected = {"invalid_avro": "avro_decode_error", "missing_fields": "avro_decode_error",
                    "unknown_category": "unknown_category", "outside_city": "location_outside_city"}[broken]
        assert reason == expected


def test_most_generated_duplicates_merge_into_the_case_of_their_original(run):
    _, outcomes = run
    case_of = {e.truth.event_id: o.case_id for e, o in outcomes if not isinstance(o, Refused)}
    duplicates = [(e, o) for e, o in outcomes if e.truth.duplicate_of and not isinstance(o, Refused)]
    merged_right = [e for e, o in duplicates if o.merged and o.case_id == case_of.get(e.truth.duplicate_of)]
    assert len(duplicates) > 10
    assert len(merged_right) >= 0.6 * len(duplicates)  # a repeat across a township boundary stays its own case


def test_each_opened_case_reaches_its_targets_and_the_history(run):
    pipeline, outcomes = run
    opened = [o for _, o in outcomes if not isinstance(o, Refused) and not o.merged]
    for intake in opened[:200]:
        dispatches = [x for x in intake.outputs if x.event_name == "CaseDispatched" and x.topic != COMMANDS]
        assert dispatches, intake
        assert all(d.key == intake.case_id for d in dispatches)
        assert len({d.topic for d in dispatches}) == len(dispatches)  # one copy per topic
    history_cases = {o.key for o in pipeline.on(HISTORY)}
    assert {o.case_id for o in opened} <= history_cases


def test_cases_left_unanswered_breach_their_deadline_and_escalate(run):
    pipeline, outcomes = run
    last = max(e.value["received_at"] for e, _ in outcomes if e.value)
    pipeline.tick(last)  # sets the cursor
    pipeline.tick(last + timedelta(days=45))
    sla = [o.value for o in pipeline.on(SLA)]
    kinds = Counter((s["kind"], s["milestone"]) for s in sla)
    assert kinds[("BREACH", "acknowledge")] > 0 and kinds[("WARNING", "acknowledge")] > 0
    escalations = [o for o in pipeline.on(HISTORY) if o.value["kind"] == "escalated"]
    assert escalations


def test_stage_two_gets_the_same_answer_with_or_without_stage_one_in_the_process():
    import pickle

    from envgrid.streams.composition import routing_service
    from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER

    def decode(value, topic):
        return pickle.loads(value)

    event = next(e for e in generate(seed=11, count=50, config=CONFIG) if e.truth.valid)
    value = pickle.dumps((event.kind, event.value))
    here = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    first = here.locate(value, "intake")
    assert here.locate_again(value, "located") is first  # remembered
    elsewhere = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    again = elsewhere.locate_again(value, "located")  # a worker that did not run stage 1 works it out
    assert (again.zone, again.decision) == (first.zone, first.decision)


def test_a_redelivered_report_gets_the_same_outputs_again_and_changes_nothing():
    from envgrid.domain.duplicates import IncidentIndex
    from tests.unit.pipeline.harness import InMemoryPipeline

    pipeline = InMemoryPipeline()
    event = next(e for e in generate(seed=12, count=50, config=CONFIG) if e.truth.valid)
    located = pipeline.routing.locate(as_input(event), "intake")
    index = IncidentIndex()
    first = pipeline.routing.open_or_merge(located, index)
    assert first is not None and not first.merged
    again = pipeline.routing.open_or_merge(located, index)  # same report again: the same outputs, no new state
    assert again.redelivered and again.case_id == first.case_id
    assert [(o.topic, o.value) for o in again.outputs] == [(o.topic, o.value) for o in first.outputs]
    assert pipeline.routing.open_or_merge(located, index).outputs == again.outputs


def test_the_case_desk_answers_a_redelivered_input_with_the_same_outputs_and_no_new_state():
    from envgrid.simulator.departments import respond
    from tests.unit.pipeline.harness import InMemoryPipeline

    pipeline = InMemoryPipeline()
    event = next(e for e in generate(seed=13, count=80, config=CONFIG)
                 if e.truth.valid and e.kind == "PetitionComplaint")
    intake = pipeline.report(as_input(event))
    command = next(o for o in intake.outputs if o.topic == COMMANDS)
    state_before = pipeline.state.files[intake.case_id].case
    first_open = pipeline.sent[len(intake.outputs):]  # what the case desk sent when it opened the case
    again = pipeline.cases.on_command(command.event_name, command.value, pipeline.state, 0)
    assert again.replayed and again.outputs == first_open and first_open
    assert pipeline.state.files[intake.case_id].case == state_before

    lead_copy = next(o.value for o in intake.outputs
                     if o.event_name == "CaseDispatched" and o.value["target"]["role"] == "LEAD")
    notice = respond(lead_copy)[0].notice
    applied = pipeline.notice(notice)
    case_after = pipeline.state.files[intake.case_id].case
    redelivered = pipeline.cases.on_notice(notice, pipeline.state, 0)
    assert redelivered.replayed and redelivered.refused is None
    assert redelivered.outputs == applied.outputs and applied.outputs
    assert pipeline.state.files[intake.case_id].case == case_after

    now = notice["occurred_at"]
    pipeline.cases.on_tick(now, pipeline.state, 0, "tick-1")
    later = now + timedelta(days=30)
    fired = pipeline.cases.on_tick(later, pipeline.state, 0, "tick-2")
    replayed = pipeline.cases.on_tick(later, pipeline.state, 0, "tick-2")
    assert replayed.replayed and replayed.outputs == fired.outputs


def test_dispatched_copies_carry_the_decisions_key_facts_in_headers(run):
    _, outcomes = run
    intake = next(o for _, o in outcomes if not isinstance(o, Refused) and not o.merged)
    for output in (o for o in intake.outputs if o.event_name == "CaseDispatched" and o.topic != COMMANDS):
        headers = dict(output.headers)
        decision = output.value["decision"]
        assert headers["envgrid-case-id"] == intake.case_id.encode()
        assert headers["envgrid-lead-department"] == decision["lead_department"].encode()
        assert headers["envgrid-resolution-path"] == decision["resolution_path"].encode()
        assert headers["envgrid-rule-id"] == decision["rule_id"].encode()
        assert headers["envgrid-target"].startswith(output.value["target"]["kind"].lower().encode())


def test_a_refused_notice_is_refused_the_same_way_when_redelivered_but_a_reinjection_is_a_new_attempt():
    from envgrid.connectors.samples import sample_events
    from tests.unit.pipeline.harness import InMemoryPipeline

    pipeline = InMemoryPipeline()
    event = next(e for e in generate(seed=14, count=80, config=CONFIG) if e.truth.valid)
    intake = pipeline.report(as_input(event))
    case = pipeline.state.files[intake.case_id].case
    outsider = next(code for code in sorted(pipeline.cases.known)
                    if code != case.lead_department and code not in case.assisting_departments)
    notice = dict(sample_events()["DepartmentNotice"], case_id=intake.case_id, kind="ACKNOWLEDGE", unit_code=outsider)
    first = pipeline.cases.on_notice(notice, pipeline.state, 0)
    assert first.refused.reason_code == "not_assigned" and not first.replayed
    again = pipeline.cases.on_notice(notice, pipeline.state, 0)
    assert again.replayed and again.refused == first.refused
    reinjected = pipeline.cases.on_notice(notice, pipeline.state, 0, reinjections=1)
    assert not reinjected.replayed and reinjected.refused.reason_code == "not_assigned"


def test_a_merge_redelivered_after_its_case_closed_is_a_replay_not_a_dead_letter():
    """After a restart the router sends a report's merge command again; the case may have closed meanwhile.
    The case desk must answer it as the replay it is: a refusal would dead-letter a report that merged (the
    conservation test found one accounted both ways)."""
    from envgrid.simulator.departments import case_script

    config = GeneratorConfig(kind_shares={"PetitionComplaint": 1.0, "PatrolReport": 0.0, "DepartmentNotice": 0.0},
                             duplicate_share=0.4, broken_share=0.0)
    pipeline = InMemoryPipeline()
    for event in generate(seed=21, count=400, config=config):
        intake = pipeline.report(as_input(event))
        if isinstance(intake, Refused) or not intake.merged:
            continue
        merge = next(o for o in intake.outputs if o.topic == COMMANDS)
        file = pipeline.state.files[intake.case_id]
        for planned in case_script(file.dossier_in(pipeline.state.cursors) or {}):
            pipeline.notice(planned.notice)
        if not pipeline.state.files[intake.case_id].case.finished:
            continue
        again = pipeline.cases.on_command(merge.event_name, merge.value, pipeline.state, 0)
        assert again.replayed and again.refused is None, again.refused
        return
    raise AssertionError("no merged report whose case closed in the generated traffic")
