"""Deterministic synthetic township and village polygons for the demo and the tests.

Real grid (网格) boundaries below the district are drawn by each district and are not public. This
module partitions each real district polygon into its townships, and each township into its villages,
with Voronoi cells of seed points drawn from a generator seeded by the grid code. Street (街道) seeds
cluster around the district seat, a handful of townships are pinned near their real location (those the
functional zones take over), everything else is uniform. Every feature carries `synthetic: true`.

Regenerate the committed file with `python -m domain.geo.synthetic_partition`.
"""

from __future__ import annotations

from typing import Any

import csv
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import shapely
import shapely.ops
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from domain import paths

# Approximate WGS-84 locations of district seats; street seeds cluster around them.
DISTRICT_SEATS: dict[str, tuple[float, float]] = {
    "330302": (120.655, 28.015), "330303": (120.80, 27.93), "330304": (120.64, 27.97),
    "330305": (121.157, 27.836), "330324": (120.69, 28.15), "330326": (120.565, 27.66),
    "330327": (120.43, 27.52), "330328": (120.09, 27.79), "330329": (119.72, 27.56),
    "330381": (120.65, 27.78), "330382": (120.96, 28.12), "330383": (120.55, 27.58),
}
# Approximate locations of townships that the functional zones take over (see config/registry/).
PINNED_TOWNSHIPS: dict[str, tuple[float, float]] = {
    "330303015": (120.86, 27.88), "330303013": (120.83, 27.84), "330303014": (120.79, 27.86),
    "330303012": (120.82, 27.90), "330305002": (120.90, 27.95), "330305005": (121.045, 27.865),
    "330304007": (120.70, 27.97), "330304004": (120.73, 27.93),
}
STREET_SPREAD_DEGREES = 0.03
COORDINATE_DECIMALS = 5
SIMPLIFY_TOLERANCE_DEGREES = 0.0003


def build_synthetic_partition(
    districts: dict[str, BaseGeometry],
    townships: list[dict[str, str]],
    villages: list[dict[str, str]],
) -> list[dict[str, Any]]:
    """GeoJSON features for every village (L4) polygon, partitioning each district exactly."""
    townships_by_district: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in townships:
        townships_by_district[row["district_code"]].append(row)
    villages_by_township: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in villages:
        villages_by_township[row["township_code"]].append(row)

    features = []
    for district_code in sorted(townships_by_district):
        district = districts[district_code]
        rows = sorted(townships_by_district[district_code], key=lambda r: r["code"])
        seeds = [_township_seed(row, district) for row in rows]
        for row, cell in zip(rows, _voronoi_cells(seeds, district)):
            children = sorted(villages_by_township.get(row["code"], []), key=lambda r: r["code"])
            if not children:
                features.append(_feature(row["code"], row["name"], 3, cell))
                continue
            rng = random.Random(int(row["code"]))
            village_seeds = [_uniform_point(cell, rng) for _ in children]
            for village, village_cell in zip(children, _voronoi_cells(village_seeds, cell)):
                features.append(_feature(village["code"], village["name"], 4, village_cell))
    return features


def _township_seed(row: dict[str, str], district: BaseGeometry) -> Point:
    rng = random.Random(int(row["code"]))
    if row["code"] in PINNED_TOWNSHIPS:
        return _inside(Point(PINNED_TOWNSHIPS[row["code"]]), district)
    if row["name"].endswith("街道") and row["district_code"] in DISTRICT_SEATS:
        x, y = DISTRICT_SEATS[row["district_code"]]
        for _ in range(200):
            candidate = Point(rng.gauss(x, STREET_SPREAD_DEGREES), rng.gauss(y, STREET_SPREAD_DEGREES))
            if district.contains(candidate):
                return candidate
    return _uniform_point(district, rng)


def _uniform_point(area: BaseGeometry, rng: random.Random) -> Point:
    minx, miny, maxx, maxy = area.bounds
    for _ in range(10_000):
        candidate = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if area.contains(candidate):
            return candidate
    return area.representative_point()


def _inside(point: Point, area: BaseGeometry) -> Point:
    if area.contains(point):
        return point
    return shapely.ops.nearest_points(area.buffer(-0.001), point)[0]


def _voronoi_cells(seeds: list[Point], area: BaseGeometry) -> list[BaseGeometry]:
    """One cell per seed, in seed order, clipped to `area`; the cells cover `area` exactly."""
    if len(seeds) == 1:
        return [area]
    jittered = _separate_duplicates(seeds)
    diagram = shapely.voronoi_polygons(MultiPoint(jittered), extend_to=area.envelope.buffer(0.1), ordered=True)
    cells = [cell.intersection(area) for cell in diagram.geoms]
    return [cell if not cell.is_empty else area.representative_point().buffer(1e-6) for cell in cells]


def _separate_duplicates(seeds: list[Point]) -> list[Point]:
    seen: set[tuple[float, float]] = set()
    result = []
    for index, point in enumerate(seeds):
        xy = (round(point.x, 7), round(point.y, 7))
        while xy in seen:
            xy = (xy[0] + 1e-5 * (index + 1), xy[1])
        seen.add(xy)
        result.append(Point(xy))
    return result


def _feature(code: str, name: str, level: int, geometry: BaseGeometry) -> dict[str, Any]:
    simplified = geometry.simplify(SIMPLIFY_TOLERANCE_DEGREES, preserve_topology=True)
    rounded = shapely.set_precision(simplified, 10**-COORDINATE_DECIMALS)
    if rounded.is_empty:
        rounded = shapely.set_precision(geometry, 10**-COORDINATE_DECIMALS)
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "level": level, "synthetic": True},
        "geometry": mapping(rounded),
    }


def load_district_polygons(path: Path = paths.BOUNDARIES_GEOJSON) -> dict[str, BaseGeometry]:
    """Real district polygons keyed by 6-digit code; the city feature (gb 156330300) is skipped."""
    collection = json.loads(path.read_text(encoding="utf-8"))
    result = {}
    for feature in collection["features"]:
        code = feature["properties"]["gb"][3:]
        if not code.endswith("00"):
            result[code] = shape(feature["geometry"])
    return result


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def main(out: Path = paths.SYNTHETIC_GRIDS_GEOJSON) -> None:
    features = build_synthetic_partition(
        load_district_polygons(), read_csv(paths.TOWNSHIPS_CSV), read_csv(paths.VILLAGES_CSV)
    )
    collection = {
        "type": "FeatureCollection",
        "properties": {
            "synthetic": True,
            "generator": "domain.geo.synthetic_partition",
            "note": "Synthetic Voronoi partition of the real district polygons; not real grid boundaries.",
        },
        "features": features,
    }
    out.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {len(features)} features to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
