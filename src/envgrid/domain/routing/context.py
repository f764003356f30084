"""Everything routing needs, loaded once from the repository (or a city's own) configuration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from envgrid import paths
from envgrid.domain.departments import Departments, load_departments
from envgrid.domain.registry.loader import load_registry_set
from envgrid.domain.registry.model import RegistrySet, RegistryVersion
from envgrid.domain.roster import Roster, load_roster
from envgrid.domain.routing.decide import decide
from envgrid.domain.routing.model import RoutingDecision, RoutingInput
from envgrid.domain.rules.categories import CATEGORIES_FILE, Category, load_categories
from envgrid.domain.rules.loader import load_rules_set
from envgrid.domain.rules.model import RulesSet, RulesVersion


@dataclass(frozen=True)
class RoutingContext:
    """Departments, categories, registry versions, rules versions and the roster; versions are picked
    per event by its time inside `decide`."""

    departments: Departments
    categories: tuple[Category, ...]
    registry: RegistrySet | RegistryVersion
    rules: RulesSet | RulesVersion
    roster: Roster

    def decide(self, event: RoutingInput) -> RoutingDecision:
        return decide(event, self.registry, self.rules)

    def pinned(self, registry_version: str | None = None, rules_version: str | None = None) -> RoutingContext:
        """A context that uses the named versions whatever the event time (e.g. to replay "as of")."""
        registry, rules = self.registry, self.rules
        if registry_version:
            if not isinstance(registry, RegistrySet):
                raise TypeError(f"this context is already pinned to registry version {registry.id}")
            registry = registry.by_id(registry_version)
        if rules_version:
            if not isinstance(rules, RulesSet):
                raise TypeError(f"this context is already pinned to rules version {rules.id}")
            rules = rules.by_id(rules_version)
        return replace(self, registry=registry, rules=rules)


def load_routing_context(
    *,
    departments_file: Path | str = paths.DEPARTMENTS_FILE,
    registry_dir: Path | str = paths.REGISTRY_DIR,
    rules_dir: Path | str = paths.RULES_DIR,
    roster_file: Path | str = paths.ROSTER_FILE,
) -> RoutingContext:
    """Load and cross-validate every routing input; raises ConfigError naming file, entry and problem."""
    departments = load_departments(departments_file)
    categories = load_categories(Path(rules_dir) / CATEGORIES_FILE.name)
    registry = load_registry_set(registry_dir)
    rules = load_rules_set(rules_dir, departments=departments, categories=categories, registry=registry)
    roster = load_roster(roster_file, registry)
    return RoutingContext(departments, categories, registry, rules, roster)
