"""SLA timers as JSON-friendly dicts, for the SLA processor's table (the deadline schedule has its own layout:
`envgrid.streams.due_minutes`).

Times keep their UTC offset (ISO 8601), durations are ISO 8601 durations, enums are stored by value.
"""
from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from envgrid.domain.sla.timer import MilestoneTimer

_TIMER = TypeAdapter(MilestoneTimer)


def timer_key(case_id: str, milestone: str) -> str:
    """Table key of a timer: one per (case, milestone)."""
    return f"{case_id}/{milestone}"


def timer_to_dict(timer: MilestoneTimer) -> dict[str, Any]:
    data: dict[str, Any] = _TIMER.dump_python(timer, mode="json")
    return data


def timer_from_dict(data: dict[str, Any]) -> MilestoneTimer:
    return _TIMER.validate_python(data)
