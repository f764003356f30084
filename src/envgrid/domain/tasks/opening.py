"""What the case desk opens for a scheduled task: a case with a deterministic id, so that a replay (or a
redelivered draw, or a tick seen twice) finds the case it opened the first time and opens nothing."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TaskKind(StrEnum):
    SPOT_CHECK = "spot_check"    # a drawn inspection of a key supervised entity  # 双随机抽查
    SUPERVISION = "supervision"  # an upper grid's quarterly check of a lower grid  # 季度督查


@dataclass(frozen=True, slots=True)
class TaskOpening:
    """A task as a case: `kind` is the case's channel (it selects the SLA policy in config/sla.yaml) and
    `set_by` the grid that set it (the case's reporting unit, which gets its feedback)."""

    case_id: str
    kind: TaskKind
    cause_event_id: str  # the draw id, or the quarter's supervision round
    category: str
    grid_chain: tuple[str, ...]  # lowest grid first, the city last
    handling_level: int
    lead_department: str
    assisting_departments: tuple[str, ...]
    opened_at: datetime
    set_by: str
    description: str


SPOT_CHECK_PREFIX = "SC-"
SUPERVISION_PREFIX = "SUP-"
_SUPERVISION_ID = re.compile(r"^SUP-\d{4}Q[1-4]-\d{4,12}-\d{4,12}$")


def spot_check_case_id(draw_id: str, entity_id: str) -> str:
    """SC- and the first 16 hex digits of SHA-256 over `<draw id>|<entity id>`: one case per drawn entity."""
    digest = hashlib.sha256(f"{draw_id}|{entity_id}".encode()).hexdigest()
    return SPOT_CHECK_PREFIX + digest[:16].upper()


def supervision_case_id(quarter: str, upper: str, lower: str) -> str:
    """SUP-2027Q1-<upper grid>-<lower grid>: readable, and one per pair and quarter."""
    return f"{SUPERVISION_PREFIX}{quarter}-{upper}-{lower}"


def is_task_id(text: str) -> bool:
    """True for an id `spot_check_case_id` or `supervision_case_id` produces."""
    if text.startswith(SPOT_CHECK_PREFIX):
        body = text[len(SPOT_CHECK_PREFIX):]
        return len(body) == 16 and all(c in "0123456789ABCDEF" for c in body)
    return bool(_SUPERVISION_ID.match(text))
