"""Build registry versions from config/registry/*.yaml and the division files they name.

Every problem is reported as a ConfigError naming the file, the entry (row, feature or YAML path) and
what is wrong. Geometry is loaded once per distinct set of boundary files and shared between versions.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from envgrid import paths
from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model
from envgrid.domain.geo.spatial_index import LeafGridIndex
from envgrid.domain.registry.config_schema import RegistryVersionFile
from envgrid.domain.registry.grid import Grid, GridLevel
from envgrid.domain.registry.model import RegistrySet, RegistryVersion


def load_registry_set(directory: Path | str = paths.REGISTRY_DIR) -> RegistrySet:
    """Every `*.yaml` version in `directory`."""
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ConfigError(directory, "(directory)", "no registry version files (*.yaml)")
    versions = [load_registry_version(path) for path in files]
    try:
        return RegistrySet(versions)
    except ValueError as error:
        raise ConfigError(directory, "(versions)", str(error)) from None


def level1_and_level2_codes(directory: Path | str = paths.REGISTRY_DIR) -> tuple[str, ...]:
    """Codes of the city and of every level-2 grid (districts, functional zones) of EVERY version,
    sorted, without loading any geometry: the grids that own a grid topic."""
    codes: set[str] = set()
    for path in sorted(Path(directory).glob("*.yaml")):
        spec = validate_model(RegistryVersionFile, read_yaml(path), path)
        districts = _existing(path, "districts", spec.files.districts)
        merged = {merge.code for merge in spec.merges}
        codes.add(spec.city.code)
        codes.update(row["code"] for _, row in _rows(districts, ("code", "name")) if row["code"] not in merged)
        codes.update(zone.code for zone in spec.functional_zones)
    return tuple(sorted(codes))


def load_registry_version(path: Path | str) -> RegistryVersion:
    path = Path(path)
    spec = validate_model(RegistryVersionFile, read_yaml(path), path)
    files = {name: _existing(path, name, value) for name, value in spec.files.model_dump().items() if value}
    grids = _build_grids(path, spec, files)
    aliases = {merge.code: merge.into for merge in spec.merges}
    distance = spec.location.near_boundary_distance_m
    index, synthetic = _leaf_index(str(files.get("fine_boundaries", "")), str(files["district_boundaries"]), distance)
    for code in index.leaf_codes:
        if code not in grids and aliases.get(code[:6], "") not in grids:
            source = files.get("fine_boundaries", files["district_boundaries"])
            raise ConfigError(source, f"feature {code}", f"grid code not in registry version {spec.id} ({path})")
    extra_names = {zone.code: list(zone.aliases) for zone in spec.functional_zones}
    for code, names in spec.name_aliases.items():
        if code not in grids:
            raise ConfigError(path, f"name_aliases.{code}", "unknown grid code in this version")
        extra_names.setdefault(code, []).extend(names)
    return RegistryVersion(
        id=spec.id,
        valid_from=spec.valid_from,
        valid_to=spec.valid_to,
        source=spec.source,
        grids=grids,
        city_code=spec.city.code,
        aliases=aliases,
        index=index,
        fine_geometry_synthetic=synthetic,
        near_boundary_policy=spec.location.near_boundary_policy,
        address_names=extra_names,
    )


def _build_grids(path: Path, spec: RegistryVersionFile, files: dict[str, Path]) -> dict[str, Grid]:
    city = Grid(spec.city.code, spec.city.name, GridLevel.CITY, None, "city")
    grids: dict[str, Grid] = {city.code: city}
    merged_into = {merge.code: merge.into for merge in spec.merges}
    renamed = {code: name for merge in spec.merges for code, name in merge.township_names.items()}
    for _row_number, row in _rows(files["districts"], ("code", "name")):
        if row["code"] not in merged_into:
            grids[row["code"]] = Grid(row["code"], row["name"], GridLevel.DISTRICT, city.code, "district")
    for index, merge in enumerate(spec.merges):
        if merge.into not in grids:
            raise ConfigError(path, f"merges[{index}] ({merge.code})", f"'into' {merge.into} is not a district")
    zone_of: dict[str, str] = {}
    for index, zone in enumerate(spec.functional_zones):
        entry = f"functional_zones[{index}] ({zone.code})"
        if zone.code in grids:
            raise ConfigError(path, entry, "code already used by a district")
        if zone.host_district not in grids:
            raise ConfigError(path, entry, f"host_district {zone.host_district} is not a district of this version")
        grids[zone.code] = Grid(zone.code, zone.name, GridLevel.DISTRICT, city.code, "functional_zone", zone.synthetic)
        for township in zone.townships:
            if township in zone_of:
                raise ConfigError(path, entry, f"township {township} already belongs to zone {zone_of[township]}")
            zone_of[township] = zone.code
    hosts = {zone.code: zone.host_district for zone in spec.functional_zones}
    for row_number, row in _rows(files["townships"], ("code", "name", "district_code")):
        district = merged_into.get(row["district_code"], row["district_code"])
        if district not in grids:
            raise ConfigError(files["townships"], f"line {row_number} ({row['code']})", f"unknown district_code {row['district_code']}")
        parent = zone_of.get(row["code"], district)
        if parent in hosts and hosts[parent] != district:
            raise ConfigError(path, f"functional zone {parent}", f"township {row['code']} is not in host district {hosts[parent]}")
        name = renamed.get(row["code"], row["name"])
        grids[row["code"]] = Grid(row["code"], name, GridLevel.TOWNSHIP, parent, "township", row["code"] in zone_of)
    for township in list(zone_of) + list(renamed):
        if township not in grids:
            raise ConfigError(path, f"township {township}", f"not found in {files['townships']}")
    for row_number, row in _rows(files["villages"], ("code", "name", "township_code")):
        if row["township_code"] not in grids or grids[row["township_code"]].level != GridLevel.TOWNSHIP:
            raise ConfigError(files["villages"], f"line {row_number} ({row['code']})", f"unknown township_code {row['township_code']}")
        grids[row["code"]] = Grid(row["code"], row["name"], GridLevel.VILLAGE, row["township_code"], "village")
    return grids


def clear_geometry_cache() -> None:
    """Forget the spatial indexes shared between versions (benchmarks, or after editing geometry files)."""
    _leaf_index.cache_clear()


@lru_cache(maxsize=8)
def _leaf_index(fine_path: str, district_path: str, distance_m: float) -> tuple[LeafGridIndex, bool]:
    """Leaf polygons: the fine features where given, the district polygon for districts they do not cover."""
    leaves: list[tuple[str, BaseGeometry]] = []
    synthetic = False
    if fine_path:
        collection = _read_geojson(Path(fine_path))
        synthetic = bool(collection.get("properties", {}).get("synthetic"))
        for number, feature in enumerate(collection["features"]):
            code = str(feature.get("properties", {}).get("code", ""))
            if not code.isdigit():
                raise ConfigError(fine_path, f"features[{number}]", "property 'code' (grid code) missing or not digits")
            synthetic = synthetic or bool(feature["properties"].get("synthetic"))
            leaves.append((code, shape(feature["geometry"])))
    covered = {code[:6] for code, _ in leaves}
    outline = None
    for number, feature in enumerate(_read_geojson(Path(district_path))["features"]):
        gb = str(feature.get("properties", {}).get("gb", ""))
        if len(gb) != 9 or not gb.isdigit():
            raise ConfigError(district_path, f"features[{number}]", f"property 'gb' {gb!r} is not 156 + a 6-digit code")
        code = gb[3:]
        if code.endswith("00"):
            outline = shape(feature["geometry"])
        elif code not in covered:
            leaves.append((code, shape(feature["geometry"])))
    if outline is None:
        raise ConfigError(district_path, "features", "no city outline feature (gb ending in 00)")
    return LeafGridIndex(leaves, outline, near_distance_m=distance_m), synthetic


def _read_geojson(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(path, "(file)", f"not readable GeoJSON: {error}") from None


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(path, "header", f"missing column(s) {', '.join(missing)}")
        for row_number, row in enumerate(reader, start=2):
            if not row["code"] or not row["code"].isdigit():
                raise ConfigError(path, f"line {row_number}", f"code {row['code']!r} is not digits")
            yield row_number, row


def _existing(config_path: Path, name: str, value: str) -> Path:
    resolved = (config_path.parent / value).resolve()
    if not resolved.is_file():
        raise ConfigError(config_path, f"files.{name}", f"file not found: {resolved}")
    return resolved
