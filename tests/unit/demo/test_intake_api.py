"""The demo's way through the Open311 API: every generated complaint it posts is a form the API accepts, and the
complaint the gateway builds from it keeps what the generator made (category, place, datum, words, reporter)."""

from __future__ import annotations

from datetime import UTC, datetime

from envgrid.connectors.open311.app import EARLIEST
from envgrid.connectors.open311.complaint import ServiceRequestForm, complaint_for
from envgrid.connectors.open311.keys import Partner
from envgrid.demo.intake_api import service_request_form, through_api
from envgrid.domain.intake_contract import check_report
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig

START = datetime(2025, 3, 4, 1, tzinfo=UTC)
TRAFFIC = list(generate(2016, 2_000, GeneratorConfig(start=START, mean_interarrival_s=36.0)))
COMPLAINTS = [e for e in TRAFFIC if e.kind == "PetitionComplaint" and e.value is not None and e.truth.valid]


def test_the_traffic_has_complaints_of_every_kind_the_form_must_carry():
    assert len(COMPLAINTS) > 1_000
    values = [e.value for e in COMPLAINTS if e.value is not None]
    assert {v["location"]["datum"] for v in values} == {"WGS84", "GCJ02", "BD09"}
    assert any(v["location"]["latitude"] is None for v in values)  # an address alone
    assert any(v["key_entity"] for v in values) and any(v["suspected_crime"] for v in values)


def test_each_complaint_posted_is_accepted_and_keeps_what_the_generator_made():
    for event in COMPLAINTS:
        assert event.value is not None
        posted_and_built_again(event.value)


def posted_and_built_again(original):
    form = ServiceRequestForm.model_validate(service_request_form(original))
    assert form.location_problem() is None
    now = datetime(2025, 3, 4, 9, tzinfo=UTC)
    built = complaint_for(form, Partner("demo-web", "WEB"), "e-1", now, original["event_id"])
    assert check_report(built, EARLIEST) is None
    assert built["category"] == original["category"] and built["description"] == original["description"]
    assert built["severity"] == original["severity"] and built["key_entity"] == original["key_entity"]
    assert built["suspected_crime"] == original["suspected_crime"]
    assert built["cross_district"] == original["cross_district"]
    place, sent = built["location"], original["location"]
    assert (place["latitude"], place["longitude"], place["address"]) == (sent["latitude"], sent["longitude"],
                                                                          sent["address"])
    if sent["latitude"] is not None:
        assert place["datum"] == sent["datum"]
    person = original["complainant"] or {}
    assert (built["complainant"] or {}).get("name") == person.get("name")
    assert (built["complainant"] or {}).get("phone") == person.get("phone")
    assert built["received_at"] == now and built["channel"] == "WEB"


def test_the_api_takes_the_share_asked_for_of_the_valid_complaints_and_nothing_else():
    chosen = [e for e in TRAFFIC if through_api(e, 0.25)]
    assert all(e in COMPLAINTS for e in chosen)
    assert 0.20 < len(chosen) / len(COMPLAINTS) < 0.30
    assert [e.truth.event_id for e in TRAFFIC if through_api(e, 0.25)] == [e.truth.event_id for e in chosen]
    assert not any(through_api(e, 0.0) for e in TRAFFIC)
    assert all(through_api(e, 1.0) for e in COMPLAINTS)
