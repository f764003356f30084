"""A notice that overtakes the report opening its case is held, applied when the case opens, and refused
as unknown_case only when the case does not open within the wait."""

from datetime import timedelta

from envgrid.connectors.samples import sample_events
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams.held_notices import HELD_NOTICE_WAIT, SourceRecord
from tests.unit.pipeline.harness import COMMANDS, HISTORY, InMemoryPipeline, as_input

REPORTS = GeneratorConfig(kind_shares={"PetitionComplaint": 1.0, "PatrolReport": 0.0, "DepartmentNotice": 0.0},
                          broken_share=0.0, duplicate_share=0.0)


def _routed_but_not_opened(pipeline: InMemoryPipeline, seed: int = 21):
    """A report through the router whose opening command has not reached the case desk yet."""
    event = next(e for e in generate(seed=seed, count=40, config=REPORTS) if e.truth.valid)
    located = pipeline.routing.locate(as_input(event), "intake")
    intake = pipeline.incidents.open_or_merge(pipeline.routing, 0, located)
    command = next(o for o in intake.outputs if o.topic == COMMANDS)
    return command, located.decision.lead_department


def _notice(case_id: str, unit: str, kind: str = "ACKNOWLEDGE", event_id: str = "n-1", received_at=None) -> dict:
    sample = sample_events()["DepartmentNotice"]
    return dict(sample, event_id=event_id, case_id=case_id, kind=kind, unit_code=unit, suggested_department=None,
                received_at=received_at or sample["received_at"], occurred_at=received_at or sample["occurred_at"])


def _source(offset: int) -> SourceRecord:
    return SourceRecord("intake.notices", 3, offset, b"key", b"original bytes", (("envgrid-source", b"x:3:1"),))


def test_a_notice_before_its_case_is_held_then_applied_when_the_case_opens():
    pipeline = InMemoryPipeline()
    command, lead = _routed_but_not_opened(pipeline)
    case_id = command.value["case_id"]
    notice = _notice(case_id, lead, received_at=command.value["dispatched_at"])

    held = pipeline.cases.on_notice(notice, pipeline.state, 0, source=_source(7))
    assert held.held == 1 and not held.outputs and held.refused is None and not held.dead_letters
    assert pipeline.cases.on_notice(notice, pipeline.state, 0, source=_source(7)).replayed  # redelivered: held once

    opened = pipeline.cases.on_command(command.event_name, command.value, pipeline.state, 0)
    assert opened.released == 1 and opened.refused is None
    acknowledged = [o for o in opened.outputs if o.topic == HISTORY and o.value["cause_event_id"] == "n-1"]
    assert [o.value["kind"] for o in acknowledged] == ["acknowledged"]
    assert str(pipeline.state.files[case_id].case.state) == "acknowledged"
    assert pipeline.state.held == {}  # neither the notice nor an index entry is left

    again = pipeline.cases.on_command(command.event_name, command.value, pipeline.state, 0)  # redelivered opening
    assert again.replayed and [o.value for o in again.outputs] == [o.value for o in opened.outputs]
    late = pipeline.cases.on_notice(notice, pipeline.state, 0)  # the notice itself redelivered: same outputs
    assert late.replayed and [o.value for o in late.outputs if o.topic == HISTORY] == [o.value for o in acknowledged]
    assert all(output in opened.outputs for output in late.outputs)


def test_a_held_notice_the_case_refuses_is_dead_lettered_with_its_own_source_when_the_case_opens():
    pipeline = InMemoryPipeline()
    command, lead = _routed_but_not_opened(pipeline)
    assisting = command.value["decision"]["assisting_departments"]
    outsider = next(code for code in sorted(pipeline.cases.known) if code != lead and code not in assisting)
    notice = _notice(command.value["case_id"], outsider)
    pipeline.cases.on_notice(notice, pipeline.state, 0, source=_source(9))

    opened = pipeline.cases.on_command(command.event_name, command.value, pipeline.state, 0)
    assert opened.refused is None  # the opening itself is fine
    [dead] = opened.dead_letters
    assert dead.source.offset == 9 and dead.refused.reason_code == "not_assigned" and dead.refused.event_id == "n-1"
    again = pipeline.cases.on_command(command.event_name, command.value, pipeline.state, 0)
    assert again.dead_letters == opened.dead_letters  # a redelivered opening re-sends the dead letter too


