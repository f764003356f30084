"""What the routing decision reads (RoutingInput) and what it produces (RoutingDecision).

The input is a frozen dataclass validated lightly at construction; the outputs are named tuples,
immutable and the cheapest records Python builds on the hot path.
Field meanings match schemas/types/RoutingDecision.avsc; `to_dict` gives that record's shape.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from envgrid.domain.geo.datums import Datum
from envgrid.domain.registry.grid import Grid


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @classmethod
    def parse(cls, value: Severity | str) -> Severity:
        return value if isinstance(value, Severity) else cls(value.lower())


class ResolutionPath(str, Enum):
    """Which input decided where the event belongs (values as in the ResolutionPath Avro enum)."""

    GRID_CODE = "GRID_CODE"
    COORDINATES = "COORDINATES"
    ADDRESS_TEXT = "ADDRESS_TEXT"
    TRIAGE = "TRIAGE"


class ResolutionNote(str, Enum):
    """Why an input that was present did not decide (recorded, never silent)."""

    GRID_CODE_UNKNOWN = "grid_code_unknown"
    COORDINATES_OUTSIDE_CITY = "coordinates_outside_city"
    COORDINATES_INVALID = "coordinates_invalid"
    ADDRESS_UNMATCHED = "address_unmatched"
    ADDRESS_AMBIGUOUS = "address_ambiguous"
    ADDRESS_CITY_ONLY = "address_city_only"
    NOTHING_GIVEN = "no_location_given"


@dataclass(frozen=True, slots=True)
class Coordinates:
    lon: float
    lat: float
    datum: Datum = Datum.WGS84

    def __post_init__(self) -> None:
        if not isinstance(self.datum, Datum):
            object.__setattr__(self, "datum", Datum(str(self.datum).upper()))


@dataclass(frozen=True, slots=True)
class RoutingInput:
    """Everything the decision needs about one event; `event_time` must be timezone-aware."""

    event_id: str
    event_time: dt.datetime
    category: str
    severity: Severity = Severity.MEDIUM
    grid_code: str | None = None
    coordinates: Coordinates | None = None
    address: str | None = None
    key_entity: bool = False  # 重点环境监管对象
    suspected_crime: bool = False
    cross_district: bool = False

    def __post_init__(self) -> None:
        if self.event_time.tzinfo is None or self.event_time.utcoffset() is None:
            raise ValueError(f"event {self.event_id}: event_time {self.event_time.isoformat()} has no timezone")
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity.parse(self.severity))


GridRef = Grid  # a grid as the decision names it: code, name, level (and kind, parent, synthetic)


class Target(NamedTuple):
    """A logical destination; the topic catalogue maps (kind, code) to a topic name."""

    kind: str  # department | grid | triage
    code: str  # department code or grid code
    role: str  # lead | assisting | owning_grid | handling_grid | triage


class NearBoundary(NamedTuple):
    """The point is within `distance_m` of another grid: all candidates and the policy that chose."""

    candidates: tuple[GridRef, ...]  # every leaf grid within the distance, the containing one included
    policy: str  # containing_polygon | common_parent
    chosen: str  # code of the grid the policy picked
    distance_m: float
    common_parent: str  # lowest grid containing every candidate: a level-2 code means the L2 routing is unaffected


class Provenance(NamedTuple):
    registry_version: str
    rules_version: str
    rule_id: str
    applied_rules: tuple[str, ...]
    resolution_path: ResolutionPath
    resolution_notes: tuple[ResolutionNote, ...] = ()
    near_boundary: NearBoundary | None = None
    synthetic_geometry: bool = False  # a generated polygon decided, not a city-supplied one
    synthetic_grid: bool = False  # the chain holds a grid whose code or membership is synthetic
    address_candidates: tuple[str, ...] = ()  # grids an ambiguous address could mean


class RoutingDecision(NamedTuple):
    event_id: str
    owning_chain: tuple[GridRef, ...]  # most specific first (L4→L1); just the city under triage
    handling_level: int
    handling_grid: GridRef
    lead_department: str
    assisting_departments: tuple[str, ...]
    targets: tuple[Target, ...]
    provenance: Provenance
    reason: str

    @property
    def departments(self) -> tuple[str, ...]:
        return (self.lead_department, *self.assisting_departments)

    @property
    def is_triage(self) -> bool:
        return self.provenance.resolution_path is ResolutionPath.TRIAGE

    def to_dict(self) -> dict[str, Any]:
        """The RoutingDecision Avro record (schemas/types/RoutingDecision.avsc)."""
        near = self.provenance.near_boundary
        return {
            "grid_chain": [{"level": int(g.level), "code": g.code, "name": g.name} for g in self.owning_chain],
            "handling_level": int(self.handling_level),
            "lead_department": self.lead_department,
            "assisting_departments": list(self.assisting_departments),
            "resolution_path": self.provenance.resolution_path.value,
            "registry_version": self.provenance.registry_version,
            "rules_version": self.provenance.rules_version,
            "rule_id": self.provenance.rule_id,
            "near_boundary": near is not None,
            "boundary_candidates": [g.code for g in near.candidates] if near else [],
            "boundary_policy": near.policy if near else None,
            "synthetic_geometry": self.provenance.synthetic_geometry,
            "reason": self.reason,
        }

