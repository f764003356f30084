"""Where incidents happen: a real district, township and village, a point inside its polygon, and the
address text a citizen would give for it.

Points are sampled in the village's synthetic polygon when the domain provides one (`data/wenzhou/
synthetic_grids.geojson`), else in the real district polygon; either way they also stay ~30 m inside the
district boundary, so that a datum round trip or a 6-decimal rounding never moves them out of it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from envgrid.simulator.rand import Weighted, pick, randint
from envgrid.simulator.reference import CITY_NAME, DISTRICT_WEIGHTS, Geography

DISTRICT_MARGIN_DEGREES = 0.0003  # ≈30 m inward from the real district boundary
_BATCH = 64
_MAX_BATCHES = 12
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0

_ROADS = (
    "人民路", "解放街", "府前街", "学院路", "车站大道", "滨江路", "瓯江路", "飞霞路", "新城大道", "锦绣路",
    "划龙桥路", "黎明路", "温州大道", "兴园路", "机场大道", "东海大道", "塘下大道", "南塘街", "江滨路",
    "东风路", "工业路", "振兴路", "环城路", "建设路", "文化路", "商贸路", "沿河路", "中心街",
)
_LANDMARKS = (
    "村口", "菜市场旁", "桥头", "工业区内", "河边", "老街", "小学对面", "加油站后面", "农贸市场边上",
    "文化礼堂旁", "山脚下", "码头附近", "停车场边", "公交站旁", "大桥底下", "祠堂后面",
)
_NEAR = ("附近", "旁边", "对面", "门口", "一带", "", "", "")


@dataclass(slots=True)
class Spot:
    """A true incident location: the real grid codes it is in and its WGS-84 point."""

    district_code: str
    township_code: str
    village_code: str
    lon: float
    lat: float
    placement: str  # polygon the point was sampled in: "village" or "district"


class PlaceSampler:
    """Picks districts by population, townships and villages uniformly, and points in their polygons."""

    def __init__(self, geography: Geography, rng: random.Random) -> None:
        self.geo = geography
        self.rng = rng
        # Candidate points come in vectorised batches from a numpy generator seeded from `rng` (so still
        # deterministic); each village keeps the accepted points of its last batch as a pool.
        self._np = np.random.default_rng(rng.getrandbits(128))
        self._districts = Weighted([(c, DISTRICT_WEIGHTS.get(c, 30.0)) for c in sorted(geography.district_polygons)])
        self._inner: dict[str, BaseGeometry] = {}
        self._pools: dict[str, list[tuple[float, float]]] = {}

    def incident_place(self, district_code: str | None = None) -> Spot:
        rng = self.rng
        district = district_code or self._districts.draw(rng)
        township = pick(rng, self.geo.townships_of[district])
        villages = self.geo.villages_of.get(township) or [township]
        village = pick(rng, villages)
        leaf = self.geo.leaf_polygon(village)
        point = self._sample(village, leaf, district) if leaf is not None else None
        if point is not None:
            return Spot(district, township, village, point[0], point[1], "village")
        point = self._sample(district, self.geo.district_polygons[district], district)
        if point is None:  # unreachable for real district polygons; keeps the type honest
            raise RuntimeError(f"cannot sample a point inside district {district}")
        return Spot(district, township, village, point[0], point[1], "district")

    def jitter(self, spot: Spot, metres: float) -> Spot:
        """A point `metres` away from `spot`, in the same village polygon (or district) when possible."""
        rng = self.rng
        area = self.geo.leaf_polygon(spot.village_code) if spot.placement == "village" else None
        inner = self._inner_district(spot.district_code)
        for distance in (metres, metres, metres, metres * 0.6, metres * 0.4, 30.0, 30.0):
            for _ in range(6):
                bearing = rng.random() * 2 * math.pi
                lat = spot.lat + distance * math.cos(bearing) / _M_PER_DEG_LAT
                lon = spot.lon + distance * math.sin(bearing) / (
                    _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(spot.lat)))
                if shapely.contains_xy(inner, lon, lat) and (area is None or shapely.contains_xy(area, lon, lat)):
                    return Spot(spot.district_code, spot.township_code, spot.village_code, lon, lat, spot.placement)
        return spot

    def _inner_district(self, district: str) -> BaseGeometry:
        inner = self._inner.get(district)
        if inner is None:
            inner = self.geo.district_polygons[district].buffer(-DISTRICT_MARGIN_DEGREES)
            shapely.prepare(inner)
            self._inner[district] = inner
        return inner

    def _sample(self, key: str, area: BaseGeometry, district: str) -> tuple[float, float] | None:
        pool = self._pools.setdefault(key, [])
        if pool:
            return pool.pop()
        shapely.prepare(area)
        inner = self._inner_district(district)
        minx, miny, maxx, maxy = area.bounds
        for _ in range(_MAX_BATCHES):
            xs = minx + (maxx - minx) * self._np.random(_BATCH)
            ys = miny + (maxy - miny) * self._np.random(_BATCH)
            ok = shapely.contains_xy(area, xs, ys) & shapely.contains_xy(inner, xs, ys)
            if ok.any():
                pool.extend(zip(xs[ok].tolist(), ys[ok].tolist(), strict=True))
                return pool.pop()
        return None


def address_text(geo: Geography, spot: Spot, rng: random.Random, *, patrol: bool = False,
                 levels: tuple[str, ...] | None = None) -> tuple[str, tuple[str, ...]]:
    """Chinese address text for `spot` and the levels it names (city/district/township/village).

    Levels go missing at realistic rates and names get suffix variants; pass `levels` to name exactly
    those levels (a repeat report that must resolve to the same grid as the original).
    """
    district = geo.districts[spot.district_code].name
    township = geo.townships[spot.township_code].name
    village = geo.villages[spot.village_code].name if spot.village_code in geo.villages else None
    if levels is None:
        keep_city = not patrol and rng.random() < 0.6
        keep_district = rng.random() < (0.5 if patrol else 0.88)
        keep_township = rng.random() < 0.85
        keep_village = village is not None and rng.random() < 0.8
        if not (keep_district or keep_township or keep_village):
            keep_township = True
        if "直辖" in township:  # "县直辖村级区划" is a statistical bucket, nobody writes it
            keep_township, keep_district = False, True
    else:
        keep_city, keep_district, keep_township, keep_village = (
            level in levels for level in ("city", "district", "township", "village"))
    named: list[str] = []
    parts: list[str] = []
    for keep, level, name in (
        (keep_city, "city", CITY_NAME), (keep_district, "district", district),
        (keep_township, "township", _variant(township, rng)),
        (keep_village and village is not None, "village", _variant(village or "", rng)),
    ):
        if keep:
            parts.append(name)
            named.append(level)
    if rng.random() < 0.55:
        parts.append(f"{pick(rng, _ROADS)}{randint(rng, 1, 388)}号{pick(rng, _NEAR)}")
    else:
        parts.append(pick(rng, _LANDMARKS))
    return "".join(parts), tuple(named)


def _variant(name: str, rng: random.Random) -> str:
    """Suffix variants people write: 街道办事处, 社区居委会, 村委会, or the bare name without 街道."""
    roll = rng.random()
    if roll > 0.2:
        return name
    if name.endswith("街道"):
        return name + "办事处" if roll < 0.1 else name[:-2]
    if name.endswith("社区"):
        return name + "居委会"
    if name.endswith("村"):
        return name + "委会"
    return name
