"""The routing decision (分派): one pure function from an event to owning grids, departments and targets."""

from __future__ import annotations

from domain.registry.model import Grid, GridLevel, RegistrySet
from domain.routing.model import Provenance, ResolutionPath, RoutingDecision, RoutingInput, Target
from domain.routing.resolve import resolve_location
from domain.rules.model import RulesSet


def decide(event: RoutingInput, registry: RegistrySet, rules: RulesSet) -> RoutingDecision:
    """Decide where `event` goes, using the registry and rules versions in force at its time.

    Pure and deterministic: the same input and configuration always give the same decision.
    Raises NoVersionInForce when no version covers the event time, UnknownCategory for an unknown
    category; a location that cannot be resolved is never an error (the city grid office triages it).
    """
    version = registry.at(event.event_time)
    rules_version = rules.at(event.event_time)
    location = resolve_location(event, version)
    chain = location.chain
    outcome = rules_version.resolve(
        event.category,
        event.severity.value,
        [grid.code for grid in chain],
        key_entity=event.key_entity,
        suspected_crime=event.suspected_crime,
        cross_district=event.cross_district,
    )
    steps = [*location.steps, *outcome.steps]
    triage = location.path is ResolutionPath.TRIAGE
    handling = _handling_grid(chain, outcome.level, triage, steps)
    targets = _targets(chain, handling, outcome.lead, outcome.assisting, triage, version.city)
    steps.append(
        f"→ handled at L{int(handling.level)} {handling.code} {handling.name}; lead {outcome.lead}"
        + (f"; assisting {', '.join(outcome.assisting)}" if outcome.assisting else "")
    )
    provenance = Provenance(
        registry_version=version.id,
        rules_version=rules_version.id,
        rule_id=outcome.rule_id,
        applied_rules=outcome.applied,
        resolution_path=location.path,
        resolution_notes=location.notes,
        near_boundary=location.near_boundary,
        synthetic_geometry=location.synthetic_geometry,
        synthetic_grid=any(grid.synthetic for grid in chain),
        address_candidates=location.address_candidates,
    )
    return RoutingDecision(
        event_id=event.event_id,
        owning_chain=chain,
        handling_level=int(handling.level),
        handling_grid=handling,
        lead_department=outcome.lead,
        assisting_departments=outcome.assisting,
        targets=targets,
        provenance=provenance,
        reason=f"[{event.event_id} {event.category} {event.severity.value}] " + "; ".join(steps),
    )


def _handling_grid(chain: tuple[Grid, ...], level: int, triage: bool, steps: list[str]) -> Grid:
    """The grid of the owning chain at the rule's level; the most specific known one if the chain is shorter."""
    if triage:
        return chain[-1]
    for grid in chain:
        if grid.level == level:
            return grid
    most_specific = chain[0]
    steps.append(f"location known only to L{int(most_specific.level)}: L{level} work is handled there")
    return most_specific


def _targets(
    chain: tuple[Grid, ...],
    handling: Grid,
    lead: str,
    assisting: tuple[str, ...],
    triage: bool,
    city: Grid,
) -> tuple[Target, ...]:
    """Departments first, then grids: the owning level-2 grid, and the city when it handles or triages."""
    targets = [Target("department", lead, "lead")]
    targets.extend(Target("department", code, "assisting") for code in assisting)
    if triage:
        targets.append(Target("triage", city.code, "triage"))
        return tuple(targets)
    for grid in chain:
        if grid.level == GridLevel.DISTRICT:
            targets.append(Target("grid", grid.code, "owning_grid"))
            break
    if handling.level == GridLevel.CITY:
        targets.append(Target("grid", city.code, "handling_grid"))
    return tuple(targets)
