"""Point-in-grid lookup: which leaf grid polygon contains a WGS-84 point, and which others are near.

A bucket grid over the city answers most points without any geometry call: a cell whose square,
widened by the near-boundary distance, lies inside one polygon can only ever give that polygon and no
neighbour. Other cells keep their few candidate polygons and are answered with prepared geometries.
Distances use a local equirectangular projection in metres (error ≈1 % over the city, fine for a
boundary margin of a few hundred metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

_contains_xy = getattr(shapely.lib, "contains_xy", shapely.contains_xy)  # the ufunc, without the wrapper
_CELLS_PER_CHUNK = 8192
_BUFFER_QUAD_SEGMENTS = 8  # widens the buffers by at most 1.1 %
_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0
_FAR = 1e12  # beyond any grid cell index: the bound that turns inf away before int()


class PointLocation(NamedTuple):
    """The leaf polygon containing a point, and every leaf within the near-boundary distance."""

    code: str
    near_codes: tuple[str, ...]  # empty unless two or more leaves are within the distance
    contained: bool  # False when the point fell in a sliver between polygons and the nearest won


@dataclass(frozen=True, slots=True)
class _MixedCell:
    codes: tuple[str, ...]  # candidate leaves, sorted by code
    geometries: np.ndarray  # their polygons, then their near-boundary buffers, in the same order
    answers: dict[bytes, PointLocation] = field(default_factory=dict)  # hit pattern -> answer


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
        self._outline = self._project(outline)
        shapely.prepare(self._outline)
        self._polygons = _within(np.array([self._project(g) for _, g in leaves], dtype=object), self._outline)
        shapely.prepare(self._polygons)
        self._cell = cell_size_m
        # polygonal buffers are inscribed in the true one: widen them so that no point within the
        # distance is missed (points up to 2 % farther may be counted as near too). GEOS rounds the
        # number of chords of a round corner to the nearest whole, so one chord may span 1.5 times the
        # nominal angle (a quarter circle / quad_segs); sized for the nominal one, 3 points in 100,000 missed a leaf.
        self._margin = near_distance_m / math.cos(3 * math.pi / (8 * _BUFFER_QUAD_SEGMENTS))
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
        if not (0 <= x < _FAR and 0 <= y < _FAR):  # also NaN and inf: non-finite means "no coordinates"
            return None
        ix, iy = int(x / self._cell), int(y / self._cell)
        if ix >= self._nx or iy >= self._ny:
            return None
        entry: Any = self._cells[ix * self._ny + iy]  # `__class__ is` is the fast test here; mypy cannot narrow it
        if entry.__class__ is PointLocation or entry is None:
            return entry
        return self._locate_in_mixed_cell(entry, x, y)

    def _locate_in_mixed_cell(self, cell: _MixedCell, x: float, y: float) -> PointLocation | None:
        # one vectorised call tests the candidates and their near-boundary buffers together; the answer
        # depends only on which of them contain the point, so it is memoised per hit pattern
        hits = _contains_xy(cell.geometries, x, y)
        pattern = hits.tobytes()
        found = cell.answers.get(pattern)
        if found is None:
            found = self._answer(cell, hits.tolist(), x, y)
            if found is not None and found.contained:
                cell.answers[pattern] = found
        return found

    def _answer(self, cell: _MixedCell, hits: list[bool], x: float, y: float) -> PointLocation | None:
        count = len(cell.codes)
        near_codes = tuple(code for code, hit in zip(cell.codes, hits[count:], strict=False) if hit)
        if len(near_codes) < 2:
            near_codes = ()
        for code, hit in zip(cell.codes, hits, strict=False):
            if hit:
                return PointLocation(code, near_codes, True)
        point = shapely.Point(x, y)
        if not shapely.intersects(self._outline, point):
            return None
        distances = shapely.distance(cell.geometries[:count], point)
        return PointLocation(cell.codes[int(np.argmin(distances))], near_codes, False)

    def _build_cells(self) -> list[PointLocation | _MixedCell | None]:
        """Per cell: a PointLocation when one polygon covers it with margin, None when outside, else candidates."""
        buffers = shapely.buffer(self._polygons, self._margin, quad_segs=_BUFFER_QUAD_SEGMENTS)
        shapely.prepare(buffers)
        tree = shapely.STRtree(self._polygons)
        cells: list[PointLocation | _MixedCell | None] = [None] * (self._nx * self._ny)
        pure: dict[int, PointLocation] = {}
        mixed: dict[tuple[int, ...], _MixedCell] = {}  # neighbouring cells often share their candidates
        for first in range(0, len(cells), _CELLS_PER_CHUNK):  # chunks bound the memory of the cell boxes
            numbers = np.arange(first, min(first + _CELLS_PER_CHUNK, len(cells)))
            widened = self._widened_cells(numbers)
            chunk_cell, leaf_index = tree.query(widened, predicate="intersects")
            split_at = np.flatnonzero(np.diff(chunk_cell)) + 1
            for cells_group, leaves_group in zip(np.split(chunk_cell, split_at), np.split(leaf_index, split_at), strict=True):
                if not len(cells_group):
                    continue
                local = int(cells_group[0])
                leaves = tuple(sorted(leaves_group.tolist(), key=self._codes.__getitem__))
                if len(leaves) == 1 and shapely.contains(self._polygons[leaves[0]], widened[local]):
                    leaf = leaves[0]
                    cells[first + local] = pure.setdefault(leaf, PointLocation(self._codes[leaf], (), True))
                    continue
                if leaves not in mixed:
                    order = list(leaves)
                    geometries = np.concatenate([self._polygons[order], buffers[order]])
                    mixed[leaves] = _MixedCell(tuple(self._codes[i] for i in order), geometries)
                cells[first + local] = mixed[leaves]
        return cells

    def _widened_cells(self, numbers: np.ndarray) -> np.ndarray:
        size, margin = self._cell, self._margin
        x0 = (numbers // self._ny) * size - margin
        y0 = (numbers % self._ny) * size - margin
        return shapely.box(x0, y0, x0 + size + 2 * margin, y0 + size + 2 * margin)

    def _project(self, geometry: BaseGeometry) -> BaseGeometry:
        lon0, lat0, kx, ky = self._lon0, self._lat0, self._kx, self._ky
        return shapely.transform(geometry, lambda xy: (xy - (lon0, lat0)) * (kx, ky))


def _within(polygons: np.ndarray, outline: BaseGeometry) -> np.ndarray:
    """The leaves cut to the city outline, so that no point outside the city is ever placed in one,
    whatever file drew them (a leaf that sticks out by a metre would otherwise win that metre)."""
    sticking_out = ~shapely.covers(outline, polygons)
    polygons[sticking_out] = shapely.intersection(polygons[sticking_out], outline)
    return polygons
