"""Scheduled tasks through the case desk (in memory, every partition of the case desk's topics on one state):
quarterly supervision raised by the SLA ticks, 双随机 draws opened from SpotCheckDrawn, both answered by notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from envgrid.connectors.samples import sample_events
from envgrid.connectors.task_records import draw_record
from envgrid.domain.tasks.quarters import Quarter
from envgrid.domain.tasks.spotcheck import draw
from envgrid.streams.clock import tick_record
from tests.unit.pipeline.harness import CATALOGUE, HISTORY, InMemoryPipeline
from tests.unit.tasks.test_spotcheck_draw import inputs

PARTITIONS = CATALOGUE.spec(CATALOGUE.topic("internal.case-commands")).partitions
Q2 = Quarter(2027, 2).start()
PAIRS = 15 + 191  # city -> level-2 grids, level-2 grids -> townships (registry 2019)


def _tick_all(pipeline: InMemoryPipeline, now: datetime) -> list:
    outputs = []
    for partition in range(PARTITIONS):
        tick = tick_record("manual", partition, now)
        outputs += pipeline._handled(pipeline.cases.on_tick(now, pipeline.state, partition, tick["event_id"])).outputs
    return outputs


def _tasks(pipeline: InMemoryPipeline, prefix: str) -> dict:
    return {case_id: file for case_id, file in pipeline.state.files.items() if case_id.startswith(prefix)}


def _notice(case_id: str, kind: str, unit_kind: str, unit: str, at: datetime, text: str = "") -> dict:
    return dict(sample_events()["DepartmentNotice"], event_id=f"{case_id}:{kind}", case_id=case_id, kind=kind,
                unit_kind=unit_kind, unit_code=unit, occurred_at=at, received_at=at, message=text,
                resolution=text or None, suggested_department=None, reason=None)


def test_supervision_tasks_are_raised_once_per_pair_where_their_ids_hash_and_never_again() -> None:
    pipeline = InMemoryPipeline()
    for now in (Q2 - timedelta(hours=2), Q2 - timedelta(minutes=1)):
        _tick_all(pipeline, now)
    assert _tasks(pipeline, "SUP-") == {}  # ticks before the boundary raise nothing
    outputs = _tick_all(pipeline, Q2 + timedelta(minutes=1))
    tasks = _tasks(pipeline, "SUP-")
    assert len(tasks) == PAIRS  # (budget: at most 200 records per tick and partition; ~35 tasks each fit)
    owner = pipeline.cases.tasks.owner
    assert all(file.partition == owner(case_id) for case_id, file in tasks.items())
    file = tasks["SUP-2027Q2-3303-330302"]
    assert file.case.created_at == Q2 and file.case.channel == "supervision" and file.case.lead_department == "epb"
    assert file.case.handling_grid == "3303" and file.case.state.value == "dispatched"
    assert {o.topic for o in outputs if o.key == "SUP-2027Q2-3303-330302"} >= {
        "envgrid.dept.epb.cases", "envgrid.grid.330302.cases", "envgrid.grid.3303.cases", HISTORY}
    again = _tick_all(pipeline, Q2 + timedelta(minutes=1))  # the same ticks redelivered: the same outputs
    assert [(o.topic, o.key) for o in again] == [(o.topic, o.key) for o in outputs]
    later = _tick_all(pipeline, Q2 + timedelta(hours=1))
    assert len(_tasks(pipeline, "SUP-")) == PAIRS and not [o for o in later if o.key.startswith("SUP-")]


def test_a_replay_of_the_ticks_on_a_fresh_desk_raises_the_same_tasks() -> None:
    ticks = [Q2 - timedelta(minutes=5), Q2 + timedelta(minutes=5)]
    first, second = InMemoryPipeline(), InMemoryPipeline()
    for now in ticks:
        _tick_all(first, now)
        _tick_all(second, now)
    assert sorted(_tasks(first, "SUP-")) == sorted(_tasks(second, "SUP-"))


def test_a_supervision_task_is_closed_by_the_upper_grid_s_result() -> None:
    pipeline = InMemoryPipeline()
    _tick_all(pipeline, Q2 - timedelta(minutes=5))
    _tick_all(pipeline, Q2 + timedelta(minutes=5))
    case_id = "SUP-2027Q2-330302-330302006"
    at = Q2 + timedelta(days=3)
    assert not pipeline.notice(_notice(case_id, "ACKNOWLEDGE", "GRID", "330302", at)).refused
    handled = pipeline.notice(_notice(case_id, "RESULT", "GRID", "330302", at + timedelta(days=5), "督查完成：五马街道台账齐全"))
    assert handled.refused is None
    case = pipeline.state.files[case_id].case
    assert case.state.value == "resolved" and case.resolution.startswith("督查完成")
    kinds = [o.value["kind"] for o in pipeline.on(HISTORY) if o.key == case_id]
    assert kinds[:2] == ["created", "dispatched"] and "resolved" in kinds


def test_a_draw_opens_one_task_per_inspection_relays_the_draw_once_and_a_redelivery_opens_nothing() -> None:
    registry, entities, inspectors, rules = inputs()
    drawn = draw("330302", Quarter(2027, 1), "福彩3D 2027001", entities, inspectors, rules, registry)
    at = datetime(2027, 1, 4, 2, tzinfo=UTC)
    record = draw_record(drawn, at)
    pipeline = InMemoryPipeline()
    relayed = []
    for partition in range(PARTITIONS):
        handled = pipeline._handled(pipeline.cases.on_draw(record, pipeline.state, partition))
        assert handled.refused is None
        relayed += [o for o in handled.outputs if o.event_name == "SpotCheckDrawn"]
    assert [o.topic for o in relayed] == ["envgrid.grid.330302.cases"] and relayed[0].key == drawn.draw_id
    tasks = _tasks(pipeline, "SC-")
    assert sorted(tasks) == sorted(i.case_id for i in drawn.inspections)
    first = drawn.inspections[0]
    case = tasks[first.case_id].case
    assert case.lead_department == first.inspectors[0].department and case.handling_level == 2
    assert case.grid_chain[0] == first.entity_grid and case.channel == "spot_check" and case.created_at == at
    sent = len(pipeline.sent)
    owner = pipeline.cases.tasks.owner
    redelivered = pipeline.cases.on_draw(record, pipeline.state, owner(first.case_id))
    assert redelivered.replayed and {o.key for o in redelivered.outputs if o.event_name == "CaseDispatched"} >= {first.case_id}
    assert len(_tasks(pipeline, "SC-")) == len(tasks) and len(pipeline.sent) == sent
    lead = first.inspectors[0].department
    assert not pipeline.notice(_notice(first.case_id, "ACKNOWLEDGE", "DEPARTMENT", lead, at + timedelta(hours=3))).refused
    assert not pipeline.notice(_notice(first.case_id, "RESULT", "DEPARTMENT", lead, at + timedelta(days=6),
                                       "现场检查未发现违法行为")).refused
    assert pipeline.state.files[first.case_id].case.state.value == "resolved"


def test_a_draw_that_cannot_be_read_is_refused_by_name() -> None:
    pipeline = InMemoryPipeline()
    bad = dict(sample_events()["SpotCheckDrawn"], period="2027-Q9")
    handled = pipeline.cases.on_draw(bad, pipeline.state, 0)
    assert handled.refused is not None and handled.refused.reason_code == "invalid_draw"
    assert "2027-Q9" in handled.refused.message


def test_a_tick_whose_budget_runs_out_leaves_the_rest_of_the_quarter_to_the_next_tick() -> None:
    from envgrid.streams.case_service import Handled
    pipeline = InMemoryPipeline()
    desk, service, state = pipeline.cases.tasks, pipeline.cases, pipeline.state
    desk.raise_supervision(service, Q2 - timedelta(minutes=5), state, 0, Handled(), 200)  # sets the clock
    first = Handled()
    desk.raise_supervision(service, Q2 + timedelta(minutes=5), state, 0, first, 12)
    opened = len(_tasks(pipeline, "SUP-"))
    assert 0 < opened < PAIRS // PARTITIONS and len(first.outputs) >= 12
    assert state.cursors["0:supervision-clock"] == (Q2 - timedelta(minutes=5)).isoformat()  # not moved on
    rest = Handled()
    desk.raise_supervision(service, Q2 + timedelta(minutes=6), state, 0, rest, 10_000)
    in_partition = [c for c in _tasks(pipeline, "SUP-") if desk.owner(c) == 0]
    assert len(in_partition) == len(_tasks(pipeline, "SUP-")) > opened  # the rest, and only this partition's
    assert {o.key for o in rest.outputs if o.key.startswith("SUP-")}.isdisjoint(
        {o.key for o in first.outputs if o.key.startswith("SUP-")})
    assert state.cursors["0:supervision-clock"] == (Q2 + timedelta(minutes=6)).isoformat()


def test_a_draw_of_a_grid_without_a_topic_is_refused_and_opens_nothing() -> None:
    pipeline = InMemoryPipeline()
    bad = dict(sample_events()["SpotCheckDrawn"], grid_code="330302006")  # a township does not draw
    handled = pipeline.cases.on_draw(bad, pipeline.state, 0)
    assert handled.refused is not None and handled.refused.reason_code == "invalid_draw" and not handled.outputs
    assert _tasks(pipeline, "SC-") == {}


def test_a_draw_whose_case_ids_are_not_derived_from_it_is_refused() -> None:
    registry, entities, inspectors, rules = inputs()
    record = draw_record(draw("330302", Quarter(2027, 1), "x", entities, inspectors, rules, registry), Q2)
    record["inspections"][0]["case_id"] = "SC-0000000000000000"
    handled = InMemoryPipeline().cases.on_draw(record, InMemoryPipeline().state, 0)
    assert handled.refused is not None and "SC-0000000000000000" in handled.refused.message


def test_a_complaint_cannot_claim_a_task_channel() -> None:
    sample = sample_events()["PetitionComplaint"]
    refused = InMemoryPipeline().report(("PetitionComplaint", dict(sample, channel="SUPERVISION")))
    assert refused.reason_code == "task_channel" and "SUPERVISION" in refused.message
