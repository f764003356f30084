"""China's official working-day calendar, including weekend make-up workdays.  # 调休

Backed by the `chinese_calendar` package (module of the `chinesecalendar` distribution), which only knows
the years the State Council has published. Outside that range a day is a workday when it is Monday to
Friday, and every answer says so (`DayInfo.fallback`) instead of raising: a deadline must still be
computed, and the caller can surface the flag as a warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

import chinese_calendar

try:
    CHINA_TZ: timezone | ZoneInfo = ZoneInfo("Asia/Shanghai")
except Exception:  # no tz database on the host: China has had no daylight saving since 1991
    CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class DayInfo:
    day: date
    is_workday: bool
    fallback: bool  # True: outside the official calendar's years, Monday–Friday assumed


class WorkingCalendar:
    """Answers "is this a workday?" for dates in Asia/Shanghai."""

    def __init__(
        self,
        official_is_workday: Callable[[date], bool] | None = None,
        covered_years: tuple[int, int] | None = None,
    ) -> None:
        self._official = official_is_workday or chinese_calendar.is_workday
        self.covered_years = covered_years or _package_covered_years()

    def day(self, day: date) -> DayInfo:
        first, last = self.covered_years
        if first <= day.year <= last:
            return DayInfo(day, bool(self._official(day)), fallback=False)
        return DayInfo(day, day.weekday() < 5, fallback=True)

    def is_workday(self, day: date) -> bool:
        return self.day(day).is_workday

    def covers(self, day: date) -> bool:
        return self.covered_years[0] <= day.year <= self.covered_years[1]


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


def _package_covered_years() -> tuple[int, int]:
    from chinese_calendar import constants

    years = [d.year for d in constants.holidays]  # the package validates years against this table
    return min(years), max(years)
