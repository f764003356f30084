"""Property tests of the point-in-grid lookup against brute force over the polygons."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from routingkit import AFTER_SPLIT, BEFORE_SPLIT, latitudes, longitudes

from envgrid.domain.geo.spatial_index import LeafGridIndex
from envgrid.domain.geo.synthetic_partition import load_city_outline
from envgrid.domain.registry import GridLevel


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


@pytest.fixture(scope="module")
def city_outline():
    return load_city_outline()


@settings(max_examples=600, deadline=None)
@given(longitudes, latitudes)
def test_every_point_in_the_city_resolves_to_exactly_one_village_with_a_consistent_chain(context, brute_force, lon, lat):
    containing, near, index = brute_force
    inside, point, _, _ = containing(lon, lat)
    in_city = shapely.intersects(index._outline, point)
    location = index.locate(lon, lat)
    assert (location is not None) == in_city
    if location is None:
        return
    assert len(inside) <= 1  # the leaf polygons do not overlap
    assert inside or near(point, 1e-6)  # nor leave gaps: only a point on an edge is in no interior
    assert location.code == inside[0] if inside else not location.contained
    for version in context.registry.versions:
        chain = version.chain(location.code)
        assert [int(g.level) for g in chain] == [4, 3, 2, 1]
        assert all(child.parent == parent.code for child, parent in pairwise(chain))


@settings(max_examples=600, deadline=None)
@given(st.floats(0, 1), st.floats(-0.001, 0.001), st.floats(-0.001, 0.001))
def test_a_point_outside_the_city_outline_is_never_placed_in_a_village(context, city_outline, along, dx, dy):
    # points within ~100 m of the real outline, on either side, where simplified polygons used to stick out
    edge = shapely.line_interpolate_point(city_outline.boundary, along, normalized=True)
    point = shapely.Point(edge.x + dx, edge.y + dy)
    location = context.registry.at(AFTER_SPLIT).locate(point.x, point.y)
    if shapely.distance(city_outline, point) > 1e-9:  # degrees, ≈0.1 mm: surely outside
        assert location is None
    elif shapely.distance(city_outline.boundary, point) > 1e-9:  # surely inside: in a village, not a gap
        assert location is not None and location.contained


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


def test_a_leaf_just_within_the_distance_of_a_sharp_corner_is_near():
    # GEOS draws a round corner of a buffer with fewer, longer chords than quad_segs suggests; at the
    # worst turn (≈1.5 nominal chord angles) a leaf 199.5 m from the corner must still be near
    lon0, lat0, size = 120.0, 28.0, 0.05
    kx, ky = 111_320.0 * math.cos(math.radians(lat0 + size / 2)), 110_574.0

    def degrees(x, y):
        return lon0 + x / kx, lat0 + y / ky

    turn = math.radians(33.7)
    apex = (2500.0, 2500.0)
    corner = shapely.Polygon([degrees(apex[0] - 1000, apex[1]), degrees(*apex),
                              degrees(apex[0] + 1000 * math.cos(turn), apex[1] + 1000 * math.sin(turn))])
    away = turn / 2 - math.pi / 2  # the corner's outward bisector
    x, y = apex[0] + 199.5 * math.cos(away), apex[1] + 199.5 * math.sin(away)
    beside = shapely.box(*degrees(x - 1, y - 1), *degrees(x + 1, y + 1))
    index = LeafGridIndex([("corner", corner), ("beside", beside)], shapely.box(lon0, lat0, lon0 + size, lat0 + size))
    location = index.locate(*degrees(x, y))
    assert location is not None and location.code == "beside"
    assert set(location.near_codes) == {"beside", "corner"}


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
