"""China's working-day calendar, including weekend make-up workdays (调休), and how far each answer can be trusted.

Each year is answered from the most trustworthy source that has it (`CalendarBasis`, strongest first):
1. OFFICIAL: a year file in `config/calendar/` marked official (the State Council's notice, 国务院办公厅关于
   YYYY 年部分节假日安排的通知), else the `chinese_calendar` package (module of the `chinesecalendar`
   distribution) for the years it knows;
2. PROVISIONAL: a year file marked provisional (e.g. estimated from the statutory holidays);
3. STATUTORY_RULE: the statutory holidays by rule (全国年节及纪念日放假办法, from the `holidays` package),
   weekend holidays made up on the next workday (补假), no make-up workdays (those come only with a notice);
4. WEEKDAYS: Monday to Friday, the last resort.
A deadline must still be computed when the data is weak, so nothing raises; every answer says its basis,
and a reckoning over several days takes the weakest (`weakest`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

if TYPE_CHECKING:
    from holidays import HolidayBase

try:
    CHINA_TZ: timezone | ZoneInfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database on the host: China has had no daylight saving since 1991
    CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class CalendarBasis(StrEnum):
    """What a working-day answer rests on; the values are the SLA record's `calendar` field."""

    OFFICIAL = "cn_official"
    PROVISIONAL = "cn_provisional"
    STATUTORY_RULE = "cn_statutory_rule"
    WEEKDAYS = "weekday_fallback"

    @property
    def trust(self) -> int:
        """0 for official data, higher for weaker data."""
        return _TRUST_ORDER.index(self)


_TRUST_ORDER = tuple(CalendarBasis)
_TRUST = {basis: trust for trust, basis in enumerate(_TRUST_ORDER)}  # `weakest` runs for every day of every deadline
UNOFFICIAL_BASES: tuple[CalendarBasis, ...] = _TRUST_ORDER[1:]


def weakest(*bases: CalendarBasis) -> CalendarBasis:
    """The least trustworthy of `bases` (OFFICIAL when none is given): a result is as weak as its weakest day."""
    return max(bases, key=_TRUST.__getitem__, default=CalendarBasis.OFFICIAL)


class YearStatus(StrEnum):
    OFFICIAL = "official"        # entered from the State Council's notice
    PROVISIONAL = "provisional"  # an estimate, until the notice is published


@dataclass(frozen=True, slots=True)
class Source:
    title: str  # the notice's title (and number), or the rule an estimate follows
    date: date  # when it was issued


@dataclass(frozen=True, slots=True)
class ScheduledDay:
    day: date
    name: str
    source: Source


@dataclass(frozen=True, slots=True)
class CalendarVersion:
    """One year's schedule: holidays (放假) and make-up workdays (调休上班), as published or estimated.

    `id` changes exactly when the year's status or any of its days change, so it names what a deadline
    was computed with: recorded in SLA events, and looked up again by replays (`CalendarHistory`).
    """

    year: int
    status: YearStatus
    source: Source
    holidays: tuple[ScheduledDay, ...]
    workdays: tuple[ScheduledDay, ...]
    note: str = ""
    _off: frozenset[date] = field(init=False, repr=False, compare=False)
    _on: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # looked up for every day of every deadline: sets, not scans
        object.__setattr__(self, "_off", frozenset(entry.day for entry in self.holidays))
        object.__setattr__(self, "_on", frozenset(entry.day for entry in self.workdays))

    @property
    def basis(self) -> CalendarBasis:
        return CalendarBasis.OFFICIAL if self.status is YearStatus.OFFICIAL else CalendarBasis.PROVISIONAL

    @property
    def id(self) -> str:
        days = ",".join([*(f"-{day}" for day in sorted(self._off)), *(f"+{day}" for day in sorted(self._on))])
        digest = hashlib.sha256(f"{self.year}|{self.status}|{days}".encode()).hexdigest()[:10]
        return f"{self.year}-{self.status}-{digest}"

    def is_workday(self, day: date) -> bool:
        return day in self._on or (day.weekday() < 5 and day not in self._off)


@dataclass(frozen=True, slots=True)
class DayInfo:
    day: date
    is_workday: bool
    basis: CalendarBasis


class StatutoryRule(Protocol):
    """The statutory holidays of a year by rule, or None when the rule does not know the year."""

    id: str

    def holidays(self, year: int) -> frozenset[date] | None: ...


