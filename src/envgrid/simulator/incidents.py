"""Recent original reports that a repeat report (重复投诉) may pick: a time-ordered window, pruned as the
simulated clock moves on."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from envgrid.simulator.places import Spot


@dataclass(slots=True)
class Incident:
    """An original report that later reports may repeat."""

    event_id: str
    category: str
    spot: Spot
    occurred_at: datetime
    received_at: datetime
    channel: str | None  # None for a patrol report
    with_coordinates: bool
    address_levels: tuple[str, ...]
    case_id: str


class RecentIncidents:
    """Originals in receive order; `pick` draws one whose incident time lies inside the window."""

    def __init__(self, window: timedelta) -> None:
        # 0.9: the repeat's own incident time lies between the original's and now, so it stays inside.
        self.horizon = window * 0.9
        self._items: list[Incident] = []
        self._head = 0

    def add(self, incident: Incident) -> None:
        self._items.append(incident)

    def pick(self, rng: random.Random, now: datetime) -> Incident | None:
        horizon = now - self.horizon
        items = self._items
        while self._head < len(items) and items[self._head].received_at < horizon:
            self._head += 1
        if self._head > 4096 and self._head * 2 > len(items):  # compact now and then
            del items[: self._head]
            self._head = 0
        for _ in range(8):  # letters arrive days late: skip originals whose incident is too old
            if self._head >= len(items):
                return None
            candidate = items[self._head + int(rng.random() * (len(items) - self._head))]
            if candidate.occurred_at >= horizon:
                return candidate
        return None
