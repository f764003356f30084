"""Names for unit codes in reports: grids from the registry's data files, departments from config/departments.yaml."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from envgrid import paths
from envgrid.domain.departments import default_departments, department_codes
from envgrid.evaluation.indicators import DEPARTMENT, Unit

_DATA = Path(paths.__file__).resolve().parent / "data" / "wenzhou"


def unit_name(unit: Unit) -> str:
    """The unit's Chinese name, or its code when none is known (a grid of a newer registry, a test code)."""
    if unit.kind == DEPARTMENT:
        return _departments().get(unit.code, unit.code)
    return _grids().get(unit.code, unit.code)


@lru_cache(maxsize=1)
def _departments() -> dict[str, str]:
    return {code: default_departments()[code].name_zh for code in department_codes()}


@lru_cache(maxsize=1)
def _grids() -> dict[str, str]:
    import yaml

    names: dict[str, str] = {}
    for file in ("districts.csv", "townships.csv", "villages.csv"):
        with open(_DATA / file, encoding="utf-8", newline="") as rows:
            names.update({row["code"]: row["name"] for row in csv.DictReader(rows)})
    for version in sorted(Path(paths.REGISTRY_DIR).glob("*.yaml")):
        spec = yaml.safe_load(version.read_text(encoding="utf-8"))
        names[str(spec["city"]["code"])] = spec["city"]["name"]
        names.update({str(zone["code"]): zone["name"] for zone in spec.get("functional_zones") or ()})
    return names
