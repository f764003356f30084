"""Quarters (季度) in the city's time zone: the period of spot-check draws and of upper grids' supervision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from envgrid.domain.sla.clock import require_aware

CITY_TIME_ZONE = ZoneInfo("Asia/Shanghai")
_PATTERN = re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$")


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    year: int
    number: int  # 1..4

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _PATTERN.match(text)
        if match is None:
            raise ValueError(f"period {text!r}: write a quarter like 2027-Q1")
        return cls(int(match["year"]), int(match["quarter"]))

    @classmethod
    def of(cls, moment: datetime, zone: ZoneInfo = CITY_TIME_ZONE) -> Quarter:
        """The quarter `moment` falls in, on the city's calendar (a UTC instant late on 31 March is Q2 there)."""
        local = require_aware(moment, "moment").astimezone(zone)
        return cls(local.year, (local.month - 1) // 3 + 1)

    def start(self, zone: ZoneInfo = CITY_TIME_ZONE) -> datetime:
        """Midnight of the quarter's first day, city time."""
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=zone)

    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def compact(self) -> str:
        """2027Q1: the form inside task case ids."""
        return f"{self.year}Q{self.number}"


def quarters_crossed(previous: datetime, now: datetime, zone: ZoneInfo = CITY_TIME_ZONE) -> list[Quarter]:
    """Every quarter that starts after `previous` and at or before `now`, oldest first (none when both lie in
    the same quarter, or `now` is not later)."""
    crossed = []
    quarter, last = Quarter.of(previous, zone).next(), Quarter.of(now, zone)
    while quarter <= last:
        crossed.append(quarter)
        quarter = quarter.next()
    return crossed
