"""The routing decision (分派): one pure function from an event to owning grids, departments and targets."""

from __future__ import annotations

from envgrid.domain.registry.grid import Grid, GridLevel
from envgrid.domain.registry.model import RegistrySet, RegistryVersion
from envgrid.domain.routing.model import Provenance, ResolutionPath, RoutingDecision, RoutingInput, Target
from envgrid.domain.routing.resolve import resolve_location
from envgrid.domain.rules.model import RuleOutcome, RulesSet, RulesVersion


def decide(
    event: RoutingInput, registry: RegistrySet | RegistryVersion, rules: RulesSet | RulesVersion
) -> RoutingDecision:
    """Decide where `event` goes, using the registry and rules versions in force at its time (or the
    versions given, when single versions are passed to pin them).

    Pure and deterministic: the same input and configuration always give the same decision.
    Raises NoVersionInForce when no version covers the event time, UnknownCategory for an unknown
    category; a location that cannot be resolved is never an error (the city grid office triages it).
    """
    version = registry.at(event.event_time)
    rules_version = rules.at(event.event_time)
    location = resolve_location(event, version)
    chain = location.chain
    severity = event.severity.value
    facts = version.facts(chain[0].code)
    assert facts is not None, f"resolved grid {chain[0].code} not in registry {version.id}"
    outcome = rules_version.resolve(
        event.category, severity, facts.codes,
        key_entity=event.key_entity, suspected_crime=event.suspected_crime, cross_district=event.cross_district,
    )
    triage = location.path is ResolutionPath.TRIAGE
    handling, targets, rule_text = _tail(version, outcome, chain, facts.district, triage)
    provenance = Provenance(  # positional: named tuples build fastest that way (hot path)
        version.id,
        rules_version.id,
        outcome.rule_id,
        outcome.applied,
        location.path,
        location.notes,
        location.near_boundary,
        location.synthetic_geometry,
        facts.synthetic,
        location.address_candidates,
    )
    return RoutingDecision(
        event.event_id,
        chain,
        handling.level,
        handling,
        outcome.lead,
        outcome.assisting,
        targets,
        provenance,
        f"[{event.event_id} {event.category} {severity}] {'; '.join(location.steps)}{rule_text}",
    )


def _tail(
    version: RegistryVersion, outcome: RuleOutcome, chain: tuple[Grid, ...], district: str | None, triage: bool
) -> tuple[Grid, tuple[Target, ...], str]:
    """Handling grid, targets and the rule part of the reason. The parts that depend only
    on the outcome and the level-2 grid are memoised (bounded by the configuration's size)."""
    memo: dict[tuple[int, str | None, bool, bool], tuple[RuleOutcome, tuple[Target, ...], str, str]] | None
    memo = version.derived.get("targets")
    if memo is None:
        memo = version.derived.setdefault("targets", {})
    handling, shortfall = _handling_grid(chain, outcome.level, triage)
    key = (id(outcome), district, handling.level == GridLevel.CITY, triage)
    cached = memo.get(key)
    if cached is None or cached[0] is not outcome:  # the outcome is kept so its id() cannot be reused
        targets = _targets(district, handling, outcome.lead, outcome.assisting, triage, version.city)
        departments = f"; lead {outcome.lead}" + (f"; assisting {', '.join(outcome.assisting)}" if outcome.assisting else "")
        cached = memo[key] = (outcome, targets, "; " + "; ".join(outcome.steps), departments)
    _, targets, rule_text, departments = cached
    handled = f"; → handled at L{int(handling.level)} {handling.code} {handling.name}"
    return handling, targets, rule_text + shortfall + handled + departments


def _handling_grid(chain: tuple[Grid, ...], level: int, triage: bool) -> tuple[Grid, str]:
    """The grid of the owning chain at the rule's level; the most specific known one if the chain is shorter."""
    if triage:
        return chain[-1], ""
    for grid in chain:
        if grid.level == level:
            return grid, ""
    most_specific = chain[0]
    return most_specific, f"; location known only to L{int(most_specific.level)}: L{level} work is handled there"


def _targets(
    district: str | None,
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
    if district is not None:
        targets.append(Target("grid", district, "owning_grid"))
    if handling.level == GridLevel.CITY:
        targets.append(Target("grid", city.code, "handling_grid"))
    return tuple(targets)
