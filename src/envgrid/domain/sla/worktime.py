"""Counted time: which seconds count towards a deadline, and where a budget of counted time runs out.

A deadline is a budget of counted time. What counts depends on the basis:
- `working_days`: the whole of every workday (00:00–24:00 Asia/Shanghai); weekends and holidays don't count.
- `working_hours`: only the office periods of workdays (default 08:30–12:00 and 13:30–17:30).
- `calendar_hours` / `calendar_days`: every second counts.
Day-based limits follow the legal convention that the starting day itself is not counted (see
`counting_start`), so "15 working days" ends at 24:00 of the 15th workday after the start day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from envgrid.domain.sla.calendar import CHINA_TZ, CalendarBasis, WorkingCalendar, weakest
from envgrid.domain.sla.clock import require_aware

_MAX_DAYS_SCANNED = 3660  # ten years: a budget that cannot be placed in that span is a configuration bug
_RECKONINGS_KEPT = 20_000  # `advance` answers kept per WorkTime (each case's open deadlines are asked on every input)


class TimeBasis(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_DAYS = "calendar_days"
    CALENDAR_HOURS = "calendar_hours"

    @property
    def unit(self) -> timedelta:
        return timedelta(days=1) if self in (TimeBasis.WORKING_DAYS, TimeBasis.CALENDAR_DAYS) else timedelta(hours=1)

    @property
    def day_based(self) -> bool:
        return self in (TimeBasis.WORKING_DAYS, TimeBasis.CALENDAR_DAYS)


DEFAULT_OFFICE_PERIODS: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))


@dataclass(frozen=True, slots=True)
class Reckoned:
    """A computed instant and the weakest calendar basis of the days it was counted over."""

    at: datetime
    calendar_basis: CalendarBasis


@dataclass(frozen=True, slots=True)
class Counted:
    amount: timedelta
    calendar_basis: CalendarBasis


class WorkTime:
    """Working-time arithmetic over a `WorkingCalendar` (default: `config/calendar/` over the packages) and office periods.

    Fixed once built (another calendar is another WorkTime: `calendar_change.switch`), so where a budget runs out
    is worked out once: a case's deadlines are asked again on each of its inputs, each answer walks its days.
    """

    def __init__(
        self,
        calendar: WorkingCalendar | None = None,
        office_periods: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_PERIODS,
    ) -> None:
        if calendar is None:
            # imported here so that `python -m envgrid.domain.sla.calendar_data` is not imported twice
            from envgrid.domain.sla.calendar_data import load_working_calendar
            calendar = load_working_calendar()
        self._calendar = calendar
        self._office_periods = office_periods
        self._reckoned: dict[tuple[TimeBasis, datetime, tzinfo | None, timedelta], Reckoned] = {}
        self._day_windows: dict[tuple[TimeBasis, date], tuple[tuple[datetime, datetime], ...]] = {}

    @property
    def calendar(self) -> WorkingCalendar:
        return self._calendar

    @property
    def office_periods(self) -> tuple[tuple[time, time], ...]:
        return self._office_periods

    def counting_start(self, basis: TimeBasis, start: datetime) -> datetime:
        """Where counting begins: the next local midnight for day-based limits, else `start` itself."""
        require_aware(start, "start")
        if not basis.day_based:
            return start
        local = start.astimezone(CHINA_TZ)
        return datetime.combine(local.date() + timedelta(days=1), time(0), CHINA_TZ)

    def advance(self, basis: TimeBasis, start: datetime, budget: timedelta) -> Reckoned:
        """The instant at which `budget` of counted time, counted from `start`, is used up."""
        key = (basis, start, start.tzinfo, budget)  # the zone too: some answers are `start` itself, shown in its zone
        reckoned = self._reckoned.get(key)
        if reckoned is None:
            if len(self._reckoned) >= _RECKONINGS_KEPT:
                self._reckoned.clear()
            reckoned = self._reckoned[key] = self._advance(basis, start, budget)
        return reckoned

    def _advance(self, basis: TimeBasis, start: datetime, budget: timedelta) -> Reckoned:
        require_aware(start, "start")
        if budget <= timedelta(0):
            return Reckoned(start, CalendarBasis.OFFICIAL)
        if basis in (TimeBasis.CALENDAR_DAYS, TimeBasis.CALENDAR_HOURS):
            return Reckoned(start + budget, CalendarBasis.OFFICIAL)
        local = start.astimezone(CHINA_TZ)
        remaining, trusted, day = budget, CalendarBasis.OFFICIAL, local.date()
        for _ in range(_MAX_DAYS_SCANNED):
            info = self.calendar.day(day)
            if info.basis is not trusted:
                trusted = weakest(trusted, info.basis)
            if info.is_workday:
                for window_start, window_end in self._windows(basis, day):
                    begin = max(window_start, local)
                    if begin >= window_end:
                        continue
                    available = window_end - begin
                    if remaining <= available:
                        return Reckoned(begin + remaining, trusted)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no {basis} found within {_MAX_DAYS_SCANNED} days after {start.isoformat()}")

    def counted(self, basis: TimeBasis, start: datetime, end: datetime) -> Counted:
        """Counted time between `start` and `end` (zero when `end` is not after `start`)."""
        require_aware(start, "start")
        require_aware(end, "end")
        if end <= start:
            return Counted(timedelta(0), CalendarBasis.OFFICIAL)
        if basis in (TimeBasis.CALENDAR_DAYS, TimeBasis.CALENDAR_HOURS):
            return Counted(end - start, CalendarBasis.OFFICIAL)
        local_start, local_end = start.astimezone(CHINA_TZ), end.astimezone(CHINA_TZ)
        total, trusted, day = timedelta(0), CalendarBasis.OFFICIAL, local_start.date()
        while day <= local_end.date():
            info = self.calendar.day(day)
            if info.basis is not trusted:
                trusted = weakest(trusted, info.basis)
            if info.is_workday:
                for window_start, window_end in self._windows(basis, day):
                    overlap = min(window_end, local_end) - max(window_start, local_start)
                    if overlap > timedelta(0):
                        total += overlap
            day += timedelta(days=1)
        return Counted(total, trusted)

    def _windows(self, basis: TimeBasis, day: date) -> tuple[tuple[datetime, datetime], ...]:
        windows = self._day_windows.get((basis, day))
        if windows is None:
            windows = self._day_windows[(basis, day)] = tuple(self._windows_of(basis, day))
        return windows

    def _windows_of(self, basis: TimeBasis, day: date) -> list[tuple[datetime, datetime]]:
        if basis is TimeBasis.WORKING_DAYS:
            midnight = datetime.combine(day, time(0), CHINA_TZ)
            return [(midnight, midnight + timedelta(days=1))]
        return [
            (datetime.combine(day, opens, CHINA_TZ), datetime.combine(day, closes, CHINA_TZ))
            for opens, closes in self.office_periods
        ]
