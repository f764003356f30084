from __future__ import annotations

import json

import shapely
from shapely.geometry import shape

from domain import paths
from domain.geo.synthetic_partition import build_synthetic_partition, load_district_polygons, read_csv


def test_committed_file_is_what_the_generator_makes():
    features = build_synthetic_partition(
        load_district_polygons(), read_csv(paths.TOWNSHIPS_CSV), read_csv(paths.VILLAGES_CSV)
    )
    committed = json.loads(paths.SYNTHETIC_GRIDS_GEOJSON.read_text(encoding="utf-8"))
    assert committed["properties"]["synthetic"] is True
    assert [f["properties"] for f in features] == [f["properties"] for f in committed["features"]]
    # equal up to floating-point differences between GEOS builds
    made = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    kept = shapely.from_geojson([json.dumps(f["geometry"]) for f in committed["features"]])
    assert (shapely.area(shapely.symmetric_difference(made, kept)) < 1e-8).all()


def test_every_village_has_one_polygon_and_the_polygons_tile_each_district():
    committed = json.loads(paths.SYNTHETIC_GRIDS_GEOJSON.read_text(encoding="utf-8"))["features"]
    villages = {row["code"] for row in read_csv(paths.VILLAGES_CSV)}
    assert sorted(f["properties"]["code"] for f in committed) == sorted(villages)
    assert all(f["properties"]["synthetic"] and f["properties"]["level"] == 4 for f in committed)
    by_district: dict[str, list] = {}
    for feature in committed:
        by_district.setdefault(feature["properties"]["code"][:6], []).append(shape(feature["geometry"]))
    for code, district in load_district_polygons().items():
        pieces = by_district[code]
        union = shapely.union_all(pieces)
        assert union.symmetric_difference(district).area < 0.01 * district.area, code  # simplified edges
        assert sum(p.area for p in pieces) - union.area < 0.001 * district.area, code  # no real overlaps
