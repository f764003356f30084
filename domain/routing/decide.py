"""The routing decision (分派): one pure function from an event to owning grids, departments and targets."""

from __future__ import annotations

from typing import NamedTuple

from domain.registry.model import Grid, GridLevel, RegistrySet, RegistryVersion
from domain.routing.model import Provenance, ResolutionPath, RoutingDecision, RoutingInput, Target
from domain.routing.resolve import resolve_location
from domain.rules.model import RuleOutcome, RulesSet


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
    triage = location.path is ResolutionPath.TRIAGE
    tail = _tail(version, outcome, chain, triage)
    provenance = Provenance(  # positional: named tuples build fastest that way (hot path)
        version.id,
        rules_version.id,
        outcome.rule_id,
        outcome.applied,
        location.path,
        location.notes,
        location.near_boundary,
        location.synthetic_geometry,
        tail.synthetic_grid,
        location.address_candidates,
    )
    return RoutingDecision(
        event.event_id,
        chain,
        tail.handling.level,
        tail.handling,
        outcome.lead,
        outcome.assisting,
        tail.targets,
        provenance,
        f"[{event.event_id} {event.category} {event.severity.value}] " + "; ".join(location.steps) + tail.text,
    )


class _Tail(NamedTuple):
    """What follows from a rule outcome and an owning chain (memoised per registry version)."""

    outcome: RuleOutcome  # kept so that the id() in the memo key cannot be reused
    handling: Grid
    targets: tuple[Target, ...]
    synthetic_grid: bool
    text: str


def _tail(version: RegistryVersion, outcome: RuleOutcome, chain: tuple[Grid, ...], triage: bool) -> _Tail:
    key = ("tail", id(outcome), chain[0].code, triage)
    cached = version.derived.get(key)
    if cached is not None and cached.outcome is outcome:
        return cached
    steps = list(outcome.steps)
    handling = _handling_grid(chain, outcome.level, triage, steps)
    targets = _targets(chain, handling, outcome.lead, outcome.assisting, triage, version.city)
    steps.append(
        f"→ handled at L{int(handling.level)} {handling.code} {handling.name}; lead {outcome.lead}"
        + (f"; assisting {', '.join(outcome.assisting)}" if outcome.assisting else "")
    )
    tail = _Tail(outcome, handling, targets, any(grid.synthetic for grid in chain), "; " + "; ".join(steps))
    version.derived[key] = tail
    return tail


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
