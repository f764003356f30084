"""A reused event id with other content: refused as a conflict, and the first report's case stays as it was,
in the zone that handled it (the router's memory) and across zones (the case desk, keyed by case id)."""

from __future__ import annotations

from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.streams.routing_service import Intake, Refused
from tests.unit.pipeline.harness import HISTORY, InMemoryPipeline

FIRST = sample_events()["PetitionComplaint"]  # 鹿城区 五马街道
ELSEWHERE = dict(FIRST["location"], longitude=120.70, latitude=27.99, address="温州市瓯海区娄桥街道")


def test_the_same_id_in_the_same_zone_with_other_content_is_refused_by_the_router():
    pipeline = InMemoryPipeline()
    pipeline.report(("PetitionComplaint", FIRST))
    again = pipeline.report(("PetitionComplaint", dict(FIRST, description="完全不同的内容")))
    assert isinstance(again, Refused) and again.reason_code == "event_id_conflict"


def test_the_same_id_routed_in_another_zone_is_refused_by_the_case_desk_and_the_case_stays():
    pipeline = InMemoryPipeline()
    first = pipeline.report(("PetitionComplaint", FIRST))
    assert isinstance(first, Intake)
    case_id = case_id_for(FIRST["event_id"])
    case_before, history_before = pipeline.state.files[case_id].case, len(pipeline.on(HISTORY))

    other = pipeline.report(("PetitionComplaint", dict(FIRST, location=ELSEWHERE, category="water_pollution")))
    assert isinstance(other, Intake) and other.case_id == case_id  # the other zone's router could not know
    [refused] = [d for d in pipeline.dead if isinstance(d, Refused)]
    assert refused.reason_code == "event_id_conflict" and refused.event_id == FIRST["event_id"]
    assert pipeline.state.files[case_id].case == case_before  # neither its content nor its revision moved
    assert len(pipeline.on(HISTORY)) == history_before  # and no history was written for the other report


def test_a_redelivered_opening_is_still_answered_with_its_first_outputs():
    pipeline = InMemoryPipeline()
    first = pipeline.report(("PetitionComplaint", FIRST))
    command = next(o for o in first.outputs if o.event_name == "CaseDispatched" and o.topic.endswith("case-commands"))
    again = pipeline.cases.on_command("CaseDispatched", dict(command.value), pipeline.state, 0)
    assert again.replayed and again.refused is None and again.outputs
