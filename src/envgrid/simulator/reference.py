"""What the simulator reads from the domain: places and polygons, categories, rules, departments, roster.

Everything comes from the project's own files (`data/wenzhou/`, `config/`) through the domain's loaders
and `envgrid.paths`; nothing here reads `../shared`. The place tables and polygons are read from the same
files the grid registry is built from; the registry itself (`registry_set`) gives the true grid chain of
an incident (functional zones, the 2019 split of 龙港市) and is loaded lazily because it is slow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from envgrid import paths
from envgrid.domain import departments
from envgrid.domain.geo.datums import from_wgs84, to_wgs84  # noqa: F401  (the one datum converter)
from envgrid.domain.geo.synthetic_partition import load_district_polygons, read_csv
from envgrid.domain.registry import CHINA_TIME, RegistrySet, load_registry_set
from envgrid.domain.roster import load_roster
from envgrid.domain.rules import RulesSet, list_categories, load_rules_set

CITY_NAME = "温州市"

# Rough resident population (万人, 2020 census) as the weight of a district in complaint volume.
DISTRICT_WEIGHTS: dict[str, float] = {
    "330302": 110, "330303": 77, "330304": 96, "330305": 15, "330324": 87, "330326": 86,
    "330327": 84, "330328": 29, "330329": 27, "330381": 152, "330382": 140, "330383": 46,
}


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    parent_code: str | None = None


@dataclass
class Geography:
    """Real districts, townships and villages with the district polygons and synthetic leaf polygons."""

    districts: dict[str, Place]
    townships: dict[str, Place]
    villages: dict[str, Place]
    townships_of: dict[str, list[str]]
    villages_of: dict[str, list[str]]
    district_polygons: dict[str, BaseGeometry]
    _leaf_features: dict[str, dict[str, Any]]
    _leaf_cache: dict[str, BaseGeometry | None]

    def leaf_polygon(self, code: str) -> BaseGeometry | None:
        """Synthetic polygon of a village (or of a township without villages), if the domain made one."""
        if code not in self._leaf_cache:
            feature = self._leaf_features.get(code)
            self._leaf_cache[code] = shape(feature["geometry"]) if feature else None
        return self._leaf_cache[code]


@lru_cache(maxsize=4)
def load_geography(data_dir: Path = paths.DATA_DIR) -> Geography:
    """Places and polygons from `data_dir` (the files `config/registry/*.yaml` build the registry from)."""
    districts = {r["code"]: Place(r["code"], r["name"]) for r in read_csv(data_dir / "districts.csv")}
    townships: dict[str, Place] = {}
    townships_of: dict[str, list[str]] = {code: [] for code in districts}
    for row in read_csv(data_dir / "townships.csv"):
        townships[row["code"]] = Place(row["code"], row["name"], row["district_code"])
        townships_of.setdefault(row["district_code"], []).append(row["code"])
    villages: dict[str, Place] = {}
    villages_of: dict[str, list[str]] = {code: [] for code in townships}
    for row in read_csv(data_dir / "villages.csv"):
        villages[row["code"]] = Place(row["code"], row["name"], row["township_code"])
        villages_of.setdefault(row["township_code"], []).append(row["code"])
    polygons = load_district_polygons(data_dir / "boundaries.geojson")
    missing = sorted(set(districts) - set(polygons))
    if missing:
        raise ValueError(f"{data_dir / 'boundaries.geojson'} lacks polygons for districts {missing}")
    leaves: dict[str, dict[str, Any]] = {}
    synthetic = data_dir / Path(paths.SYNTHETIC_GRIDS_GEOJSON).name
    if synthetic.exists():
        for feature in json.loads(synthetic.read_text(encoding="utf-8"))["features"]:
            leaves[feature["properties"]["code"]] = feature
    return Geography(districts, townships, villages, townships_of, villages_of,
                     {code: polygons[code] for code in districts}, leaves, {})


def category_codes() -> tuple[str, ...]:
    """Every category code the configuration knows (config/rules/categories.yaml)."""
    return tuple(category.code for category in list_categories())


def patrol_categories() -> tuple[str, ...]:
    """The categories level-4 grids stop on the spot (dust, noise, burning, livestock)."""
    return tuple(category.code for category in list_categories() if category.patrol_level == 4)


def department_codes() -> tuple[str, ...]:
    return departments.department_codes()


@lru_cache(maxsize=1)
def rules_set() -> RulesSet:
    return load_rules_set()


@lru_cache(maxsize=1)
def registry_set() -> RegistrySet:
    return load_registry_set()


@lru_cache(maxsize=1024)
def lead_departments(category: str, at_day: date) -> tuple[str, ...]:
    """Lead then assisting departments of `category` under the rules in force on `at_day`.

    A hint for notices (which department acts on a case); the pipeline's routing decides for real.
    """
    try:
        noon = datetime.combine(at_day, time(12), CHINA_TIME)
        outcome = rules_set().at(noon).resolve(category, "MEDIUM")
    except LookupError:
        return department_codes()
    return (outcome.lead, *outcome.assisting)


@lru_cache(maxsize=1)
def grid_members() -> dict[str, tuple[str, ...]]:
    """Member ids (head first) of every grid in the roster (config/roster/)."""
    return {staff.grid_code: (staff.head.member_id, *(m.member_id for m in staff.members))
            for staff in load_roster()}


def fallback_member_id(grid_code: str, number: int) -> str:
    """An id shaped like the roster's (GM-<grid code>-<nn>) for a grid the roster lacks."""
    return f"GM-{grid_code}-{number:02d}"
