"""Shape of a jurisdiction-rules version file in config/rules/ (validated with pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Level = Literal[1, 2, 3, 4]
Severity = Literal["low", "medium", "high", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeverityOverride(_Strict):
    level: Level | None = None
    lead: str | None = None
    add_assisting: list[str] = []


class RuleEntry(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]+$")
    category: str
    lead: str
    assisting: list[str] = []
    level: Level
    within: str | None = Field(default=None, pattern=r"^\d{4}(\d{2}(\d{3}(\d{3})?)?)?$")
    by_severity: dict[Severity, SeverityOverride] = {}


class SeveritySettings(_Strict):
    raise_levels: dict[Severity, int] = {"low": 0, "medium": 0, "high": 1, "critical": 2}
    highest_level_by_severity: Level = 2


class KeyEntityCondition(_Strict):
    id: str
    highest_level: Level = 2


class SuspectedCrimeCondition(_Strict):
    id: str
    add_assisting: list[str] = Field(min_length=1)


class CrossDistrictCondition(_Strict):
    id: str
    level: Level = 1


class SpecialConditions(_Strict):
    key_entity: KeyEntityCondition
    suspected_crime: SuspectedCrimeCondition
    cross_district: CrossDistrictCondition


class RulesVersionFile(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    valid_from: dt.date
    valid_to: dt.date | None = None
    source: str = Field(min_length=1)
    severity: SeveritySettings = SeveritySettings()
    special_conditions: SpecialConditions
    rules: list[RuleEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RulesVersionFile:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} must be after valid_from {self.valid_from}")
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule id(s): {', '.join(duplicates)}")
        scopes = [(rule.category, rule.within) for rule in self.rules]
        clashes = sorted({f"{c} within {w or 'city'}" for c, w in scopes if scopes.count((c, w)) > 1})
        if clashes:
            raise ValueError(f"more than one rule for: {', '.join(clashes)}")
        return self
