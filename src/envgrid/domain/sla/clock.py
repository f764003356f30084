"""Time as an input: the domain never reads the wall clock.

The real clock adapter lives in `connectors/`; tests and replays use `FixedClock` or `ManualClock`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


def require_aware(moment: datetime, what: str = "time") -> datetime:
    """Reject naive datetimes: a naive time is a bug at the edge, not something to guess about."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at, "FixedClock time")

    def now(self) -> datetime:
        return self._at


class ManualClock:
    """A clock a test or a replay moves forward explicitly; it never goes backwards."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "ManualClock start")

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError(f"ManualClock cannot go backwards (advance by {by})")
        self._now += by
        return self._now

    def set(self, at: datetime) -> datetime:
        require_aware(at, "ManualClock time")
        if at < self._now:
            raise ValueError(f"ManualClock cannot go backwards: {at.isoformat()} < {self._now.isoformat()}")
        self._now = at
        return self._now
