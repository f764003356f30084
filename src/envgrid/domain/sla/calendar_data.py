"""The holiday schedule as data: one file per year in `config/calendar/<year>.yaml`.

A file lists the year's holidays (放假) and make-up workdays (调休上班) as the State Council's notice gives
them (国务院办公厅关于 YYYY 年部分节假日安排的通知), each with its source, and says whether the year is
`official` (entered from the notice) or `provisional` (an estimate). Validation is strict and names the
file and the entry: every date inside the file's year, no day both a holiday and a workday, every make-up
workday a Saturday or Sunday. Which source wins for a year is `envgrid.domain.sla.calendar`'s business.

    python -m envgrid.domain.sla.calendar_data check                    # validate every year file, show what each changes
    python -m envgrid.domain.sla.calendar_data provisional 2028 [--write]  # estimate a year from the statutory holidays
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model
from envgrid.domain.sla.calendar import (
    CalendarVersion,
    HolidaysPackageRule,
    ScheduledDay,
    Source,
    WorkingCalendar,
    YearStatus,
)
from envgrid.paths import CALENDAR_DIR

STATUTE = Source("全国年节及纪念日放假办法 (国务院令第795号修订)", dt.date(2024, 11, 10))
PROVISIONAL_NOTE = (
    "provisional: estimated from the statutory holidays. Weekend holidays are made up on the next workdays "
    "(补假) by rule. Make-up workdays (调休上班) are known only from the State Council's notice, so none are "
    "listed: replace this file with the notice and mark it official."
)
_LONGEST_ENTRY = 31  # days; a longer range is a typo, not a holiday


def load_working_calendar(directory: Path = CALENDAR_DIR, **options: Any) -> WorkingCalendar:
    """The working calendar with every year file of `directory` (`options` go to `WorkingCalendar`)."""
    return WorkingCalendar(years=load_year_files(directory), **options)


def load_year_files(directory: Path = CALENDAR_DIR) -> tuple[CalendarVersion, ...]:
    """Every `<year>.yaml` of `directory`, validated; none when the directory does not exist."""
    if not directory.is_dir():
        return ()
    return tuple(load_year_file(path) for path in sorted(directory.glob("*.yaml")))


def load_year_file(path: Path) -> CalendarVersion:
    raw = read_yaml(path)
    model = validate_model(YearFile, raw, path)
    problems = _problems(model, path)
    if problems:
        (entry, problem), *more = problems
        if more:
            problem += "; also " + "; ".join(f"{where}: {what}" for where, what in more)
        raise ConfigError(path, entry, problem)
    return model.to_version()


def provisional_version(year: int, rule: HolidaysPackageRule | None = None) -> CalendarVersion:
    """A year estimated from the statutory holidays by rule (the `holidays` package's China calendar).

    Only the statutory days and their make-up days off (补假) follow from the law; make-up workdays
    (调休上班) are set by each year's notice, so the estimate has none.
    """
    import holidays

    rule = rule or HolidaysPackageRule()
    if rule.holidays(year) is None:
        raise ValueError(f"{rule.id} has no China holidays for {year}")
    chinese = holidays.China(years=year, language="zh_CN")
    english = holidays.China(years=year, language="en_US")
    made_up = Source(f"补假 by rule: a holiday on a Saturday or Sunday is made up on the next workday ({rule.id})",
                     STATUTE.date)
    days = tuple(
        ScheduledDay(day, f"{chinese[day]} {english[day]}", made_up if "observed" in english[day] else STATUTE)
        for day in sorted(chinese)
    )
    return CalendarVersion(year, YearStatus.PROVISIONAL, STATUTE, days, (), PROVISIONAL_NOTE)


def render_year_file(version: CalendarVersion) -> str:
    """The YAML text of a year file, in the form `load_year_file` reads back to the same version."""
    def source(value: Source) -> str:
        return f"{{title: {_quoted(value.title)}, date: {value.date}}}"

    def entries(key: str, days: tuple[ScheduledDay, ...]) -> list[str]:
        return [f"{key}:" + ("" if days else " []"), *(
            f"  - {{date: {d.day}, name: {_quoted(d.name)}"
            + ("" if d.source == version.source else f", source: {source(d.source)}") + "}"
            for d in days)]

    lines = [
        f"# {version.year}: holidays (放假) and make-up workdays (调休上班). Checked by",
        "# `python -m envgrid.domain.sla.calendar_data check`; README: \"Entering next year's holiday schedule\".",
        f"year: {version.year}",
        f"status: {version.status}",
        f"source: {source(version.source)}",
        *([f"note: {_quoted(version.note)}"] if version.note else []),
        *entries("holidays", version.holidays),
        *(["# Make-up workdays (调休上班) are not known until the State Council's notice is published."]
          if version.status is YearStatus.PROVISIONAL and not version.workdays else []),
        *entries("workdays", version.workdays),
    ]
    return "\n".join(lines) + "\n"


def _date_only(value: Any) -> Any:
    if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
        raise ValueError(f"expected a date like 2027-02-05, got {value!r}")
    return value


Day = Annotated[dt.date, BeforeValidator(_date_only)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceEntry(_Strict):
    title: str = Field(min_length=1)
    date: Day

    def to_source(self) -> Source:
        return Source(self.title, self.date)


class DayEntry(_Strict):
    """One day (`date`) or a range (`from`, `to`, both included) with the same name."""

    date: Day | None = None
    first: Day | None = Field(default=None, alias="from")
    last: Day | None = Field(default=None, alias="to")
    name: str = Field(min_length=1)
    source: SourceEntry | None = None  # default: the file's source

    @model_validator(mode="after")
    def _one_day_or_a_range(self) -> DayEntry:
        if (self.date is None) == (self.first is None and self.last is None):
            raise ValueError("give either `date` or both `from` and `to`")
        if self.date is None and (self.first is None or self.last is None):
            raise ValueError("a range needs both `from` and `to`")
        if self.first and self.last and self.last < self.first:
            raise ValueError(f"`to` {self.last} is before `from` {self.first}")
        return self

    @property
    def days(self) -> list[dt.date]:
        if self.date is not None:
            return [self.date]
        assert self.first is not None and self.last is not None
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def label(self) -> str:
        span = str(self.date) if self.date is not None else f"{self.first}..{self.last}"
        return f"{self.name}, {span}"


class YearFile(_Strict):
    year: int = Field(ge=1949, le=2100)
    status: YearStatus
    source: SourceEntry
    note: str = ""
    holidays: list[DayEntry]
    workdays: list[DayEntry] = []

    def to_version(self) -> CalendarVersion:
        def scheduled(entries: list[DayEntry]) -> tuple[ScheduledDay, ...]:
            return tuple(sorted(
                (ScheduledDay(day, e.name, (e.source or self.source).to_source()) for e in entries for day in e.days),
                key=lambda d: d.day,
            ))
        return CalendarVersion(self.year, self.status, self.source.to_source(), scheduled(self.holidays),
                               scheduled(self.workdays), self.note)


def _problems(model: YearFile, path: Path) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if path.stem != str(model.year):
        problems.append(("year", f"the file for {model.year} must be named {model.year}.yaml"))
    seen: dict[dt.date, str] = {}
    for kind, entries in (("holidays", model.holidays), ("workdays", model.workdays)):
        for index, entry in enumerate(entries):
            where = f"{kind}[{index}] ({entry.label})"
            if len(entry.days) > _LONGEST_ENTRY:
                problems.append((where, f"a range of {len(entry.days)} days; at most {_LONGEST_ENTRY}"))
                continue
            for day in entry.days:
                if day.year != model.year:
                    problems.append((where, f"{day} is not in {model.year}"))
                elif kind == "workdays" and day.weekday() < 5:
                    problems.append((where, f"{day} is a {day:%A}; a make-up workday (调休上班) is a Saturday or Sunday"))
                elif day in seen:
                    both = "both a holiday and a workday" if seen[day].startswith("holidays") != (kind == "holidays") else "listed twice"
                    problems.append((where, f"{day} is {both} (also in {seen[day]})"))
                else:
                    seen[day] = where
    return problems


def _quoted(text: str) -> str:
    return yaml.safe_dump(text, allow_unicode=True, width=10_000, default_style='"').strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envgrid.domain.sla.calendar_data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate every year file and show the working days each one changes")
    check.add_argument("--dir", type=Path, default=CALENDAR_DIR)
    estimate = commands.add_parser("provisional", help="estimate a year from the statutory holidays (print or --write)")
    estimate.add_argument("year", type=int)
    estimate.add_argument("--dir", type=Path, default=CALENDAR_DIR)
    estimate.add_argument("--write", action="store_true", help="write <dir>/<year>.yaml (never over an official file)")
    args = parser.parse_args(argv)
    try:
        return _check(args.dir) if args.command == "check" else _provisional(args.year, args.dir, args.write)
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _check(directory: Path) -> int:
    versions = load_year_files(directory)
    without_files = WorkingCalendar()
    calendar = WorkingCalendar(years=versions)
    first, last = calendar.covered_years
    print(f"{first}-{last}: official unless a year file says otherwise ({calendar.version_id.split('+')[0]})")
    for version in versions:
        used = calendar.basis_of_year(version.year)
        changed = [
            f"{day:%m-%d %a} {'workday' if calendar.is_workday(day) else 'off'}"
            for day in (dt.date(version.year, 1, 1) + dt.timedelta(days=n) for n in range(366))
            if day.year == version.year and calendar.is_workday(day) != without_files.is_workday(day)
        ]
        print(f"{version.year}: {version.status}, {len(version.holidays)} holidays, {len(version.workdays)} make-up "
              f"workdays, version {version.id}; deadlines use it as {used}")
        print(f"  changes against {without_files.basis_of_year(version.year)}: {', '.join(changed) or 'none'}")
    print(f"other years after {max([last, *(v.year for v in versions)])}: statutory holidays by rule "
          f"({calendar.statutory.id}), Monday-Friday beyond its years")
    return 0


def _provisional(year: int, directory: Path, write: bool) -> int:
    text = render_year_file(provisional_version(year))
    if not write:
        print(text, end="")
        return 0
    path = directory / f"{year}.yaml"
    if path.exists() and load_year_file(path).status is YearStatus.OFFICIAL:
        raise ValueError(f"{path} is official; an estimate never replaces the notice")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
