"""Year files in config/calendar/: strict validation naming file and entry, the order of trust, the 2027 estimate."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from envgrid.domain.config_errors import ConfigError
from envgrid.domain.sla.calendar import (
    CalendarBasis,
    CalendarVersion,
    DayInfo,
    NoStatutoryRule,
    ScheduledDay,
    Source,
    WorkingCalendar,
    YearStatus,
    weakest,
)
from envgrid.domain.sla.calendar_data import (
    CALENDAR_DIR,
    load_working_calendar,
    load_year_file,
    main,
    provisional_version,
    render_year_file,
)

NOTICE = "{title: 国务院办公厅关于2027年部分节假日安排的通知, date: 2026-11-12}"


def year_file(tmp_path: Path, body: str, name: str = "2027.yaml", status: str = "official") -> Path:
    path = tmp_path / name
    path.write_text(f"year: {path.stem if path.stem.isdigit() else 2027}\nstatus: {status}\nsource: {NOTICE}\n{body}",
                    encoding="utf-8")
    return path


def version(year: int, status: YearStatus, holidays=(), workdays=()) -> CalendarVersion:
    source = Source("test notice", date(year - 1, 11, 12))
    return CalendarVersion(year, status, source, tuple(ScheduledDay(d, "off", source) for d in holidays),
                           tuple(ScheduledDay(d, "on", source) for d in workdays))


# --- validation: errors name the file and the entry ---------------------------------------------------------

@pytest.mark.parametrize("body, entry, problem", [
    ("holidays:\n  - {date: 2027-01-01, name: 元旦}\n  - {date: 2028-02-05, name: 春节}\n",
     "holidays[1] (春节, 2028-02-05)", "2028-02-05 is not in 2027"),
    ("holidays:\n  - {from: 2027-02-05, to: 2027-02-11, name: 春节}\nworkdays:\n  - {date: 2027-02-06, name: 春节调休}\n",
     "workdays[0] (春节调休, 2027-02-06)", "2027-02-06 is both a holiday and a workday (also in holidays[0] (春节, 2027-02-05..2027-02-11))"),
    ("holidays: []\nworkdays:\n  - {date: 2027-02-18, name: 春节调休}\n",
     "workdays[0] (春节调休, 2027-02-18)", "2027-02-18 is a Thursday; a make-up workday (调休上班) is a Saturday or Sunday"),
    ("holidays:\n  - {date: 2027-10-01, name: 国庆节}\n  - {from: 2027-09-30, to: 2027-10-02, name: 国庆节}\n",
     "holidays[1] (国庆节, 2027-09-30..2027-10-02)", "2027-10-01 is listed twice"),
    ("holidays:\n  - {from: 2027-01-01, to: 2027-03-01, name: 元旦}\n",
     "holidays[0] (元旦, 2027-01-01..2027-03-01)", "a range of 60 days"),
])
def test_a_bad_entry_is_named_with_its_file(tmp_path, body, entry, problem):
    path = year_file(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_year_file(path)
    assert (error.value.path, error.value.entry) == (str(path), entry)
    assert problem in error.value.problem and str(path) in str(error.value)


@pytest.mark.parametrize("body, entry, problem", [
    ("holidays:\n  - {date: 2027-01-01}\n", "holidays.0.name", "Field required"),
    ("holidays:\n  - {date: 2027-01-01 10:00:00, name: 元旦}\n", "holidays.0.date", "expected a date"),
    ("holidays:\n  - {from: 2027-02-11, to: 2027-02-05, name: 春节}\n", "holidays.0", "is before `from`"),
    ("holidays:\n  - {date: 2027-01-01, from: 2027-01-01, to: 2027-01-03, name: 元旦}\n", "holidays.0", "either `date` or both"),
    ("holiday:\n  - {date: 2027-01-01, name: 元旦}\n", "holidays", "Field required"),
])
def test_a_malformed_entry_is_named_with_its_file(tmp_path, body, entry, problem):
    path = year_file(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_year_file(path)
    assert error.value.entry.replace("[", ".").replace("]", "").startswith(entry) and problem in error.value.problem
    assert str(path) in str(error.value)


def test_the_file_name_must_be_its_year_and_every_problem_is_listed(tmp_path):
    path = tmp_path / "2027-draft.yaml"
    path.write_text(f"year: 2027\nstatus: official\nsource: {NOTICE}\nholidays: []\n"
                    "workdays:\n  - {date: 2027-02-18, name: a}\n  - {date: 2026-02-14, name: b}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_year_file(path)
    assert error.value.entry == "year" and "must be named 2027.yaml" in error.value.problem
    assert "workdays[0] (a, 2027-02-18): 2027-02-18 is a Thursday" in error.value.problem
    assert "workdays[1] (b, 2026-02-14): 2026-02-14 is not in 2027" in error.value.problem


def test_ranges_expand_and_entries_inherit_the_files_source(tmp_path):
    path = year_file(tmp_path, "holidays:\n  - {from: 2027-02-05, to: 2027-02-11, name: 春节}\n"
                               "workdays:\n  - {date: 2027-02-20, name: 春节调休, source: {title: 更正通知, date: 2026-12-20}}\n")
    loaded = load_year_file(path)
    assert [d.day.day for d in loaded.holidays] == [5, 6, 7, 8, 9, 10, 11]
    assert loaded.holidays[0].source == Source("国务院办公厅关于2027年部分节假日安排的通知", date(2026, 11, 12))
    assert loaded.workdays[0].source == Source("更正通知", date(2026, 12, 20))
    assert loaded.status is YearStatus.OFFICIAL and loaded.id.startswith("2027-official-")


# --- the order of trust --------------------------------------------------------------------------------------

def test_trust_order_official_then_package_then_provisional_then_statutory_rule_then_weekdays():
    december_7 = date(2026, 12, 7)  # a Monday the package (official 2026) has as a workday
    official_2026 = version(2026, YearStatus.OFFICIAL, holidays=[december_7])
    provisional_2026 = version(2026, YearStatus.PROVISIONAL, holidays=[december_7])
    provisional_2027 = version(2027, YearStatus.PROVISIONAL, holidays=[date(2027, 3, 1)])

    assert WorkingCalendar(years=[official_2026]).day(december_7) == DayInfo(december_7, False, CalendarBasis.OFFICIAL)
    assert WorkingCalendar(years=[provisional_2026]).day(december_7) == DayInfo(december_7, True, CalendarBasis.OFFICIAL)
    calendar = WorkingCalendar(years=[provisional_2027])
    assert calendar.day(date(2027, 3, 1)) == DayInfo(date(2027, 3, 1), False, CalendarBasis.PROVISIONAL)
    assert calendar.day(date(2027, 2, 8)) == DayInfo(date(2027, 2, 8), True, CalendarBasis.PROVISIONAL)  # not in the file
    assert calendar.day(date(2028, 10, 2)) == DayInfo(date(2028, 10, 2), False, CalendarBasis.STATUTORY_RULE)  # National Day
    assert calendar.day(date(2028, 10, 9)) == DayInfo(date(2028, 10, 9), True, CalendarBasis.STATUTORY_RULE)
    assert calendar.day(date(2101, 1, 3)) == DayInfo(date(2101, 1, 3), True, CalendarBasis.WEEKDAYS)  # beyond the rule
    no_rule = WorkingCalendar(statutory=NoStatutoryRule())
    assert no_rule.day(date(2028, 10, 2)) == DayInfo(date(2028, 10, 2), True, CalendarBasis.WEEKDAYS)


def test_the_weakest_basis_wins():
    assert weakest(CalendarBasis.OFFICIAL, CalendarBasis.STATUTORY_RULE, CalendarBasis.PROVISIONAL) is CalendarBasis.STATUTORY_RULE
    assert weakest() is CalendarBasis.OFFICIAL
    assert [b.value for b in CalendarBasis] == ["cn_official", "cn_provisional", "cn_statutory_rule", "weekday_fallback"]


def test_a_year_file_wins_over_the_package(tmp_path):
    (tmp_path / "2026.yaml").write_text(
        "year: 2026\nstatus: official\nsource: {title: 国务院办公厅关于2026年部分节假日安排的通知 (corrected), date: 2025-11-04}\n"
        "holidays:\n  - {date: 2026-12-31, name: 跨年 (test)}\n", encoding="utf-8")
    calendar = load_working_calendar(tmp_path)
    assert WorkingCalendar().is_workday(date(2026, 12, 31)) and not calendar.is_workday(date(2026, 12, 31))
    assert calendar.is_workday(date(2026, 10, 1))  # the file replaces the whole year: National Day is not in it
    assert calendar.basis_of_year(2026) is CalendarBasis.OFFICIAL and "+2026-official-" in calendar.version_id


def test_two_files_for_one_year_are_refused():
    with pytest.raises(ValueError, match="two schedules for 2027"):
        WorkingCalendar(years=[version(2027, YearStatus.PROVISIONAL), version(2027, YearStatus.OFFICIAL)])


# --- the checked-in 2027 estimate ----------------------------------------------------------------------------

def test_2027_is_checked_in_as_provisional_and_can_be_regenerated():
    checked_in = load_year_file(CALENDAR_DIR / "2027.yaml")
    assert checked_in.status is YearStatus.PROVISIONAL and checked_in.workdays == ()
    assert checked_in.note.startswith("provisional: estimated from the statutory holidays")
    assert checked_in.id == provisional_version(2027).id  # same days and status as the generator gives today
    assert {d.day for d in checked_in.holidays} >= {date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8),
                                                    date(2027, 2, 9), date(2027, 2, 10), date(2027, 10, 1)}
    assert load_working_calendar().basis_of_year(2027) is CalendarBasis.PROVISIONAL


def test_a_rendered_year_file_reads_back_to_the_same_version(tmp_path):
    estimate = provisional_version(2029)
    (tmp_path / "2029.yaml").write_text(render_year_file(estimate), encoding="utf-8")
    assert load_year_file(tmp_path / "2029.yaml") == estimate


def test_the_command_checks_the_files_and_never_overwrites_an_official_year(tmp_path, capsys):
    assert main(["provisional", "2028", "--dir", str(tmp_path), "--write"]) == 0
    assert main(["check", "--dir", str(tmp_path)]) == 0
    assert "2028: provisional" in capsys.readouterr().out
    year_file(tmp_path, "holidays: []\n", name="2028.yaml")
    assert main(["provisional", "2028", "--dir", str(tmp_path), "--write"]) == 1
    assert "is official; an estimate never replaces the notice" in capsys.readouterr().err
    (tmp_path / "2030.yaml").write_text("year: 2030\nstatus: official\nsource: {title: t, date: 2029-11-01}\n"
                                        "holidays: []\nworkdays:\n  - {date: 2030-01-07, name: x}\n", encoding="utf-8")
    assert main(["check", "--dir", str(tmp_path)]) == 1
    assert "2030.yaml: workdays[0] (x, 2030-01-07): 2030-01-07 is a Monday" in capsys.readouterr().err


def test_the_readme_example_is_a_valid_year_file(tmp_path):
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    example = readme.split("# src/envgrid/config/calendar/2027.yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "2027.yaml").write_text(example, encoding="utf-8")
    loaded = load_year_file(tmp_path / "2027.yaml")
    assert loaded.status is YearStatus.OFFICIAL and len(loaded.workdays) == 2
