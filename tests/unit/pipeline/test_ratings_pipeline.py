"""Ratings through the composition the worker runs: the feedback channel's topic, the notice gate, the case desk.
A dissatisfied complainant's case comes back, on their topics, to the lead and the grid that hold it (重办)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from tests.unit.pipeline.harness import CATALOGUE, FEEDBACK, HISTORY, InMemoryPipeline

SAMPLE = sample_events()["PetitionComplaint"]  # lead housing, township 330302031
COMPLAINT = dict(SAMPLE, event_id="00000000-0000-4000-b000-000000000001")
CASE = case_id_for(COMPLAINT["event_id"])
RATINGS_TOPIC = CATALOGUE.topic("notices.complainants")


def _notice(minutes: int, kind: str, unit_kind: str, unit: str, **fields: Any) -> dict[str, Any]:
    at = COMPLAINT["received_at"] + timedelta(minutes=minutes)
    return dict(sample_events()["DepartmentNotice"], event_id=f"n-{minutes}-{kind}", case_id=CASE, kind=kind,
                unit_kind=unit_kind, unit_code=unit, occurred_at=at, received_at=at, **{"message": "ok", **fields})


def _closed_case() -> InMemoryPipeline:
    pipeline = InMemoryPipeline()
    pipeline.report(("PetitionComplaint", COMPLAINT))
    lead_topic = CATALOGUE.notice_topic("DEPARTMENT", "housing")
    for minutes, kind, fields in ((10, "ACKNOWLEDGE", {}), (60, "RESULT", {"resolution": "已整改"}), (70, "CLOSE", {})):
        pipeline.notice_from(lead_topic, _notice(minutes, kind, "DEPARTMENT", "housing", **fields))
    assert [v.value["kind"] for v in pipeline.on(HISTORY) if v.value["case_id"] == CASE][-1] == "closed"
    return pipeline


def test_a_dissatisfied_rating_reaches_the_lead_and_the_grid_again_and_the_complainant_is_told():
    pipeline = _closed_case()
    before = len(pipeline.sent)
    pipeline.notice_from(RATINGS_TOPIC, _notice(24 * 60, "RATING", "COMPLAINANT", COMPLAINT["event_id"],
                                                rating="DISSATISFIED", message="噪声依旧"))
    assert pipeline.dead == []
    new = pipeline.sent[before:]
    history = [o.value for o in new if o.topic == HISTORY]
    assert [h["kind"] for h in history] == ["rated", "reopened"]
    assert history[0]["details"]["rating"] == "dissatisfied" and history[-1]["case"]["state"] == "in_progress"
    copies = {o.topic: o.value for o in new if o.event_name == "CaseDispatched"}
    holders = [("department", "housing"), ("department", "urban-mgmt"), ("department", "epb"), ("grid", "330302")]
    assert set(copies) == {CATALOGUE.topic_for(holder) for holder in holders}  # lead, assisting, the township's L2 grid
    for copy in copies.values():
        assert copy["handover"]["cause"] == "REOPENED" and copy["handover"]["change"] == "ASSIGNED"
        assert "噪声依旧" in copy["handover"]["reason"]
    told = [(o.value["stage"], o.value["audience"]) for o in new if o.topic == FEEDBACK]
    assert ("REOPENED", "COMPLAINANT") in told


def test_only_complainants_rate_and_they_only_rate():
    pipeline = _closed_case()
    lead_topic = CATALOGUE.notice_topic("DEPARTMENT", "housing")
    pipeline.notice_from(lead_topic, _notice(100, "RATING", "DEPARTMENT", "housing", rating="SATISFIED"))
    pipeline.notice_from(RATINGS_TOPIC, _notice(101, "CLOSE", "COMPLAINANT", COMPLAINT["event_id"]))
    pipeline.notice_from(RATINGS_TOPIC, _notice(102, "RATING", "COMPLAINANT", "someone-else", rating="SATISFIED"))
    reasons = [refused.reason_code for refused in pipeline.dead]
    assert reasons[:2] == ["forged_unit", "forged_unit"] and reasons[2] == "not_reporter", pipeline.dead
    assert [v.value["kind"] for v in pipeline.on(HISTORY) if v.value["case_id"] == CASE][-1] == "closed"
