"""The synthetic village polygons are an exact coverage: villages tile townships, townships tile districts,
districts tile the city outline. Areas are measured in square metres; the tolerance is float noise."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from envgrid import paths
from envgrid.domain.geo.synthetic_partition import (
    build_synthetic_partition,
    build_township_cells,
    load_city_outline,
    load_district_polygons,
    read_csv,
)

SQUARE_METRES_PER_SQUARE_DEGREE = 110_574.0 * 111_320.0 * math.cos(math.radians(27.9))  # at Wenzhou
METRES_PER_DEGREE = 111_320.0
TOLERANCE_M2 = 1.0


@pytest.fixture(scope="module")
def committed():
    collection = json.loads(paths.SYNTHETIC_GRIDS_GEOJSON.read_text(encoding="utf-8"))
    codes = [feature["properties"]["code"] for feature in collection["features"]]
    return collection, codes, np.array([shape(f["geometry"]) for f in collection["features"]], dtype=object)


@pytest.fixture(scope="module")
def outline():
    return load_city_outline()


def test_committed_file_is_what_the_generator_makes(committed, outline):
    features = build_synthetic_partition(
        load_district_polygons(), read_csv(paths.TOWNSHIPS_CSV), read_csv(paths.VILLAGES_CSV), outline
    )
    collection, _, kept = committed
    assert collection["properties"]["synthetic"] is True
    assert [f["properties"] for f in features] == [f["properties"] for f in collection["features"]]
    # equal up to floating-point differences between GEOS builds
    made = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    assert (shapely.area(shapely.symmetric_difference(made, kept)) < 1e-8).all()


def test_every_village_has_one_valid_polygon(committed):
    collection, codes, polygons = committed
    assert sorted(codes) == sorted(row["code"] for row in read_csv(paths.VILLAGES_CSV))
    assert all(f["properties"]["synthetic"] and f["properties"]["level"] == 4 for f in collection["features"])
    assert shapely.is_valid(polygons).all()
    assert set(shapely.get_type_id(polygons).tolist()) <= {3, 6}  # Polygon, MultiPolygon
    assert (shapely.area(polygons) > 0).all()


def test_no_two_villages_overlap(committed):
    _, _, polygons = committed
    first, second = shapely.STRtree(polygons).query(polygons, predicate="intersects")
    pairs = first < second
    overlap = shapely.area(shapely.intersection(polygons[first[pairs]], polygons[second[pairs]])).sum()
    assert overlap * SQUARE_METRES_PER_SQUARE_DEGREE < TOLERANCE_M2


def test_the_villages_of_each_township_tile_its_cell(committed, outline):
    _, codes, polygons = committed
    cells = build_township_cells(load_district_polygons(), read_csv(paths.TOWNSHIPS_CSV), outline)
    by_township = defaultdict(list)
    for code, polygon in zip(codes, polygons, strict=True):
        by_township[code[:9]].append(polygon)
    assert set(by_township) == set(cells)
    mismatch = sum(shapely.union_all(by_township[code]).symmetric_difference(cells[code]).area for code in cells)
    assert mismatch * SQUARE_METRES_PER_SQUARE_DEGREE < TOLERANCE_M2


def test_townships_tile_their_district_and_districts_tile_the_city_outline(outline):
    districts = load_district_polygons()
    cells = build_township_cells(districts, read_csv(paths.TOWNSHIPS_CSV), outline)
    by_district = defaultdict(list)
    for code, cell in cells.items():
        by_district[code[:6]].append(cell)
    assert set(by_district) == set(districts)
    for code, district in districts.items():
        pieces = by_district[code]
        overlap = sum(piece.area for piece in pieces) - shapely.union_all(pieces).area
        gap_or_excess = shapely.union_all(pieces).symmetric_difference(district).area
        assert overlap * SQUARE_METRES_PER_SQUARE_DEGREE < TOLERANCE_M2, code
        assert gap_or_excess * SQUARE_METRES_PER_SQUARE_DEGREE < TOLERANCE_M2, code
    city = shapely.union_all(list(districts.values()))
    assert city.symmetric_difference(outline).area * SQUARE_METRES_PER_SQUARE_DEGREE < TOLERANCE_M2


def test_the_villages_cover_the_city_outline_and_nothing_outside_it(committed, outline):
    _, _, polygons = committed
    union = shapely.union_all(polygons)
    assert outline.difference(union).area * SQUARE_METRES_PER_SQUARE_DEGREE < TOLERANCE_M2  # no gap
    assert union.difference(outline).area * SQUARE_METRES_PER_SQUARE_DEGREE < TOLERANCE_M2  # nothing outside
    vertices = shapely.points(shapely.get_coordinates(polygons))
    assert shapely.distance(outline, vertices).max() * METRES_PER_DEGREE < 1e-3  # no vertex a millimetre out