def test_a_held_notice_whose_case_never_opens_is_refused_when_the_wait_is_over_and_not_before():
    pipeline = InMemoryPipeline()
    notice = _notice("WZ-0000000000000000", "epb")
    received = notice["received_at"]
    pipeline.cases.on_notice(notice, pipeline.state, 2, source=_source(11))
    other = _notice("WZ-1111111111111111", "epb", event_id="n-2")
    pipeline.cases.on_notice(other, pipeline.state, 5, source=_source(12))  # another partition

    pipeline.cases.on_tick(received, pipeline.state, 2, "t-0")  # sets the SLA cursor
    early = pipeline.cases.on_tick(received + HELD_NOTICE_WAIT - timedelta(minutes=1), pipeline.state, 2, "t-1")
    assert not early.dead_letters and early.expired == 0

    due = pipeline.cases.on_tick(received + HELD_NOTICE_WAIT, pipeline.state, 2, "t-2")
    [dead] = due.dead_letters
    assert due.expired == 1 and dead.source.offset == 11
    assert dead.refused.reason_code == "unknown_case" and "WZ-0000000000000000" in dead.refused.message
    assert pipeline.cases.on_tick(received + HELD_NOTICE_WAIT, pipeline.state, 2, "t-2").dead_letters == [dead]
    assert pipeline.cases.on_notice(notice, pipeline.state, 2).refused == dead.refused  # redelivered: same refusal
    assert pipeline.cases._hold(pipeline.state).waiting(5) == 1  # partition 5's notice still waits


def test_the_generator_stream_in_order_applies_notices_however_far_the_router_lags():
    """Hold the opening commands back (the router lagging behind the notice path): the same notices
    are applied as when every case opens before its notices."""
    config = GeneratorConfig(kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.15, "DepartmentNotice": 0.15},
                             broken_share=0.0, duplicate_share=0.0)
    events = list(generate(seed=31, count=1500, config=config))
    in_order, lagging = InMemoryPipeline(), InMemoryPipeline()
    commands = []
    for event in events:
        if event.kind == "DepartmentNotice":
            in_order.notice(event.value)
            lagging.notice(event.value)
            continue
        in_order.report(as_input(event))
        located = lagging.routing.locate(as_input(event), "intake")
        intake = lagging.incidents.open_or_merge(lagging.routing, 0, located)
        commands.extend(o for o in intake.outputs if o.topic == COMMANDS)
    for command in commands:  # the router catches up
        lagging._handled(lagging.cases.on_command(command.event_name, command.value, lagging.state, 0))

    def applied(pipeline):
        return {o.value["cause_event_id"] for o in pipeline.on(HISTORY) if not o.value["event_id"].startswith("dl")}

    notices = {e.truth.event_id for e in events if e.kind == "DepartmentNotice"}
    assert len(applied(in_order) & notices) > 100
    assert applied(lagging) & notices == applied(in_order) & notices


def test_a_notice_whose_case_id_the_pipeline_never_gives_is_refused_at_once_not_held():
    pipeline = InMemoryPipeline()
    for case_id in ("CASE-b3f1c2de5a7e", "3:held-index", "wz-0000000000000000"):
        handled = pipeline.cases.on_notice(_notice(case_id, "epb", event_id=f"n-{case_id}"), pipeline.state, 3)
        assert handled.held == 0 and handled.refused.reason_code == "unknown_case", case_id
    assert pipeline.state.held == {}


def test_held_notices_are_capped_per_case_and_the_next_one_is_refused_with_a_reason():
    from envgrid.streams.held_notices import MAX_HELD_PER_CASE, NoticeHold

    table: dict = {}
    hold = NoticeHold(table)
    base = sample_events()["DepartmentNotice"]
    results = [hold.hold(dict(base, event_id=f"n{i}", case_id="WZ-0123456789ABCDEF"), 0, None, 0)
               for i in range(MAX_HELD_PER_CASE + 1)]
    assert results[:-1] == [True] * MAX_HELD_PER_CASE
    assert results[-1].reason_code == "hold_full" and "WZ-0123456789ABCDEF" in results[-1].message
    assert len(table["WZ-0123456789ABCDEF"]) == MAX_HELD_PER_CASE  # nothing more was held


def test_remembered_refusals_are_bounded_and_the_oldest_forgotten():
    from envgrid.streams.held_notices import REFUSALS_REMEMBERED, RefusalMemory
    from envgrid.streams.routing_service import Refused

    table: dict = {}
    memory = RefusalMemory(table, partition=3)
    refused = Refused("APPLY", "not_assigned", "Rejection", "m")
    for i in range(REFUSALS_REMEMBERED + 5):
        memory.remember(f"n{i}#0", refused)
    attempts = [k for k in table if "#" in k]
    assert len(attempts) == REFUSALS_REMEMBERED
    assert memory.get("n0#0") is None and memory.get(f"n{REFUSALS_REMEMBERED + 4}#0") == refused
    assert len(table) == 2 * REFUSALS_REMEMBERED + 1  # attempts, their slots and the counter
