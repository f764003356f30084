"""Pipeline clocks (outside the domain, which never reads time): wall, accelerated (demo), manual."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
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


def add_clock_arguments(parser: argparse.ArgumentParser, kinds: Sequence[str] = ("wall", "accelerated", "manual"),
                        purpose: str = "SLA clock") -> None:
    """--clock, --speedup, --clock-start, --clock-origin: what `clock_for` takes, the same in every process that
    must agree on the demo's accelerated time (the worker, the department simulator, the Open311 gateway)."""
    described = {"wall": "wall", "accelerated": "accelerated (demo)", "manual": "manual (ticks sent by tests/replays)"}
    parser.add_argument("--clock", default="wall", choices=list(kinds),
                        help=f"{purpose}: {', '.join(described[k] for k in kinds)}")
    parser.add_argument("--speedup", type=float, default=1.0, help="accelerated clock: simulated s per real s")
    parser.add_argument("--clock-start", default=None, help="accelerated clock: ISO start instant")
    parser.add_argument("--clock-origin", type=float, default=None,
                        help="accelerated clock: wall epoch seconds at which it shows --clock-start")


def clock_arguments(clock: AcceleratedClock) -> list[str]:
    """The command-line arguments (see `add_clock_arguments`) of a process that must show the same time as `clock`."""
    return ["--clock", "accelerated", "--speedup", str(clock.speedup), "--clock-start", clock.start.isoformat(),
            "--clock-origin", repr(clock.origin)]


def tick_record(clock_name: str, partition: int, now: datetime) -> dict[str, Any]:
    """A ClockTick record for one partition."""
    return {"event_id": f"tick:{clock_name}:{partition}:{int(now.timestamp() * 1000)}", "now": now, "clock": clock_name}
