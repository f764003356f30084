"""The upper grids' quarterly supervision of their lower grids (季度督查).

The plan (六.1 巡查): 上级网格责任人员每季度要对下级网格的环境监管工作进行督查 — every quarter, each upper grid's
responsible people check the supervision work of its lower grids. Each (upper, lower) pair becomes one task per
quarter, raised by the clock: a tick that crosses into a new quarter (city time) raises that quarter's tasks, so
a replay of the same ticks raises the same tasks with the same ids (and the case desk opens each once).

Which levels supervise is configuration (config/supervision.yaml, `upper_levels`); see its comments for why
townships do not get a task per village by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from envgrid import paths
from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model
from envgrid.domain.registry.model import RegistrySet
from envgrid.domain.tasks.opening import TaskKind, TaskOpening, supervision_case_id
from envgrid.domain.tasks.quarters import CITY_TIME_ZONE, Quarter, quarters_crossed

SUPERVISION_FILE = paths.CONFIG_DIR / "supervision.yaml"
CATEGORY = "grid_supervision"


class SupervisionRules(BaseModel):
    """config/supervision.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    upper_levels: tuple[int, ...] = Field(min_length=1)
    lead_department: str
    source: str


def load_supervision_rules(path: Path = SUPERVISION_FILE) -> SupervisionRules:
    rules = validate_model(SupervisionRules, read_yaml(path), path)
    bad = [level for level in rules.upper_levels if level not in (1, 2, 3)]
    if bad:
        raise ConfigError(path, "upper_levels", f"levels {bad}: an upper grid is at level 1, 2 or 3 (level 4 has no lower grid)")
    return rules


@dataclass(frozen=True, slots=True)
class SupervisionTask:
    quarter: Quarter
    upper: str
    lower: str
    opening: TaskOpening


def supervision_tasks(previous: datetime | None, now: datetime, registry: RegistrySet, rules: SupervisionRules,
                      zone: ZoneInfo = CITY_TIME_ZONE) -> list[SupervisionTask]:
    """The tasks of every quarter that starts after the `previous` tick and at or before this one (`now`),
    oldest quarter first; none without a previous tick (the first tick of a clock does not know which quarter
    boundary it crossed). Each quarter's pairs come from the grid registry version in force at its start, and
    each task opens at that start, whenever the tick that raises it comes."""
    if previous is None:
        return []
    tasks = []
    for quarter in quarters_crossed(previous, now, zone):
        start = quarter.start(zone)
        version = registry.at(start)
        for upper in sorted(version.grids.values(), key=lambda g: g.code):
            if int(upper.level) not in rules.upper_levels:
                continue
            for lower in sorted(version.children(upper.code), key=lambda g: g.code):
                case_id = supervision_case_id(quarter.compact, upper.code, lower.code)
                opening = TaskOpening(
                    case_id=case_id, kind=TaskKind.SUPERVISION, cause_event_id=f"supervision:{quarter.compact}",
                    category=CATEGORY, grid_chain=version.chain_codes(lower.code), handling_level=int(upper.level),
                    lead_department=rules.lead_department, assisting_departments=(), opened_at=start,
                    set_by=upper.code,
                    description=f"{quarter} 季度督查 quarterly supervision: {upper.name} ({upper.code}) checks the "
                                f"supervision work of {lower.name} ({lower.code})",
                )
                tasks.append(SupervisionTask(quarter, upper.code, lower.code, opening))
    return tasks
