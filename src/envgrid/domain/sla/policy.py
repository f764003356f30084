"""SLA policies per channel and category, read from `config/sla.yaml`.

Every limit in the file names its source (law or local practice). `load_sla_policies` validates the
file with pydantic and reports every problem as "file: entry: field: problem" so an editor can fix it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from envgrid import paths
from envgrid.domain.sla.commands import Milestone, PauseReason
from envgrid.domain.sla.worktime import DEFAULT_OFFICE_PERIODS, TimeBasis

WILDCARD = "*"
DEFAULT_SLA_FILE = paths.SLA_FILE


class Channel(StrEnum):
    """Where a report came from. Petitions (信访) arrive by hotline, web, letter or visit."""

    HOTLINE_12345 = "hotline_12345"  # government service hotline
    HOTLINE_12369 = "hotline_12369"  # environmental hotline
    WEB = "web"
    LETTER = "letter"
    VISIT = "visit"
    PATROL = "patrol"  # a grid member's own patrol report  # 巡查
    SPOT_CHECK = "spot_check"  # a drawn inspection of a key supervised entity (envgrid.domain.tasks)  # 双随机抽查
    SUPERVISION = "supervision"  # an upper grid's quarterly check of a lower grid (envgrid.domain.tasks)  # 季度督查


class SlaConfigError(ValueError):
    """The SLA file is invalid; `problems` lists each one as 'file: entry: field: problem'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid SLA configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtensionRule(_Strict):
    """A deadline may be extended `max_times` times by at most `limit` units in total.  # 延期"""

    limit: float = Field(gt=0)
    basis: TimeBasis
    max_times: int = Field(default=1, ge=1)


class MilestoneRule(_Strict):
    limit: float = Field(gt=0)
    basis: TimeBasis
    extension: ExtensionRule | None = None

    @property
    def budget(self) -> timedelta:
        return self.limit * self.basis.unit

    @model_validator(mode="after")
    def _extension_same_basis(self) -> MilestoneRule:
        if self.extension is not None and self.extension.basis is not self.basis:
            raise ValueError(f"extension basis {self.extension.basis} differs from the limit's basis {self.basis}")
        return self


class PolicyEntry(_Strict):
    name: str = Field(min_length=1)
    source: str = Field(min_length=1, description="law article or local practice the limits come from")
    channels: list[Channel] = Field(min_length=1)
    categories: list[str] = Field(default_factory=lambda: [WILDCARD], min_length=1)
    milestones: dict[Milestone, MilestoneRule] = Field(min_length=1)
    pause_while: list[PauseReason] = Field(default_factory=list)


class WorkingHoursConfig(_Strict):
    periods: list[str] = Field(min_length=1, description='"HH:MM-HH:MM", Asia/Shanghai')
    source: str = Field(min_length=1)

    @field_validator("periods")
    @classmethod
    def _periods_ordered(cls, periods: list[str]) -> list[str]:
        parsed = [_parse_period(p) for p in periods]
        for (_, end), (start, _) in pairwise(parsed):
            if start < end:
                raise ValueError(f"periods overlap or are out of order: {periods}")
        return periods

    def as_times(self) -> tuple[tuple[time, time], ...]:
        return tuple(_parse_period(p) for p in self.periods)


class SlaFile(_Strict):
    version: int = Field(ge=1)
    timezone: str = "Asia/Shanghai"
    working_hours: WorkingHoursConfig
    warning_fractions: list[float] = Field(default_factory=lambda: [0.5, 0.8])
    policies: list[PolicyEntry] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _china_only(cls, tz: str) -> str:
        if tz != "Asia/Shanghai":
            raise ValueError("only Asia/Shanghai is supported: the working-day calendar is China's")
        return tz

    @field_validator("warning_fractions")
    @classmethod
    def _fractions(cls, fractions: list[float]) -> list[float]:
        if any(not 0 < f < 1 for f in fractions) or sorted(set(fractions)) != fractions:
            raise ValueError(f"must be strictly increasing, each between 0 and 1 (breach is 1.0), got {fractions}")
        return fractions


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The resolved policy for one (channel, category)."""

    name: str
    source: str
    milestones: dict[Milestone, MilestoneRule]
    pause_while: frozenset[PauseReason]


class SlaPolicies:
    """Lookup: an entry naming the category wins over the channel's wildcard entry."""

    def __init__(self, config: SlaFile) -> None:
        self.config = config
        self.warning_fractions: tuple[float, ...] = tuple(config.warning_fractions)
        self.office_periods = config.working_hours.as_times() or DEFAULT_OFFICE_PERIODS
        self._by_key: dict[tuple[str, str], SlaPolicy] = {}
        for entry in config.policies:
            policy = SlaPolicy(entry.name, entry.source, dict(entry.milestones), frozenset(entry.pause_while))
            for channel in entry.channels:
                for category in entry.categories:
                    self._by_key[(channel.value, category)] = policy

    def policy_for(self, channel: str, category: str) -> SlaPolicy | None:
        return self._by_key.get((channel, category)) or self._by_key.get((channel, WILDCARD))

    def rule_for(self, channel: str, category: str, milestone: Milestone) -> MilestoneRule | None:
        policy = self.policy_for(channel, category)
        return None if policy is None else policy.milestones.get(milestone)


def load_sla_policies(path: Path | str = DEFAULT_SLA_FILE) -> SlaPolicies:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SlaConfigError([f"{path}: cannot read: {exc}"]) from exc
    return parse_sla_policies(raw, source=str(path))


def parse_sla_policies(raw: Any, source: str = "<sla config>") -> SlaPolicies:
    if not isinstance(raw, dict):
        raise SlaConfigError([f"{source}: top level must be a mapping, got {type(raw).__name__}"])
    try:
        config = SlaFile.model_validate(raw)
    except ValidationError as exc:
        raise SlaConfigError([_describe(source, raw, err) for err in exc.errors()]) from None
    problems = _coverage_problems(config, source)
    if problems:
        raise SlaConfigError(problems)
    return SlaPolicies(config)


def _coverage_problems(config: SlaFile, source: str) -> list[str]:
    problems: list[str] = []
    owner: dict[tuple[str, str], str] = {}
    for index, entry in enumerate(config.policies):
        for channel in entry.channels:
            for category in entry.categories:
                key = (channel.value, category)
                if key in owner:
                    problems.append(
                        f"{source}: policies[{index}] ({entry.name!r}): channel {channel.value!r} category "
                        f"{category!r} is already covered by {owner[key]!r}; keep one entry"
                    )
                owner.setdefault(key, entry.name)
    for channel in Channel:
        if (channel.value, WILDCARD) not in owner:
            problems.append(f"{source}: policies: channel {channel.value!r} has no default entry (category '*')")
    return problems


def _describe(source: str, raw: dict[str, Any], err: ErrorDetails) -> str:
    loc = list(err["loc"])
    where = ".".join(str(part) for part in loc) or "(top level)"
    if len(loc) >= 2 and loc[0] == "policies" and isinstance(loc[1], int):
        entries = raw.get("policies") or []
        name = entries[loc[1]].get("name", "?") if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) else "?"
        field = ".".join(str(part) for part in loc[2:]) or "(entry)"
        where = f"policies[{loc[1]}] ({name!r}): {field}"
    return f"{source}: {where}: {err['msg']}"


def _parse_period(text: str) -> tuple[time, time]:
    try:
        opens, closes = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"period {text!r} must look like '08:30-12:00'") from None
    if opens >= closes:
        raise ValueError(f"period {text!r} closes before it opens")
    return opens, closes
