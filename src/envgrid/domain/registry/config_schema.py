"""Shape of a grid-registry version file in config/registry/ (validated with pydantic)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, model_validator

GRID_CODE = r"^\d{4}(\d{2}(\d{3}(\d{3})?)?)?$"


class NearBoundaryPolicy(str, Enum):
    """What to do with a point close to a grid boundary."""

    CONTAINING_POLYGON = "containing_polygon"  # the polygon the point is in wins; candidates recorded
    COMMON_PARENT = "common_parent"  # route to the lowest grid containing every candidate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CityEntry(_Strict):
    code: str = Field(pattern=r"^\d{4}$")
    name: str = Field(min_length=1)


class SourceFiles(_Strict):
    districts: str
    townships: str
    villages: str
    district_boundaries: str
    fine_boundaries: str | None = None  # township/village polygons a city supplies (or the synthetic ones)


class LocationSettings(_Strict):
    near_boundary_distance_m: float = Field(default=200.0, ge=0, le=5000)
    near_boundary_policy: NearBoundaryPolicy = NearBoundaryPolicy.CONTAINING_POLYGON


class FunctionalZoneEntry(_Strict):
    code: str = Field(pattern=r"^\d{6}$")
    name: str = Field(min_length=1)
    aliases: list[str] = []
    host_district: str = Field(pattern=r"^\d{6}$")
    townships: list[str] = Field(min_length=1)
    synthetic: bool = True


class MergeEntry(_Strict):
    """A district that did not exist in this version: its grids belong to `into`."""

    code: str = Field(pattern=r"^\d{6}$")
    into: str = Field(pattern=r"^\d{6}$")
    township_names: dict[str, str] = {}


class RegistryVersionFile(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    valid_from: dt.date
    valid_to: dt.date | None = None
    source: str = Field(min_length=1)
    city: CityEntry
    files: SourceFiles
    location: LocationSettings = LocationSettings()
    functional_zones: list[FunctionalZoneEntry] = []
    merges: list[MergeEntry] = []
    name_aliases: dict[str, list[str]] = {}  # grid code -> other names found in addresses (old names...)

    @model_validator(mode="after")
    def _period_is_ordered(self) -> RegistryVersionFile:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} must be after valid_from {self.valid_from}")
        return self
