"""Evaluation periods: a month (2027-03), a quarter (2027-Q1) or a year (2027), in Wenzhou's local time.

A case belongs to the period in which it opened (its `created_at`): the plan evaluates how each unit handled
the cases it received in the period (六.4 评价), whatever month they were finished in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from envgrid.domain.sla.calendar import CHINA_TZ

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """[start, end) in Asia/Shanghai, with the label it was written as."""

    start: date
    end: date
    label: str

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"period {text!r}: write a year (2027), a quarter (2027-Q1) or a month (2027-03)")
        year = int(match["year"])
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise ValueError(f"period {text!r}: month {month} is not 01..12")
            return month_period(year, month)
        if match["quarter"]:
            quarter = int(match["quarter"])
            return cls(date(year, 3 * quarter - 2, 1), _first_of(year, 3 * quarter + 1), f"{year}-Q{quarter}")
        return cls(date(year, 1, 1), date(year + 1, 1, 1), f"{year}")

    @classmethod
    def containing(cls, moment: datetime, kind: str) -> Period:
        """The month, quarter or year (kind) that `moment` falls in."""
        local = moment.astimezone(CHINA_TZ)
        if kind == "month":
            return month_period(local.year, local.month)
        if kind == "quarter":
            return cls.parse(f"{local.year}-Q{(local.month - 1) // 3 + 1}")
        if kind == "year":
            return cls.parse(f"{local.year}")
        raise ValueError(f"period kind {kind!r}: month, quarter or year")

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(CHINA_TZ).date() < self.end

    @property
    def start_instant(self) -> datetime:
        return datetime.combine(self.start, time(0), CHINA_TZ)

    @property
    def end_instant(self) -> datetime:
        return datetime.combine(self.end, time(0), CHINA_TZ)

    def months(self) -> list[Period]:
        """The months of the period, in order (the trend chart's points)."""
        months, day = [], self.start
        while day < self.end:
            months.append(month_period(day.year, day.month))
            day = _first_of(day.year, day.month + 1)
        return months


def month_period(year: int, month: int) -> Period:
    return Period(date(year, month, 1), _first_of(year, month + 1), f"{year}-{month:02d}")


def _first_of(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
