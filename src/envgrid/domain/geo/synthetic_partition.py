"""Deterministic synthetic township and village polygons for the demo and the tests.

Real grid (网格) boundaries below the district are drawn by each district and are not public. This
module partitions each real district polygon into its townships, and each township into its villages,
with Voronoi cells of seed points drawn from a generator seeded by the grid code. Street (街道) seeds
cluster around the district seat, a handful of townships are pinned near their real location (those the
functional zones take over), everything else is uniform. Every feature carries `synthetic: true`.

The polygons are an exact coverage of the city outline: each district is clipped to the outline, its
township cells tile it and their village cells tile them. Coordinates are written unrounded (JSON floats
round-trip), so the two copies of a shared edge stay identical.

Regenerate the committed file with `python -m envgrid.domain.geo.synthetic_partition`.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import shapely
import shapely.ops
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry

from envgrid import paths

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


def build_synthetic_partition(
    districts: dict[str, BaseGeometry],
    townships: list[dict[str, str]],
    villages: list[dict[str, str]],
    outline: BaseGeometry | None = None,
) -> list[dict[str, Any]]:
    """GeoJSON features for every village (L4) polygon, an exact coverage of the districts.

    The villages of a township tile its cell, the township cells tile their district and each district
    is clipped to `outline` (the city) when given: no overlaps, no gaps, nothing outside. Nothing is
    simplified or rounded polygon by polygon, which would move each copy of a shared edge its own way.
    A township without villages is its own (L3) leaf.
    """
    cells = build_township_cells(districts, townships, outline)
    villages_by_township: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in villages:
        villages_by_township[row["township_code"]].append(row)
    leaves: list[tuple[str, str, int]] = []
    geometries: list[BaseGeometry] = []
    for row in sorted(townships, key=lambda r: (r["district_code"], r["code"])):
        cell = cells[row["code"]]
        children = sorted(villages_by_township.get(row["code"], []), key=lambda r: r["code"])
        if not children:
            leaves.append((row["code"], row["name"], 3))
            geometries.append(cell)
            continue
        rng = random.Random(int(row["code"]))
        village_seeds = [_uniform_point(cell, rng) for _ in children]
        leaves.extend((village["code"], village["name"], 4) for village in children)
        geometries.extend(_voronoi_cells(village_seeds, cell))
    return [_feature(*leaf, geometry) for leaf, geometry in zip(leaves, _edge_matched(geometries), strict=True)]


def build_township_cells(
    districts: dict[str, BaseGeometry],
    townships: list[dict[str, str]],
    outline: BaseGeometry | None = None,
) -> dict[str, BaseGeometry]:
    """The synthetic polygon of every township (乡镇/街道) by code; those of a district tile it exactly."""
    townships_by_district: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in townships:
        townships_by_district[row["district_code"]].append(row)
    cells: dict[str, BaseGeometry] = {}
    for district_code in sorted(townships_by_district):
        district = districts[district_code]
        if outline is not None:
            district = _polygonal(district.intersection(outline))
        rows = sorted(townships_by_district[district_code], key=lambda r: r["code"])
        seeds = [_township_seed(row, district) for row in rows]
        for row, cell in zip(rows, _voronoi_cells(seeds, district), strict=True):
            cells[row["code"]] = cell
    return cells


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
    """One cell per seed, in seed order, clipped to `area`; the cells cover `area` exactly.

    Every seed lies in `area`, so every clipped cell holds at least its seed and is never empty.
    """
    if len(seeds) == 1:
        return [area]
    jittered = _separate_duplicates(seeds)
    diagram = shapely.voronoi_polygons(MultiPoint(jittered), extend_to=area.envelope.buffer(0.1), ordered=True)
    cells = [_polygonal(cell.intersection(area)) for cell in diagram.geoms]
    for seed, cell in zip(jittered, cells, strict=True):
        if cell.is_empty:
            raise ValueError(f"seed {seed.wkt} lies outside the area it partitions")
    return cells


def _separate_duplicates(seeds: list[Point]) -> list[Point]:
    # a centimetre apart: coincident seeds have no Voronoi cell of their own
    seen: set[tuple[float, float]] = set()
    result = []
    for point in seeds:
        xy = (round(point.x, 7), round(point.y, 7))
        while xy in seen:
            xy = (round(xy[0] + 1e-7, 7), xy[1])
        seen.add(xy)
        result.append(Point(xy))
    return result


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The polygons of an overlay result, without the points and lines where it only touches."""
    parts = [part for part in shapely.get_parts(shapely.get_parts(geometry)) if part.geom_type == "Polygon"]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _edge_matched(geometries: list[BaseGeometry]) -> list[BaseGeometry]:
    """The cells with the two copies of every shared edge made identical.

    Each cell is clipped on its own, so a vertex where a cell edge meets a township or district border is
    computed once per cell and the copies can differ in the last bit (overlaps of ~1e-4 m² in all). GEOS's
    coverage cleaner (shapely >= 2.2) snaps them together, moving nothing by more than a few nanometres.
    """
    clean = getattr(shapely, "coverage_clean", None)
    return geometries if clean is None else list(clean(geometries))


def _feature(code: str, name: str, level: int, geometry: BaseGeometry) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "level": level, "synthetic": True},
        "geometry": mapping(geometry),
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


def load_city_outline(path: Path = paths.BOUNDARIES_GEOJSON) -> BaseGeometry:
    """The real city outline (the feature whose gb code ends in 00)."""
    collection = json.loads(path.read_text(encoding="utf-8"))
    return next(shape(f["geometry"]) for f in collection["features"] if f["properties"]["gb"].endswith("00"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def main(out: Path = paths.SYNTHETIC_GRIDS_GEOJSON) -> None:
    features = build_synthetic_partition(
        load_district_polygons(), read_csv(paths.TOWNSHIPS_CSV), read_csv(paths.VILLAGES_CSV), load_city_outline()
    )
    collection = {
        "type": "FeatureCollection",
        "properties": {
            "synthetic": True,
            "generator": "envgrid.domain.geo.synthetic_partition",
            "note": "Synthetic Voronoi partition of the real district polygons; not real grid boundaries.",
        },
        "features": features,
    }
    out.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {len(features)} features to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
