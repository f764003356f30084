"""Point-in-grid lookup: which leaf grid polygon contains a WGS-84 point, and which others are near.

A bucket grid over the city answers most points without any geometry call: a cell whose square,
widened by the near-boundary distance, lies inside one polygon can only ever give that polygon and no
neighbour. Other cells keep their few candidate polygons and are answered with prepared geometries.
Distances use a local equirectangular projection in metres (error ≈1 % over the city, fine for a
boundary margin of a few hundred metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

OUTSIDE = -1
_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0


@dataclass(frozen=True, slots=True)
class PointLocation:
    """The leaf polygon containing a point, and every leaf within the near-boundary distance."""

    code: str
    near_codes: tuple[str, ...]  # empty unless two or more leaves are within the distance
    contained: bool  # False when the point fell in a sliver between polygons and the nearest won


class LeafGridIndex:
    """Spatial index of leaf grid polygons (usually villages, 村/社区) covering the city outline."""

    def __init__(
        self,
        leaves: list[tuple[str, BaseGeometry]],
        outline: BaseGeometry,
        near_distance_m: float = 200.0,
        cell_size_m: float = 400.0,
    ) -> None:
        self.near_distance_m = near_distance_m
        self._codes = [code for code, _ in leaves]
        minx, miny, maxx, maxy = outline.bounds
        self._lon0, self._lat0 = minx, miny
        self._kx = _METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians((miny + maxy) / 2))
        self._ky = _METRES_PER_DEGREE_LAT
        self._polygons = np.array([self._project(g) for _, g in leaves], dtype=object)
        self._outline = self._project(outline)
        shapely.prepare(self._polygons)
        shapely.prepare(self._outline)
        self._cell = cell_size_m
        self._nx = int(self._kx * (maxx - minx) / cell_size_m) + 1
        self._ny = int(self._ky * (maxy - miny) / cell_size_m) + 1
        self._cells = self._build_cells()

    @property
    def leaf_codes(self) -> tuple[str, ...]:
        return tuple(self._codes)

    def locate(self, lon: float, lat: float) -> PointLocation | None:
        """Where a WGS-84 point falls, or None when it lies outside the city outline."""
        x = (lon - self._lon0) * self._kx
        y = (lat - self._lat0) * self._ky
        ix, iy = int(x // self._cell), int(y // self._cell)
        if not (0 <= ix < self._nx and 0 <= iy < self._ny):
            return None
        entry = self._cells[ix * self._ny + iy]
        if entry.__class__ is int:
            return None if entry == OUTSIDE else PointLocation(self._codes[entry], (), True)
        return self._locate_in_mixed_cell(entry, x, y)

    def _locate_in_mixed_cell(self, candidates: np.ndarray, x: float, y: float) -> PointLocation | None:
        polygons = self._polygons[candidates]
        inside = shapely.contains_xy(polygons, x, y)
        point = shapely.Point(x, y)
        near = shapely.dwithin(polygons, point, self.near_distance_m)
        near_codes = tuple(sorted(self._codes[i] for i in candidates[near]))
        if inside.any():
            code = self._codes[candidates[inside.argmax()]]
            return PointLocation(code, near_codes if len(near_codes) > 1 else (), True)
        if not shapely.contains_xy(self._outline, x, y) and not shapely.intersects(self._outline, point):
            return None
        nearest = candidates[int(np.argmin(shapely.distance(polygons, point)))]
        return PointLocation(self._codes[nearest], near_codes if len(near_codes) > 1 else (), False)

    def _build_cells(self) -> list:
        nx, ny, size, margin = self._nx, self._ny, self._cell, self.near_distance_m
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        x0, y0 = ix.ravel() * size - margin, iy.ravel() * size - margin
        widened = shapely.box(x0, y0, x0 + size + 2 * margin, y0 + size + 2 * margin)
        cells: list = [OUTSIDE] * (nx * ny)
        cell_index, leaf_index = shapely.STRtree(self._polygons).query(widened, predicate="intersects")
        split_at = np.flatnonzero(np.diff(cell_index)) + 1
        for cells_group, leaves_group in zip(np.split(cell_index, split_at), np.split(leaf_index, split_at)):
            cell = int(cells_group[0])
            if len(leaves_group) == 1 and shapely.contains(self._polygons[leaves_group[0]], widened[cell]):
                cells[cell] = int(leaves_group[0])
            else:
                cells[cell] = np.sort(leaves_group)
        return cells

    def _project(self, geometry: BaseGeometry) -> BaseGeometry:
        lon0, lat0, kx, ky = self._lon0, self._lat0, self._kx, self._ky
        return shapely.transform(geometry, lambda xy: (xy - (lon0, lat0)) * (kx, ky))
