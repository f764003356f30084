"""Jurisdiction rules (管辖规则): category → lead and assisting departments and handling grid level.

`RulesVersion.resolve` applies, in order: the category's rule (a rule scoped to a grid the event lies in
beats the city-wide one), its severity override or the version's severity escalation, then the special
conditions: key supervised entity (重点环境监管对象) → level 2 or above; suspected crime → public
security assists; cross-district incident → level 1. Every step is recorded for the decision's reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple, cast

from envgrid.domain.effective import EffectiveDated
from envgrid.domain.registry.model import CHINA_TIME
from envgrid.domain.rules.config_schema import RuleEntry, RulesVersionFile, Severity


class RuleOutcome(NamedTuple):
    rule_id: str  # the category rule that applied
    applied: tuple[str, ...]  # ids of the rule and of every special condition that changed the outcome
    lead: str
    assisting: tuple[str, ...]
    level: int
    steps: tuple[str, ...]  # one human-readable line per step


class UnknownCategory(LookupError):
    """The event's category has no rule in the version in force."""


class RulesVersion:
    def __init__(self, spec: RulesVersionFile) -> None:
        self.id = spec.id
        self.source = spec.source
        self.spec = spec
        self.valid_from = dt.datetime.combine(spec.valid_from, dt.time(), CHINA_TIME)
        self.valid_to = None if spec.valid_to is None else dt.datetime.combine(spec.valid_to, dt.time(), CHINA_TIME)
        self._city_wide: dict[str, RuleEntry] = {}
        self._scoped: dict[str, list[RuleEntry]] = {}
        for rule in spec.rules:
            if rule.within is None:
                self._city_wide[rule.category] = rule
            else:
                self._scoped.setdefault(rule.category, []).append(rule)
        for rules in self._scoped.values():
            rules.sort(key=lambda rule: -len(rule.within or ""))  # the most specific scope first
        self._raise = spec.severity.raise_levels
        self._severity_ceiling = spec.severity.highest_level_by_severity
        self._conditions = spec.special_conditions
        # outcomes depend only on these keys: memoised
        self._outcomes: dict[tuple[str, str, bool, bool, bool], RuleOutcome] = {}

    def at(self, moment: dt.datetime) -> RulesVersion:
        """This version whatever the time: a single version acts as pinned rules (replays "as of")."""
        return self

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._city_wide)

    @property
    def rules(self) -> tuple[RuleEntry, ...]:
        return tuple(self.spec.rules)

    def resolve(
        self,
        category: str,
        severity: str,
        chain_codes: Sequence[str] = (),
        *,
        key_entity: bool = False,
        suspected_crime: bool = False,
        cross_district: bool = False,
    ) -> RuleOutcome:
        """Lead, assisting departments and handling level for one event. `chain_codes`: its grids."""
        rule = self._rule_for(category, chain_codes)
        key = (rule.id, severity, key_entity, suspected_crime, cross_district)
        outcome = self._outcomes.get(key)
        if outcome is None:
            outcome = self._outcomes[key] = self._apply(rule, category, *key[1:])
        return outcome

    def _apply(
        self, rule: RuleEntry, category: str, severity: str, key_entity: bool, suspected_crime: bool, cross_district: bool
    ) -> RuleOutcome:
        applied = [rule.id]
        scope = f" within {rule.within}" if rule.within else ""
        steps = [f"rule {rule.id}{scope}: {category} → lead {rule.lead}, level L{rule.level}"]
        level: int
        lead, assisting, level = rule.lead, list(rule.assisting), rule.level
        named = cast(Severity, severity)  # a severity the configuration does not name finds no entry below
        override = rule.by_severity.get(named)
        if override is not None:
            level = override.level or level
            lead = override.lead or lead
            assisting.extend(override.add_assisting)
            steps.append(f"severity {severity} (rule {rule.id}) → lead {lead}, level L{level}")
        elif self._raise.get(named, 0) and level > self._severity_ceiling:
            raised = max(level - self._raise[named], self._severity_ceiling)
            steps.append(f"severity {severity} raises the level L{level} → L{raised} (severity alone raises at most to L{self._severity_ceiling})")
            level = raised
        conditions = self._conditions
        if key_entity and level > conditions.key_entity.highest_level:
            level = conditions.key_entity.highest_level
            applied.append(conditions.key_entity.id)
            steps.append(f"{conditions.key_entity.id}: key supervised entity 重点环境监管对象 → L{level}")
        if suspected_crime:
            added = [d for d in conditions.suspected_crime.add_assisting if d != lead and d not in assisting]
            assisting.extend(added)
            applied.append(conditions.suspected_crime.id)
            steps.append(f"{conditions.suspected_crime.id}: suspected crime 涉嫌犯罪 → assisting + {', '.join(added) or '(already involved)'}")
        if cross_district and level != conditions.cross_district.level:
            level = conditions.cross_district.level
            applied.append(conditions.cross_district.id)
            steps.append(f"{conditions.cross_district.id}: cross-district 跨区域 → L{level}")
        unique_assisting = tuple(dict.fromkeys(d for d in assisting if d != lead))
        return RuleOutcome(rule.id, tuple(applied), lead, unique_assisting, level, tuple(steps))

    def _rule_for(self, category: str, chain_codes: Sequence[str]) -> RuleEntry:
        for rule in self._scoped.get(category, ()):
            if rule.within in chain_codes:
                return rule
        try:
            return self._city_wide[category]
        except KeyError:
            raise UnknownCategory(
                f"category {category!r} has no rule in rules version {self.id}; known: {', '.join(self._city_wide)}"
            ) from None

    def __repr__(self) -> str:
        return f"RulesVersion({self.id!r})"


class RulesSet(EffectiveDated["RulesVersion"]):
    """Every rules version, ordered by start; picks the version in force at a given time."""

    what = "jurisdiction rules version"
