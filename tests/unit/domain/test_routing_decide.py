from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from routingkit import AFTER_SPLIT, BEFORE_SPLIT, LONGGANG_POINT, copy_config, event_times, latitudes, longitudes

from envgrid.domain.geo.datums import Datum, from_wgs84
from envgrid.domain.routing import (
    Coordinates,
    ResolutionNote,
    ResolutionPath,
    RoutingInput,
    Target,
    decide,
    load_routing_context,
)
from envgrid.domain.rules import category_codes

inputs = st.builds(
    RoutingInput,
    event_id=st.text("abc123", min_size=1, max_size=8),
    event_time=event_times,
    category=st.sampled_from(category_codes()),
    severity=st.sampled_from(["low", "medium", "high", "critical"]),
    grid_code=st.none() | st.sampled_from(["330302006044", "330305", "330391", "330383198001", "999999", "3303"]),
    coordinates=st.none() | st.builds(Coordinates, longitudes, latitudes, st.sampled_from(list(Datum))),
    address=st.none() | st.sampled_from(["温州市鹿城区五马街道鼓楼社区", "西岙村", "龙港市江口社区", "somewhere"]),
    key_entity=st.booleans(),
    suspected_crime=st.booleans(),
    cross_district=st.booleans(),
)


def test_example_grid_code_lucheng_gulou(context):
    decision = context.decide(RoutingInput("e-1", AFTER_SPLIT, "construction_dust", grid_code="330302006044"))
    assert [(g.code, g.name) for g in decision.owning_chain] == [
        ("330302006044", "鼓楼社区"), ("330302006", "五马街道"), ("330302", "鹿城区"), ("3303", "温州市"),
    ]
    assert decision.handling_level == 4 and decision.handling_grid.code == "330302006044"
    assert decision.lead_department == "housing" and decision.assisting_departments == ("urban-mgmt", "epb")
    assert decision.targets == (
        ("department", "housing", "lead"), ("department", "urban-mgmt", "assisting"),
        ("department", "epb", "assisting"), ("grid", "330302", "owning_grid"),
    )
    assert decision.provenance.resolution_path is ResolutionPath.GRID_CODE
    assert decision.provenance.registry_version == "wenzhou-2019" and decision.provenance.rule_id == "R-CONSTRUCTION-DUST"
    assert "鼓楼社区" in decision.reason and "R-CONSTRUCTION-DUST" in decision.reason


def test_coordinates_in_any_datum_resolve_alike(context):
    lon, lat = 120.6421, 28.0123
    decisions = [
        context.decide(RoutingInput("e", AFTER_SPLIT, "odor", coordinates=Coordinates(*from_wgs84(lon, lat, d), d)))
        for d in Datum
    ]
    assert len({d.owning_chain for d in decisions}) == 1
    assert all(d.provenance.resolution_path is ResolutionPath.COORDINATES for d in decisions)
    assert all(d.provenance.synthetic_geometry for d in decisions)


def test_split_before_and_after(context):
    event = dict(event_id="e", category="water_pollution", coordinates=Coordinates(*LONGGANG_POINT))
    before = context.decide(RoutingInput(event_time=BEFORE_SPLIT, **event))
    after = context.decide(RoutingInput(event_time=AFTER_SPLIT, **event))
    assert before.owning_chain[2].code == "330327" and after.owning_chain[2].code == "330383"
    assert ("grid", "330327", "owning_grid") in before.targets and ("grid", "330383", "owning_grid") in after.targets
    assert before.provenance.registry_version == "wenzhou-2016"


