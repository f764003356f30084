"""Where an event belongs: explicit grid code, else coordinates, else address text, else triage.

Each path that was tried and failed leaves a note (e.g. `coordinates_outside_city`), and each step a line
of explanation, so that the decision's reason tells the whole story.
"""

from __future__ import annotations

from typing import NamedTuple

from envgrid.domain.geo.datums import Datum, to_wgs84
from envgrid.domain.geo.spatial_index import PointLocation
from envgrid.domain.registry.config_schema import NearBoundaryPolicy
from envgrid.domain.registry.grid import Grid, GridLevel
from envgrid.domain.registry.model import RegistryVersion
from envgrid.domain.routing.model import NearBoundary, ResolutionNote, ResolutionPath, RoutingInput


class LocationResolution(NamedTuple):
    chain: tuple[Grid, ...]  # owning grids, most specific first; (city,) under triage
    path: ResolutionPath
    notes: tuple[ResolutionNote, ...]
    steps: tuple[str, ...]
    near_boundary: NearBoundary | None = None
    synthetic_geometry: bool = False
    address_candidates: tuple[str, ...] = ()


def resolve_location(event: RoutingInput, version: RegistryVersion) -> LocationResolution:
    """Owning grid chain of the event, the path that decided it, and notes on every path that failed."""
    grid_code = event.grid_code
    if grid_code:
        chain = version.chain(grid_code)
        if chain:
            step = f"grid code 网格编码 {grid_code} → {version.describe_chain(grid_code)}"
            return LocationResolution(chain, ResolutionPath.GRID_CODE, (), (step,))
    notes: list[ResolutionNote] = []
    steps: list[str] = []
    if grid_code:
        notes.append(ResolutionNote.GRID_CODE_UNKNOWN)
        steps.append(f"grid code {event.grid_code} unknown in registry {version.id}")
    if event.coordinates is not None:
        found = _by_coordinates(event, version, notes, steps)
        if found is not None:
            return found
    if event.address:
        found = _by_address(event.address, version, notes, steps)
        if found is not None:
            return found
    if not notes:
        notes.append(ResolutionNote.NOTHING_GIVEN)
        steps.append("no grid code, coordinates or address given")
    steps.append(f"nothing resolved → triage by the city grid office 网格办 ({version.city.code} {version.city.name})")
    return LocationResolution((version.city,), ResolutionPath.TRIAGE, tuple(notes), tuple(steps))


def _by_coordinates(
    event: RoutingInput, version: RegistryVersion, notes: list[ResolutionNote], steps: list[str]
) -> LocationResolution | None:
    coordinates = event.coordinates
    assert coordinates is not None
    if not (-180.0 <= coordinates.lon <= 180.0 and -90.0 <= coordinates.lat <= 90.0):  # also rejects NaN
        notes.append(ResolutionNote.COORDINATES_INVALID)
        steps.append(f"coordinates ({coordinates.lon}, {coordinates.lat}) are not valid degrees")
        return None
    lon, lat = coordinates.lon, coordinates.lat
    if coordinates.datum is not Datum.WGS84:
        lon, lat = to_wgs84(lon, lat, coordinates.datum)
        where = f"({lon:.6f}, {lat:.6f}) WGS-84 from {coordinates.datum.value} ({coordinates.lon:.6f}, {coordinates.lat:.6f})"
    else:
        where = f"({lon:.6f}, {lat:.6f}) WGS-84"
    location = version.locate(lon, lat)
    if location is None:
        notes.append(ResolutionNote.COORDINATES_OUTSIDE_CITY)
        steps.append(f"coordinates {where} are outside the city 不在市域内")
        return None
    leaf = _leaf_outcome(version, location)
    steps.append(f"coordinates 坐标 {where} → {leaf.text}")
    if leaf.near_text:
        steps.append(leaf.near_text)
    return LocationResolution(
        leaf.chain, ResolutionPath.COORDINATES, tuple(notes) if notes else (), tuple(steps), leaf.near, leaf.synthetic
    )


class _LeafOutcome(NamedTuple):
    """Everything a point location implies that does not depend on the exact point (memoised)."""

    chain: tuple[Grid, ...]
    text: str
    synthetic: bool
    near: NearBoundary | None
    near_text: str


def _leaf_outcome(version: RegistryVersion, location: PointLocation) -> _LeafOutcome:
    memo: dict[PointLocation, _LeafOutcome] | None = version.derived.get("leaf")
    if memo is None:  # bounded by the leaves and their near-boundary combinations
        memo = version.derived.setdefault("leaf", {})
    cached = memo.get(location)
    if cached is not None:
        return cached
    leaf = version.grid(location.code)
    assert leaf is not None, f"leaf polygon {location.code} not in registry {version.id}"
    chosen, near, near_text = leaf, None, ""
    if location.near_codes:
        candidates = tuple(dict.fromkeys(g for g in map(version.grid, location.near_codes) if g is not None))
        parent = version.common_parent(c.code for c in candidates)
        if version.near_boundary_policy is NearBoundaryPolicy.COMMON_PARENT:
            chosen = parent
        policy = version.near_boundary_policy.value
        near = NearBoundary(candidates, policy, chosen.code, version.near_boundary_distance_m, parent.code)
        names = ", ".join(f"{c.code} {c.name}" for c in candidates)
        near_text = (
            f"near boundary 边界附近 (< {near.distance_m:g} m): candidates {names} "
            f"(common parent L{int(parent.level)} {parent.code} {parent.name}); policy {near.policy} → {chosen.code} {chosen.name}"
        )
    synthetic = version.fine_geometry_synthetic and leaf.level > GridLevel.DISTRICT
    text = (
        version.describe_chain(leaf.code)
        + (" (synthetic polygon 合成边界)" if synthetic else "")
        + ("" if location.contained else " (between polygons: nearest)")
    )
    outcome = _LeafOutcome(version.chain(chosen.code), text, synthetic, near, near_text)
    memo[location] = outcome
    return outcome


def _by_address(
    address: str, version: RegistryVersion, notes: list[ResolutionNote], steps: list[str]
) -> LocationResolution | None:
    match = version.address_matcher.match(address)
    if match is None:
        notes.append(ResolutionNote.ADDRESS_UNMATCHED)
        steps.append(f"address 地址 {address!r} names no known grid")
        return None
    chain = version.chain(match.code)
    if match.ambiguous_candidates:
        notes.append(ResolutionNote.ADDRESS_AMBIGUOUS)
        steps.append(
            f"address {address!r}: {'/'.join(match.matched_names)} fits {len(match.ambiguous_candidates)} grids "
            f"({', '.join(match.ambiguous_candidates)}) → common level {match.code} {chain[0].name}"
        )
    if chain[0].level == GridLevel.CITY:
        notes.append(ResolutionNote.ADDRESS_CITY_ONLY)
        steps.append(f"address {address!r} resolves to no grid below the city")
        return None
    steps.append(f"address 地址 {address!r} ({'/'.join(match.matched_names)}) → {version.describe_chain(match.code)}")
    return LocationResolution(
        chain, ResolutionPath.ADDRESS_TEXT, tuple(notes), tuple(steps), address_candidates=match.ambiguous_candidates
    )

