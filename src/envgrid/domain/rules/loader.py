"""Load and cross-check jurisdiction-rules versions from config/rules/ (every file but categories.yaml)."""

from __future__ import annotations

from pathlib import Path

from envgrid import paths
from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model
from envgrid.domain.departments import Departments, default_departments
from envgrid.domain.registry.model import RegistrySet
from envgrid.domain.rules.categories import CATEGORIES_FILE, Category, load_categories
from envgrid.domain.rules.config_schema import RulesVersionFile
from envgrid.domain.rules.model import RulesSet, RulesVersion


def load_rules_set(
    directory: Path | str = paths.RULES_DIR,
    *,
    departments: Departments | None = None,
    categories: tuple[Category, ...] | None = None,
    registry: RegistrySet | None = None,
) -> RulesSet:
    """Every rules version in `directory`, checked against departments, categories and (if given) grids."""
    directory = Path(directory)
    departments = departments or default_departments()
    categories = categories if categories is not None else load_categories(directory / CATEGORIES_FILE.name)
    files = sorted(p for p in directory.glob("*.yaml") if p.name != CATEGORIES_FILE.name)
    if not files:
        raise ConfigError(directory, "(directory)", "no rules version files (*.yaml)")
    versions = [load_rules_version(path, departments, categories, registry) for path in files]
    try:
        return RulesSet(versions)
    except ValueError as error:
        raise ConfigError(directory, "(versions)", str(error)) from None


def load_rules_version(
    path: Path | str,
    departments: Departments,
    categories: tuple[Category, ...],
    registry: RegistrySet | None = None,
) -> RulesVersion:
    path = Path(path)
    spec = validate_model(RulesVersionFile, read_yaml(path), path)
    category_codes = {category.code for category in categories}
    known_grids = set() if registry is None else {code for v in registry.versions for code in v.grids}
    for index, rule in enumerate(spec.rules):
        entry = f"rules[{index}] ({rule.id})"
        if rule.category not in category_codes:
            raise ConfigError(path, entry, f"unknown category {rule.category!r} (see {CATEGORIES_FILE.name})")
        mentioned = [rule.lead, *rule.assisting]
        for override in rule.by_severity.values():
            mentioned += ([override.lead] if override.lead else []) + list(override.add_assisting)
        for code in mentioned:
            if code not in departments:
                raise ConfigError(path, entry, f"unknown department {code!r} (see {departments.source})")
        if registry is not None and rule.within is not None and rule.within not in known_grids:
            raise ConfigError(path, entry, f"'within' {rule.within} is not a grid of any registry version")
    for code in spec.special_conditions.suspected_crime.add_assisting:
        if code not in departments:
            raise ConfigError(path, "special_conditions.suspected_crime", f"unknown department {code!r}")
    city_wide = {rule.category for rule in spec.rules if rule.within is None}
    missing = [code for code in category_codes if code not in city_wide]
    if missing:
        raise ConfigError(path, "rules", f"no city-wide rule for categories: {', '.join(sorted(missing))}")
    return RulesVersion(spec)
