"""The draw rules of 双随机 spot checks (config/spotcheck/draw-rules.yaml): how many key entities each level-1 and
level-2 grid draws per quarter (a count, or a share of its entities), how many inspectors go to each, and the
two exclusions. The draw records the rules' digest, so a changed rule shows in every draw made under it."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from envgrid.domain.config_errors import read_yaml, validate_model
from envgrid.domain.tasks.spotcheck_lists import RULES_FILE


class EntityQuota(BaseModel):
    """Either `count` entities, or `share` of the grid's entities rounded up (at least `minimum`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    count: int | None = Field(default=None, ge=0)
    share: float | None = Field(default=None, gt=0, le=1)
    minimum: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_of(self) -> EntityQuota:
        if (self.count is None) == (self.share is None):
            raise ValueError("give either count or share, not both and not neither")
        return self

    def of(self, candidates: int) -> int:
        """How many of `candidates` entities to draw (never more than there are)."""
        wanted = self.count if self.count is not None else max(self.minimum, math.ceil((self.share or 0) * candidates))
        return min(wanted, candidates)


class LevelRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    entities: EntityQuota
    inspectors_per_entity: int = Field(ge=1, le=5)


class DrawRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    period: str = Field(pattern="^quarter$")  # draws are per quarter, like the supervision rounds
    exclude_own_township: bool  # no inspector posted in the entity's own township  # 回避
    no_repeat_on_entity: bool  # no inspector on the same entity as in the grid's previous draw
    levels: dict[int, LevelRules]
    source: str

    @model_validator(mode="after")
    def _levels(self) -> DrawRules:
        if set(self.levels) != {1, 2}:
            raise ValueError(f"levels must give rules for exactly levels 1 (city) and 2 (districts), got {sorted(self.levels)}")
        return self

    @property
    def digest(self) -> str:
        """sha256:<hex> over the rules as canonical JSON (sorted keys)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_draw_rules(path: Path = RULES_FILE) -> DrawRules:
    return validate_model(DrawRules, read_yaml(path), path)
