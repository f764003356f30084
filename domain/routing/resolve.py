"""Where an event belongs: explicit grid code, else coordinates, else address text, else triage.

Each path that was tried and failed leaves a note (e.g. `coordinates_outside_city`), and each step a line
of explanation, so that the decision's reason tells the whole story.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.geo.datums import Datum, to_wgs84
from domain.registry.config_schema import NearBoundaryPolicy
from domain.registry.model import Grid, GridLevel, RegistryVersion
from domain.routing.model import NearBoundary, ResolutionNote, ResolutionPath, RoutingInput, finite_coordinates


@dataclass(frozen=True, slots=True)
class LocationResolution:
    chain: tuple[Grid, ...]  # owning grids, most specific first; (city,) under triage
    path: ResolutionPath
    notes: tuple[ResolutionNote, ...]
    steps: tuple[str, ...]
    near_boundary: NearBoundary | None = None
    synthetic_geometry: bool = False
    address_candidates: tuple[str, ...] = ()


def resolve_location(event: RoutingInput, version: RegistryVersion) -> LocationResolution:
    notes: list[ResolutionNote] = []
    steps: list[str] = []
    if event.grid_code:
        chain = version.chain(event.grid_code)
        if chain:
            steps.append(f"grid code 网格编码 {event.grid_code} → {_describe(chain)}")
            return LocationResolution(chain, ResolutionPath.GRID_CODE, (), tuple(steps))
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
    if not finite_coordinates(coordinates) or not (-180 <= coordinates.lon <= 180 and -90 <= coordinates.lat <= 90):
        notes.append(ResolutionNote.COORDINATES_INVALID)
        steps.append(f"coordinates ({coordinates.lon}, {coordinates.lat}) are not valid degrees")
        return None
    lon, lat = coordinates.lon, coordinates.lat
    if coordinates.datum is not Datum.WGS84:
        lon, lat = to_wgs84(lon, lat, coordinates.datum)
    location = version.locate(lon, lat)
    where = f"({lon:.6f}, {lat:.6f}) WGS-84"
    if coordinates.datum is not Datum.WGS84:
        where += f" from {coordinates.datum.value} ({coordinates.lon:.6f}, {coordinates.lat:.6f})"
    if location is None:
        notes.append(ResolutionNote.COORDINATES_OUTSIDE_CITY)
        steps.append(f"coordinates {where} are outside the city 不在市域内")
        return None
    leaf = version.grid(location.code)
    assert leaf is not None, f"leaf polygon {location.code} not in registry {version.id}"
    chosen, near = leaf, None
    if location.near_codes:
        candidates = tuple(dict.fromkeys(version.grid(code) for code in location.near_codes))  # type: ignore[misc]
        if version.near_boundary_policy is NearBoundaryPolicy.COMMON_PARENT:
            chosen = version.common_parent(c.code for c in candidates)  # type: ignore[union-attr]
        policy = version.near_boundary_policy.value
        near = NearBoundary(candidates, policy, chosen.code, version.near_boundary_distance_m)  # type: ignore[arg-type]
    chain = version.chain(chosen.code)
    synthetic = version.fine_geometry_synthetic and leaf.level > GridLevel.DISTRICT
    steps.append(
        f"coordinates 坐标 {where} → {_describe(version.chain(leaf.code))}"
        + (" (synthetic polygon 合成边界)" if synthetic else "")
        + ("" if location.contained else " (between polygons: nearest)")
    )
    if near is not None:
        names = ", ".join(f"{c.code} {c.name}" for c in near.candidates)
        steps.append(
            f"near boundary 边界附近 (< {near.distance_m:g} m): candidates {names}; "
            f"policy {near.policy} → {chosen.code} {chosen.name}"
        )
    return LocationResolution(chain, ResolutionPath.COORDINATES, tuple(notes), tuple(steps), near, synthetic)


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
    steps.append(f"address 地址 {address!r} ({'/'.join(match.matched_names)}) → {_describe(chain)}")
    return LocationResolution(
        chain, ResolutionPath.ADDRESS_TEXT, tuple(notes), tuple(steps), address_candidates=match.ambiguous_candidates
    )


def _describe(chain: tuple[Grid, ...]) -> str:
    return " / ".join(f"L{int(g.level)} {g.code} {g.name}" for g in chain)
