"""Jurisdiction rules (管辖规则) and event categories, effective-dated."""

from envgrid.domain.rules.categories import Category, category_codes, get_category, list_categories, load_categories
from envgrid.domain.rules.loader import load_rules_set, load_rules_version
from envgrid.domain.rules.model import RuleOutcome, RulesSet, RulesVersion, UnknownCategory

__all__ = [
    "Category", "RuleOutcome", "RulesSet", "RulesVersion", "UnknownCategory", "category_codes",
    "get_category", "list_categories", "load_categories", "load_rules_set", "load_rules_version",
]
