"""Valid events are where their truth says: inside the real district (after undoing GCJ-02 / BD-09),
in the true village's grid, with address text naming real places; repeats are near their original."""

from __future__ import annotations

import math

import shapely

from envgrid.simulator.reference import CITY_NAME, load_geography, registry_set, to_wgs84


def _wgs84(event):
    location = event.value["location"]
    return to_wgs84(location["longitude"], location["latitude"], location["datum"])


def _located(sample):
    return [e for e in sample if e.truth.valid and e.truth.has_coordinates and e.value is not None]


def test_every_coordinate_lies_inside_wenzhou_and_its_true_district(sample):
    geography = load_geography()
    city = shapely.union_all(list(geography.district_polygons.values()))
    located = _located(sample)
    assert len(located) > 3000
    for event in located:
        lon, lat = _wgs84(event)
        assert shapely.contains_xy(city, lon, lat), event.truth
        assert shapely.contains_xy(geography.district_polygons[event.truth.district_code], lon, lat), event.truth


def test_the_grid_index_finds_the_true_village(sample):
    located = [e for e in _located(sample) if e.truth.placement == "village"]
    registry = registry_set()
    hits = 0
    for event in located:
        found = registry.at(event.value["occurred_at"]).locate(*_wgs84(event))
        hits += found is not None and found.code == event.truth.village_code
    assert hits >= 0.99 * len(located)


def test_truth_places_are_real_and_nested(sample):
    geography = load_geography()
    for event in sample:
        truth = event.truth
        if truth.valid and truth.village_code:
            village = geography.villages[truth.village_code]
            assert village.parent_code == truth.township_code
            assert geography.townships[truth.township_code].parent_code == truth.district_code
            assert truth.grid_chain[0] == truth.village_code and truth.grid_chain[-1] == "3303"


def test_address_text_names_real_places(sample):
    geography = load_geography()
    with_address = [e for e in sample if e.truth.valid and e.truth.has_address]
    assert len(with_address) > 2500
    for event in with_address:
        text, truth = event.value["location"]["address"], event.truth
        assert truth.address_levels, text
        if "city" in truth.address_levels:
            assert text.startswith(CITY_NAME)
        if "district" in truth.address_levels:
            assert geography.districts[truth.district_code].name in text
        if "township" in truth.address_levels:
            assert _stem(geography.townships[truth.township_code].name) in text
        if "village" in truth.address_levels:
            assert _stem(geography.villages[truth.village_code].name) in text


def test_the_address_matcher_mostly_finds_the_named_grid(sample):
    """Address-only reports must be routable: the domain's matcher finds the grid chain the text names."""
    registry = registry_set()
    address_only = [e for e in sample if e.truth.valid and e.truth.has_address and not e.truth.has_coordinates]
    assert address_only
    consistent = 0
    for event in address_only:
        found = registry.at(event.value["occurred_at"]).address_matcher.match(event.value["location"]["address"])
        consistent += found is not None and found.code in event.truth.grid_chain
    assert consistent >= 0.95 * len(address_only)


def test_location_kinds_all_occur(sample):
    reports = [e for e in sample if e.truth.valid and e.kind == "PetitionComplaint"]
    kinds = {(e.truth.has_coordinates, e.truth.has_address) for e in reports}
    assert kinds == {(True, True), (True, False), (False, True)}


def test_repeats_are_near_the_original_in_space_and_time(sample, by_id):
    duplicates = [e for e in sample if e.truth.duplicate_of]
    assert duplicates
    for event in duplicates:
        original = by_id[event.truth.duplicate_of]
        assert event.value["category"] == original.value["category"]
        assert event.truth.village_code == original.truth.village_code
        assert abs(event.value["occurred_at"] - original.value["occurred_at"]).total_seconds() <= 48 * 3600
        assert event.value.get("channel") != original.value.get("channel")
        if original.truth.has_coordinates:
            assert event.truth.has_coordinates
            assert _metres(_wgs84(event), _wgs84(original)) <= 141  # the merge radius is 150 m
        else:
            assert event.truth.address_levels == original.truth.address_levels


def _stem(name: str) -> str:
    """The name without its 街道/社区/村 suffix (addresses use suffix variants)."""
    for suffix in ("街道", "社区", "村"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    dy = (a[1] - b[1]) * 110_574
    return math.hypot(dx, dy)