@settings(max_examples=200, deadline=None)
@given(longitudes, latitudes, st.sampled_from(category_codes()))
def test_split_changes_decisions_only_in_longgang(context, lon, lat, category):
    before = context.decide(RoutingInput("e", BEFORE_SPLIT, category, coordinates=Coordinates(lon, lat)))
    after = context.decide(RoutingInput("e", AFTER_SPLIT, category, coordinates=Coordinates(lon, lat)))
    in_longgang = any(g.code == "330383" for g in after.owning_chain)
    assert (before.owning_chain != after.owning_chain) == in_longgang
    if not in_longgang:
        assert before.targets == after.targets and before.handling_grid == after.handling_grid


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_every_decision_has_a_department_a_grid_target_and_is_deterministic(context, event):
    decision = context.decide(event)
    assert decision == context.decide(event)
    assert decision.lead_department in context.departments
    assert all(code in context.departments for code in decision.assisting_departments)
    assert any(t.kind in ("grid", "triage") for t in decision.targets)
    assert decision.owning_chain[-1].code == "3303" and decision.handling_grid in decision.owning_chain
    assert decision.handling_level == decision.handling_grid.level
    assert decision.reason.startswith(f"[{event.event_id} ")
    record = decision.to_dict()
    assert record["resolution_path"] in ("GRID_CODE", "COORDINATES", "ADDRESS_TEXT", "TRIAGE")


def test_decisions_do_not_depend_on_a_particular_load(context):
    fresh = load_routing_context()
    event = RoutingInput("e", AFTER_SPLIT, "odor", coordinates=Coordinates(120.655, 28.015), address="五马街道")
    assert fresh.decide(event) == context.decide(event)


def test_outside_city_falls_through_to_the_address(context):
    decision = context.decide(RoutingInput(
        "e", AFTER_SPLIT, "garbage_burning", coordinates=Coordinates(116.4, 39.9), address="鹿城区五马街道鼓楼社区",
    ))
    assert decision.provenance.resolution_path is ResolutionPath.ADDRESS_TEXT
    assert ResolutionNote.COORDINATES_OUTSIDE_CITY in decision.provenance.resolution_notes
    assert decision.owning_chain[0].code == "330302006044" and "outside the city" in decision.reason


def test_unknown_grid_code_falls_through_to_coordinates(context):
    decision = context.decide(RoutingInput(
        "e", AFTER_SPLIT, "odor", grid_code="330399", coordinates=Coordinates(120.655, 28.015)
    ))
    assert decision.provenance.resolution_path is ResolutionPath.COORDINATES
    assert decision.provenance.resolution_notes == (ResolutionNote.GRID_CODE_UNKNOWN,)


@pytest.mark.parametrize(
    "where, note",
    [({}, ResolutionNote.NOTHING_GIVEN), ({"address": "西岙村"}, ResolutionNote.ADDRESS_AMBIGUOUS),
     ({"coordinates": Coordinates(float("nan"), 28.0)}, ResolutionNote.COORDINATES_INVALID)],
)
def test_nothing_resolved_goes_to_the_city_grid_office(context, where, note):
    decision = context.decide(RoutingInput("e", AFTER_SPLIT, "odor", **where))
    assert decision.is_triage and note in decision.provenance.resolution_notes
    assert decision.owning_chain == (context.registry.at(AFTER_SPLIT).city,)
    assert Target("triage", "3303", "triage") in decision.targets
    assert decision.lead_department == "epb"


def test_special_conditions_in_the_decision(context):
    decision = context.decide(RoutingInput(
        "e", AFTER_SPLIT, "construction_dust", grid_code="330302006044", key_entity=True, suspected_crime=True,
    ))
    assert decision.handling_level == 2 and decision.handling_grid.code == "330302"
    assert "psb" in decision.assisting_departments
    assert decision.provenance.applied_rules == ("R-CONSTRUCTION-DUST", "S-KEY-ENTITY", "S-SUSPECTED-CRIME")
    cross = context.decide(RoutingInput("e", AFTER_SPLIT, "water_pollution", grid_code="330302006044", cross_district=True))
    assert cross.handling_level == 1 and ("grid", "3303", "handling_grid") in cross.targets


def test_rule_level_below_the_resolved_level_is_handled_at_the_known_grid(context):
    decision = context.decide(RoutingInput("e", AFTER_SPLIT, "construction_dust", address="瓯海区"))
    assert decision.handling_grid.code == "330304" and "known only to L2" in decision.reason


def test_functional_zone_decision_is_marked_synthetic(context):
    decision = context.decide(RoutingInput("e", AFTER_SPLIT, "enterprise_discharge", grid_code="330303015"))
    assert decision.owning_chain[1].code == "330391" and decision.provenance.synthetic_grid
    assert decision.provenance.rule_id == "R-DISCHARGE-ZONES"


