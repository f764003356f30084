"""Every valid value fits its Avro contract; broken input breaks exactly the way its truth says."""

from __future__ import annotations

import pytest
from fastavro.validation import validate

from envgrid.connectors.contracts import load_event
from envgrid.connectors.wire import (
    AVRO_DECODE_ERROR,
    NOT_CONFLUENT_FRAMED,
    UndecodableRecord,
    frame,
    read_body,
    split_frame,
)
from envgrid.domain.case_ids import case_id_for, is_case_id
from envgrid.simulator.broken import truncate_frame
from envgrid.simulator.model import (
    DEPARTMENT_NOTICE,
    INVALID_AVRO,
    MISSING_FIELDS,
    OUTSIDE_CITY,
    PATROL_REPORT,
    PETITION_COMPLAINT,
    UNKNOWN_CATEGORY,
)
from envgrid.simulator.reference import category_codes, load_geography, to_wgs84

TOPIC = "test.intake"


def test_every_value_validates_against_its_schema(sample):
    for event in sample:
        if event.value is not None:
            validate(event.value, load_event(event.kind).parsed, raise_errors=True)


def test_every_value_survives_an_avro_round_trip(sample):
    for event in sample[:1500]:
        if event.value is None:
            continue
        parsed = load_event(event.kind).parsed
        schema_id, body = split_frame(frame(7, parsed, event.value), TOPIC)
        assert read_body(body, parsed, None, topic=TOPIC, schema_id=schema_id) == event.value


def test_keys_follow_the_catalogue(sample):
    for event in sample:
        value = event.value or (event.raw.value if event.raw else None)
        if event.kind == PETITION_COMPLAINT:
            assert event.key == event.truth.event_id
        elif event.kind == PATROL_REPORT and value is not None:
            assert event.key == value["grid_code"]
        elif event.kind == DEPARTMENT_NOTICE and value is not None:
            assert event.key == value["case_id"] and is_case_id(event.key)


def test_invalid_avro_is_not_confluent_framed(sample):
    broken = [e for e in sample if e.truth.broken == INVALID_AVRO]
    assert broken
    for event in broken:
        assert event.raw is not None and event.raw.payload is not None
        with pytest.raises(UndecodableRecord) as caught:
            split_frame(event.raw.payload, TOPIC)
        assert caught.value.reason == NOT_CONFLUENT_FRAMED


def test_missing_fields_has_a_real_frame_whose_body_does_not_decode(sample):
    broken = [e for e in sample if e.truth.broken == MISSING_FIELDS]
    assert broken
    for event in broken:
        assert event.raw is not None and event.raw.value is not None
        parsed = load_event(event.raw.event_name).parsed
        validate(event.raw.value, parsed, raise_errors=True)
        data = truncate_frame(frame(42, parsed, event.raw.value), event.raw.keep_fraction)
        schema_id, body = split_frame(data, TOPIC)
        assert schema_id == 42
        with pytest.raises(UndecodableRecord) as caught:
            read_body(body, parsed, None, topic=TOPIC, schema_id=schema_id)
        assert caught.value.reason == AVRO_DECODE_ERROR


def test_unknown_category_is_valid_avro_with_a_code_the_rules_do_not_know(sample):
    broken = [e for e in sample if e.truth.broken == UNKNOWN_CATEGORY]
    assert broken
    for event in broken:
        assert event.value is not None and event.value["category"] not in category_codes()


def test_outside_city_has_far_away_coordinates_and_no_address(sample):
    geography = load_geography()
    broken = [e for e in sample if e.truth.broken == OUTSIDE_CITY]
    assert broken
    for event in broken:
        location = event.value["location"]
        assert location["address"] is None
        lon, lat = to_wgs84(location["longitude"], location["latitude"], location["datum"])
        assert all(polygon.distance(_point(lon, lat)) > 0.2 for polygon in geography.district_polygons.values())


def test_case_ids_are_derived_from_the_first_report(sample, by_id):
    for event in sample:
        truth = event.truth
        if truth.valid and event.kind != DEPARTMENT_NOTICE and not truth.duplicate_of:
            assert truth.case_id == case_id_for(truth.event_id)
        if truth.duplicate_of:
            assert truth.case_id == case_id_for(truth.duplicate_of)
        if event.kind == DEPARTMENT_NOTICE and truth.valid:
            assert truth.case_id == case_id_for(truth.case_of)
            assert by_id[truth.case_of].truth.index < truth.index


def test_case_id_shape():
    assert case_id_for("9b08923d-10c6-4fd9-94b2-b8fda02f34a6") == case_id_for("9b08923d-10c6-4fd9-94b2-b8fda02f34a6")
    assert is_case_id(case_id_for("x")) and not is_case_id("WZ-123")
    with pytest.raises(ValueError):
        case_id_for("")


def _point(lon: float, lat: float):
    from shapely.geometry import Point

    return Point(lon, lat)
