"""Pipeline clocks (outside the domain, which never reads time): wall, accelerated (demo), manual."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


@dataclass
class WallClock:
    name: str = "wall"

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class AcceleratedClock:
    """Runs `speedup` times faster than the wall clock from `start`: the demo lives days in minutes."""

    start: datetime
    speedup: float
    name: str = "accelerated"
    _origin: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speedup)


def clock_for(kind: str, speedup: float = 1.0, start: str | None = None) -> WallClock | AcceleratedClock | None:
    """The clock a worker ticks with; None for `manual` (tests and replays send ticks themselves)."""
    if kind == "wall":
        return WallClock()
    if kind == "accelerated":
        origin = datetime.fromisoformat(start) if start else datetime.now(timezone.utc)
        return AcceleratedClock(origin, speedup)
    if kind == "manual":
        return None
    raise ValueError(f"unknown clock {kind!r}: use wall, accelerated or manual")


def tick_record(clock_name: str, partition: int, now: datetime) -> dict:
    """A ClockTick record for one partition."""
    return {"event_id": f"tick:{clock_name}:{partition}:{int(now.timestamp() * 1000)}", "now": now, "clock": clock_name}