class WorkingCalendar:
    """Answers "is this a workday?" for dates in Asia/Shanghai, and on what basis (see the module's doc)."""

    def __init__(
        self,
        official_is_workday: Callable[[date], bool] | None = None,
        covered_years: tuple[int, int] | None = None,
        *,
        years: Iterable[CalendarVersion] = (),
        statutory: StatutoryRule | None = None,
    ) -> None:
        self._official = official_is_workday or chinese_calendar.is_workday
        self.covered_years = covered_years or _package_covered_years()
        self.years: dict[int, CalendarVersion] = {}
        for version in years:
            if version.year in self.years:
                raise ValueError(f"two schedules for {version.year}: {self.years[version.year].id} and {version.id}")
            self.years[version.year] = version
        self.statutory = statutory if statutory is not None else HolidaysPackageRule()
        package = _distribution_version("chinesecalendar") if official_is_workday is None else "custom"
        first, last = self.covered_years
        # Names every source answered from, recorded in SLA events and read back by `CalendarHistory.calendar_of`:
        # chinesecalendar-1.11.0:2004-2026+2027-provisional-d9155790f7+holidays-0.109
        self.version_id = "+".join([
            f"chinesecalendar-{package}:{first}-{last}", *(self.years[y].id for y in sorted(self.years)), self.statutory.id,
        ])
        # Every deadline walks its days through here, and the package's own lookup scans its tables on each
        # call: the answers, fixed for this calendar, are kept (a few hundred days a year at most).
        self._days: dict[date, DayInfo] = {}

    def day(self, day: date) -> DayInfo:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> DayInfo:
        version = self.years.get(day.year)
        if version is not None and version.status is YearStatus.OFFICIAL:
            return DayInfo(day, version.is_workday(day), CalendarBasis.OFFICIAL)
        if self.covered_years[0] <= day.year <= self.covered_years[1]:
            return DayInfo(day, bool(self._official(day)), CalendarBasis.OFFICIAL)
        if version is not None:
            return DayInfo(day, version.is_workday(day), CalendarBasis.PROVISIONAL)
        statutory = self.statutory.holidays(day.year)
        if statutory is not None:
            return DayInfo(day, day.weekday() < 5 and day not in statutory, CalendarBasis.STATUTORY_RULE)
        return DayInfo(day, day.weekday() < 5, CalendarBasis.WEEKDAYS)

    def is_workday(self, day: date) -> bool:
        return self.day(day).is_workday

    def covers(self, day: date) -> bool:
        """Whether `day` rests on official data."""
        return self.day(day).basis is CalendarBasis.OFFICIAL

    def basis_of_year(self, year: int) -> CalendarBasis:
        return self.day(date(year, 1, 1)).basis


class NoStatutoryRule:
    """No rule: years without data are Monday to Friday."""

    id = "no-statutory-rule"

    def holidays(self, year: int) -> frozenset[date] | None:
        return None


class HolidaysPackageRule:
    """Statutory holidays by rule from the `holidays` package's China calendar (public holidays incl. 补假)."""

    def __init__(self) -> None:
        self._years: dict[int, frozenset[date] | None] = {}
        self._china: type[HolidayBase] | None
        try:
            import holidays
        except ImportError:  # without it, years beyond the data fall back to Monday–Friday
            self._china, self.id = None, NoStatutoryRule.id
            return
        self._china, self.id = holidays.China, f"holidays-{_distribution_version('holidays')}"

    def holidays(self, year: int) -> frozenset[date] | None:
        if self._china is None:
            return None
        if year not in self._years:
            known = self._china.start_year <= year <= self._china.end_year
            self._years[year] = frozenset(self._china(years=year)) if known else None
        return self._years[year]


class CalendarHistory:
    """Every published calendar version with the instant it came into force, for replays and re-timing.

    Like registry and rules versions, an event is judged by the calendar in force when it happened:
    `calendar_at(moment)` takes, for each year, the latest version published at or before `moment`.
    """

    def __init__(self, published: Iterable[tuple[datetime, CalendarVersion]] = (), **calendar_options: Any) -> None:
        self.published = tuple(sorted(published, key=lambda item: item[0]))
        for moment, _ in self.published:
            if moment.tzinfo is None:
                raise ValueError(f"publication time {moment.isoformat()} has no timezone")
        self._options = calendar_options

    def publish(self, at: datetime, version: CalendarVersion) -> CalendarHistory:
        return CalendarHistory((*self.published, (at, version)), **self._options)

    def versions_at(self, moment: datetime) -> tuple[CalendarVersion, ...]:
        if moment.tzinfo is None:
            raise ValueError(f"time {moment.isoformat()} has no timezone; pass an aware datetime")
        in_force: dict[int, CalendarVersion] = {}
        for at, version in self.published:
            if at <= moment:
                in_force[version.year] = version
        return tuple(in_force[year] for year in sorted(in_force))

    def calendar_at(self, moment: datetime) -> WorkingCalendar:
        return WorkingCalendar(years=self.versions_at(moment), **self._options)

    def by_id(self, version_id: str) -> CalendarVersion:
        for _, version in self.published:
            if version.id == version_id:
                return version
        raise KeyError(f"unknown calendar version {version_id!r}")

    def calendar_of(self, calendar_version_id: str) -> WorkingCalendar:
        """The calendar an SLA event's `calendar_version` names (its year versions must be in this history)."""
        years = [self.by_id(part) for part in calendar_version_id.split("+") if part[:4].isdigit()]
        rebuilt = WorkingCalendar(years=years, **self._options)
        if rebuilt.version_id != calendar_version_id:
            raise ValueError(f"calendar {calendar_version_id!r} cannot be rebuilt here, this host gives "
                             f"{rebuilt.version_id!r}: install the package versions it names to replay it")
        return rebuilt


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


def _package_covered_years() -> tuple[int, int]:
    from chinese_calendar import constants

    years = [d.year for d in constants.holidays]  # the package validates years against this table
    return min(years), max(years)


def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
