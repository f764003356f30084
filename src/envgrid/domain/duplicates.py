"""Repeat reports of the same incident (重复投诉): detect them so they merge into the existing case.

Two reports are the same incident when they have the same category, happened within the merge window
of each other, and are near each other: within `radius_m` when both have coordinates, or resolved to the
same most specific grid when either has only address text. The index holds the incidents of one merge
zone (a township grid), so a stream processor can keep one index per zone in a partitioned table; a
repeat report across a township boundary is not merged (it is routed as its own case).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EARTH_RADIUS_M = 6_371_008.8

# report id -> (case id, merged into it?, epoch seconds of the report)
Handled = dict[str, tuple[str, bool, float]]
# report id -> digest of its content (`envgrid.domain.intake_contract.content_digest`): a reused id differs
Digests = dict[str, str]


@dataclass(frozen=True)
class DuplicatePolicy:
    radius_m: float = 150.0
    window: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class Sighting:
    """One report's facts that matter for duplicate detection (coordinates in WGS-84)."""

    case_id: str
    category: str
    occurred_at: datetime
    grid_code: str
    longitude: float | None = None
    latitude: float | None = None

    def has_point(self) -> bool:
        """Finite coordinates only: non-finite means "no coordinates" everywhere."""
        return (self.longitude is not None and self.latitude is not None
                and math.isfinite(self.longitude) and math.isfinite(self.latitude))


def merge_zone(grid_chain_codes: list[str]) -> str:
    """The zone whose index is searched: the township (L3) when known, else the most specific grid.

    `grid_chain_codes` runs from the most specific grid up to the city (L4→L1).
    """
    if not grid_chain_codes:
        return "triage"
    if len(grid_chain_codes) >= 3:
        return grid_chain_codes[-3]
    return grid_chain_codes[0]


class IncidentIndex:
    """Recent incidents of one merge zone, oldest first, and the reports already handled there (so a
    redelivered report is recognised); plain data so it serialises to a table."""

    def __init__(self, sightings: list[Sighting] | None = None,
                 handled: Handled | None = None, digests: Digests | None = None) -> None:
        self._sightings: list[Sighting] = list(sightings or [])
        # report id -> (case id, merged into it?, epoch seconds of the report)
        self._handled: Handled = dict(handled or {})
        self._digests: Digests = dict(digests or {})

    def case_of(self, report_id: str) -> tuple[str, bool] | None:
        """(case id, merged?) of a report this zone handled within the window, else None."""
        handled = self._handled.get(report_id)
        return (handled[0], handled[1]) if handled else None

    def digest_of(self, report_id: str) -> str | None:
        """The content digest of a handled report (None when it was handled before digests were kept)."""
        return self._digests.get(report_id)

    def handled(self, report_id: str, case_id: str, merged: bool, occurred_at: datetime,
                policy: DuplicatePolicy, digest: str = "") -> None:
        """Remember where `report_id` went (and a digest of its content); forget reports older than the window."""
        self._handled[report_id] = (case_id, merged, occurred_at.timestamp())
        if digest:
            self._digests[report_id] = digest
        horizon = (occurred_at - policy.window).timestamp()
        if len(self._handled) > 2 * len(self._sightings) + 16:
            self._handled = {k: v for k, v in self._handled.items() if v[2] >= horizon}
            self._digests = {k: v for k, v in self._digests.items() if k in self._handled}

    def __len__(self) -> int:
        return len(self._sightings)

    def find_duplicate(self, report: Sighting, policy: DuplicatePolicy) -> str | None:
        """Case id of the nearest earlier-recorded incident this report repeats, or None."""
        best: tuple[float, str] | None = None
        for known in self._sightings:
            if known.category != report.category:
                continue
            if abs(known.occurred_at - report.occurred_at) > policy.window:
                continue
            distance = _distance_m(known, report)
            if distance is None:
                if known.grid_code == report.grid_code:
                    distance = policy.radius_m  # same grid, no coordinates: as near as the policy allows
                else:
                    continue
            if distance <= policy.radius_m and (best is None or distance < best[0]):
                best = (distance, known.case_id)
        return best[1] if best else None

    def add(self, sighting: Sighting, policy: DuplicatePolicy) -> None:
        """Record a new incident and forget those older than the window before it."""
        horizon = sighting.occurred_at - policy.window
        self._sightings = [s for s in self._sightings if s.occurred_at >= horizon]
        self._sightings.append(sighting)

    def to_state(self) -> dict[str, Any]:
        """Plain data (lists, dicts, str, float, bool) for the worker's table: a row per sighting, times as
        epoch seconds. `from_state` rebuilds an equal index."""
        return {
            "sightings": [[s.case_id, s.category, s.occurred_at.timestamp(), s.grid_code, s.longitude, s.latitude]
                          for s in self._sightings],
            "handled": {report: [case_id, merged, at] for report, (case_id, merged, at) in self._handled.items()},
            "digests": dict(self._digests),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> IncidentIndex:
        return cls([Sighting(case_id, category, datetime.fromtimestamp(ts, UTC), grid, lon, lat)
                    for case_id, category, ts, grid, lon, lat in state["sightings"]],
                   {report: (case_id, bool(merged), float(at)) for report, (case_id, merged, at) in state["handled"].items()},
                   dict(state["digests"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IncidentIndex) and self.to_state() == other.to_state()

    __hash__ = None  # type: ignore[assignment]  # mutable


def _distance_m(a: Sighting, b: Sighting) -> float | None:
    if not (a.has_point() and b.has_point()):
        return None
    mean_lat = math.radians((a.latitude + b.latitude) / 2)  # type: ignore[operator]
    dx = math.radians(b.longitude - a.longitude) * math.cos(mean_lat)  # type: ignore[operator]
    dy = math.radians(b.latitude - a.latitude)  # type: ignore[operator]
    return EARTH_RADIUS_M * math.hypot(dx, dy)
