"""Pipeline clocks (outside the domain, which never reads time): wall, accelerated (demo), manual."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass
class WallClock:
    name: str = "wall"

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class AcceleratedClock:
    """Runs `speedup` times faster than the wall clock from `start`: the demo lives days in minutes."""

    start: datetime
    speedup: float
    origin: float = field(default_factory=time.time)  # the wall instant (epoch s) at which it shows `start`
    name: str = "accelerated"

    def now(self) -> datetime:
        return self.at(time.time())

    def at(self, wall_epoch_s: float) -> datetime:
        """What the clock shows at a wall instant, so other processes can agree with it."""
        return self.start + timedelta(seconds=(wall_epoch_s - self.origin) * self.speedup)


def clock_for(kind: str, speedup: float = 1.0, start: str | None = None,
              origin: float | None = None) -> WallClock | AcceleratedClock | None:
    """The clock a worker ticks with; None for `manual` (tests and replays send ticks themselves)."""
    if kind == "wall":
        return WallClock()
    if kind == "accelerated":
        shown = datetime.fromisoformat(start) if start else datetime.now(UTC)
        return AcceleratedClock(shown, speedup, origin if origin is not None else time.time())
    if kind == "manual":
        return None
    raise ValueError(f"unknown clock {kind!r}: use wall, accelerated or manual")


def tick_record(clock_name: str, partition: int, now: datetime) -> dict[str, Any]:
    """A ClockTick record for one partition."""
    return {"event_id": f"tick:{clock_name}:{partition}:{int(now.timestamp() * 1000)}", "now": now, "clock": clock_name}