def test_near_boundary_policies(context, tmp_path):
    point = Coordinates(120.655, 28.015)  # within 200 m of three villages of 鹿城区
    contained = context.decide(RoutingInput("e", AFTER_SPLIT, "odor", coordinates=point))
    near = contained.provenance.near_boundary
    assert near is not None and near.policy == "containing_polygon" and len(near.candidates) >= 2
    assert near.chosen == contained.owning_chain[0].code == "330302029002"
    assert near.common_parent == "330302"  # the candidates lie in three townships of 鹿城区
    assert "near boundary" in contained.reason

    root = copy_config(tmp_path)
    for file in (root / "config" / "registry").glob("*.yaml"):
        text = file.read_text(encoding="utf-8")
        file.write_text(text.replace("near_boundary_policy: containing_polygon", "near_boundary_policy: common_parent"))
    other = load_routing_context(
        departments_file=root / "config" / "departments.yaml", registry_dir=root / "config" / "registry",
        rules_dir=root / "config" / "rules", roster_file=root / "config" / "roster" / "wenzhou-roster.csv",
    )
    parent = other.decide(RoutingInput("e", AFTER_SPLIT, "odor", coordinates=point))
    assert parent.provenance.near_boundary.policy == "common_parent"
    assert parent.owning_chain[0].code == "330302"  # the candidates lie in three townships of 鹿城区
    assert decide(RoutingInput("e", AFTER_SPLIT, "odor", coordinates=point), other.registry, other.rules) == parent


def test_pinned_versions_ignore_the_event_time(context):
    event = RoutingInput("e", AFTER_SPLIT, "water_pollution", coordinates=Coordinates(*LONGGANG_POINT))
    pinned = context.pinned(registry_version="wenzhou-2016").decide(event)
    assert pinned.owning_chain[2].code == "330327" and pinned.provenance.registry_version == "wenzhou-2016"


def test_rules_versions_are_picked_by_event_time(tmp_path):
    root = copy_config(tmp_path)
    rules_dir = root / "config" / "rules"
    first = rules_dir / "wenzhou-2016.yaml"
    text = first.read_text(encoding="utf-8")
    first.write_text(text.replace("valid_to: null", "valid_to: 2020-01-01"), encoding="utf-8")
    (rules_dir / "wenzhou-2020.yaml").write_text(
        text.replace("id: wenzhou-rules-2016", "id: wenzhou-rules-2020")
        .replace("valid_from: 2016-01-18", "valid_from: 2020-01-01")
        .replace("lead: ocean-fisheries, assisting: [epb]", "lead: epb, assisting: [ocean-fisheries]"),
        encoding="utf-8",
    )
    context = load_routing_context(
        departments_file=root / "config" / "departments.yaml", registry_dir=root / "config" / "registry",
        rules_dir=rules_dir, roster_file=root / "config" / "roster" / "wenzhou-roster.csv",
    )
    event = dict(event_id="e", category="marine_pollution", grid_code="330382001")
    before = context.decide(RoutingInput(event_time=BEFORE_SPLIT, **event))
    after = context.decide(RoutingInput(event_time=AFTER_SPLIT, **event))
    assert (before.provenance.rules_version, before.lead_department) == ("wenzhou-rules-2016", "ocean-fisheries")
    assert (after.provenance.rules_version, after.lead_department) == ("wenzhou-rules-2020", "epb")


@settings(max_examples=100, deadline=None)
@given(inputs)
def test_decision_record_matches_the_avro_contract(context, avro_routing_decision, event):
    import fastavro

    assert fastavro.validation.validate(context.decide(event).to_dict(), avro_routing_decision)


@pytest.fixture(scope="module")
def avro_routing_decision():
    from pathlib import Path

    from envgrid.connectors.contracts import SCHEMAS_DIR, expand_schema_file, parse_for_fastavro

    types = Path(SCHEMAS_DIR) / "types"
    return parse_for_fastavro(expand_schema_file(types / "RoutingDecision.avsc", types), "RoutingDecision")
