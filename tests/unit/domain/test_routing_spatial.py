"""Property tests of the point-in-grid lookup against brute force over the polygons."""

from __future__ import annotations

import pytest
import shapely
from hypothesis import assume, given, settings
from routingkit import AFTER_SPLIT, BEFORE_SPLIT, latitudes, longitudes

from domain.registry import GridLevel


@pytest.fixture(scope="module")
def brute_force(context):
    index = context.registry.at(AFTER_SPLIT).index
    polygons = index._polygons
    tree = shapely.STRtree(polygons)
    codes = index.leaf_codes

    def containing(lon, lat):
        x, y = (lon - index._lon0) * index._kx, (lat - index._lat0) * index._ky
        point = shapely.Point(x, y)
        return [codes[i] for i in tree.query(point) if polygons[i].contains(point)], point, x, y

    def near(point, distance):
        return sorted(codes[i] for i in tree.query(point, predicate="dwithin", distance=distance))

    return containing, near, index


@settings(max_examples=600, deadline=None)
@given(longitudes, latitudes)
def test_every_point_in_the_city_resolves_to_exactly_one_village_with_a_consistent_chain(context, brute_force, lon, lat):
    containing, _, index = brute_force
    inside, point, _, _ = containing(lon, lat)
    in_city = shapely.intersects(index._outline, point)
    location = index.locate(lon, lat)
    assert (location is not None) == in_city
    if location is None:
        return
    assert len(inside) <= 1  # the leaf polygons do not overlap
    assert location.code == inside[0] if inside else not location.contained
    for version in context.registry.versions:
        chain = version.chain(location.code)
        assert [int(g.level) for g in chain] == [4, 3, 2, 1]
        assert all(child.parent == parent.code for child, parent in zip(chain, chain[1:]))


@settings(max_examples=1000, deadline=None)
@given(longitudes, latitudes)
def test_near_boundary_candidates_are_the_polygons_within_the_distance(brute_force, lon, lat):
    containing, near, index = brute_force
    inside, point, _, _ = containing(lon, lat)
    location = index.locate(lon, lat)
    assume(location is not None and inside)
    # every polygon within the distance is a candidate; the polygonal buffers may add ones up to 2 % farther
    surely_near = near(point, index.near_distance_m)
    maybe_near = near(point, index.near_distance_m * 1.02 + 0.5)
    found = set(location.near_codes) or {location.code}
    assert set(surely_near) <= found <= set(maybe_near)


def test_outside_the_city_is_not_a_location(context):
    version = context.registry.at(AFTER_SPLIT)
    assert version.locate(116.4, 39.9) is None  # Beijing
    assert version.locate(121.6, 28.0) is None  # East China Sea, east of the bounding box
    assert version.locate(119.7, 28.5) is None  # inside the bounding box, in Lishui


def test_split_changes_the_district_only_in_longgang(context):
    before, after = context.registry.at(BEFORE_SPLIT), context.registry.at(AFTER_SPLIT)
    leaf = after.locate(120.55, 27.58).code
    assert after.chain(leaf)[2].code == "330383" and before.chain(leaf)[2].code == "330327"
    for code in after.index.leaf_codes:
        if not code.startswith("330383"):
            assert before.chain_codes(code) == after.chain_codes(code)
    assert all(g.level == GridLevel.VILLAGE for g in map(after.grid, after.index.leaf_codes))
