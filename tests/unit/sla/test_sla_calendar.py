"""Working days and working hours around Chinese holidays and make-up workdays (调休)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from envgrid.domain.sla.calendar import CHINA_TZ, CalendarBasis, NoStatutoryRule, WorkingCalendar
from envgrid.domain.sla.worktime import TimeBasis, WorkTime

WT = WorkTime()
DAYS, HOURS = TimeBasis.WORKING_DAYS, TimeBasis.WORKING_HOURS


def cst(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


@pytest.mark.parametrize("day, workday", [
    (date(2025, 9, 27), False),  # Saturday before National Day
    (date(2025, 9, 28), True),   # Sunday make-up workday
    (date(2025, 10, 1), False), (date(2025, 10, 8), False),  # National Day + Mid-Autumn holiday
    (date(2025, 10, 9), True),
    (date(2025, 10, 11), True),  # Saturday make-up workday
    (date(2024, 2, 4), True),    # Sunday make-up workday before Spring Festival
    (date(2024, 2, 10), False), (date(2024, 2, 17), False),
    (date(2024, 2, 18), True),   # Sunday make-up workday after Spring Festival
])
def test_official_workdays(day, workday):
    info = WorkingCalendar().day(day)
    assert (info.is_workday, info.basis) == (workday, CalendarBasis.OFFICIAL)


def test_without_data_or_rule_a_year_falls_back_to_monday_to_friday_and_says_so():
    calendar = WorkingCalendar(statutory=NoStatutoryRule())
    first, last = calendar.covered_years
    assert first <= 2024 and last >= 2025
    beyond = date(last + 3, 1, 1)
    info = calendar.day(beyond)
    assert info.basis is CalendarBasis.WEEKDAYS and info.is_workday == (beyond.weekday() < 5)
    assert not calendar.covers(beyond)


def test_working_days_skip_national_day_and_count_the_make_up_saturday():
    # Start day not counted. From Tue 30 Sep: Oct 1–8 off, Thu 9, Fri 10, Sat 11 (make-up) are workdays.
    assert WT.advance(DAYS, WT.counting_start(DAYS, cst(2025, 9, 30, 15)), timedelta(days=1)).at == cst(2025, 10, 10)
    assert WT.advance(DAYS, WT.counting_start(DAYS, cst(2025, 9, 30, 15)), timedelta(days=3)).at == cst(2025, 10, 12)


def test_working_days_count_the_make_up_sunday_before_national_day():
    # Fri 26 Sep + 5 working days: Sun 28, Mon 29, Tue 30, Thu 9 Oct, Fri 10 Oct -> ends at 24:00 on 10 Oct.
    start = WT.counting_start(DAYS, cst(2025, 9, 26, 11))
    assert start == cst(2025, 9, 27)
    assert WT.advance(DAYS, start, timedelta(days=5)).at == cst(2025, 10, 11)


def test_working_days_around_spring_festival_2024():
    assert WT.advance(DAYS, WT.counting_start(DAYS, cst(2024, 2, 2, 10)), timedelta(days=1)).at == cst(2024, 2, 5)  # Sun 4 Feb
    # Thu 8 Feb + 2: Fri 9 Feb, then nothing until the make-up Sunday 18 Feb.
    assert WT.advance(DAYS, WT.counting_start(DAYS, cst(2024, 2, 8, 10)), timedelta(days=2)).at == cst(2024, 2, 19)


def test_petition_fifteen_working_days_across_national_day():
    # Received Thu 25 Sep 2025: workdays 26, 28, 29, 30 Sep, 9, 10, 11, 13, 14, 15, 16, 17, 20, 21, 22 Oct.
    start = WT.counting_start(DAYS, cst(2025, 9, 25, 16))
    assert WT.advance(DAYS, start, timedelta(days=15)).at == cst(2025, 10, 23)


def test_working_hours_within_a_day_over_lunch_and_overnight():
    assert WT.advance(HOURS, cst(2025, 9, 26, 11), timedelta(hours=2)).at == cst(2025, 9, 26, 14, 30)
    assert WT.advance(HOURS, cst(2025, 9, 26, 12, 30), timedelta(hours=1)).at == cst(2025, 9, 26, 14, 30)
    assert WT.advance(HOURS, cst(2025, 9, 26, 20), timedelta(hours=1)).at == cst(2025, 9, 28, 9, 30)  # make-up Sunday


def test_working_hours_jump_over_the_national_day_holiday():
    assert WT.advance(HOURS, cst(2025, 9, 30, 17), timedelta(hours=2)).at == cst(2025, 10, 9, 10)


def test_a_budget_ending_exactly_at_closing_time_ends_there():
    assert WT.advance(HOURS, cst(2025, 9, 29, 8, 30), timedelta(hours=7, minutes=30)).at == cst(2025, 9, 29, 17, 30)


def test_counted_working_hours_between_two_instants():
    counted = WT.counted(HOURS, cst(2025, 9, 26, 16, 30), cst(2025, 9, 29, 9, 30))
    assert counted.amount == timedelta(hours=1 + 7.5 + 1) and counted.calendar_basis is CalendarBasis.OFFICIAL
    assert WT.counted(HOURS, cst(2025, 10, 1, 9), cst(2025, 10, 8, 17)).amount == timedelta(0)
    assert WT.counted(DAYS, cst(2025, 9, 30, 12), cst(2025, 10, 9, 6)).amount == timedelta(hours=12 + 6)


def test_advance_and_counted_agree():
    start = cst(2025, 9, 25, 10, 17)
    for hours in (0.5, 3, 7.5, 13, 40):
        end = WT.advance(HOURS, start, timedelta(hours=hours)).at
        assert WT.counted(HOURS, start, end).amount == timedelta(hours=hours)


def test_calendar_bases_count_every_second():
    assert WT.advance(TimeBasis.CALENDAR_HOURS, cst(2025, 10, 1), timedelta(hours=24)).at == cst(2025, 10, 2)
    assert WT.counting_start(TimeBasis.CALENDAR_DAYS, cst(2025, 10, 1, 13)) == cst(2025, 10, 2)


def test_deadlines_beyond_the_calendar_are_flagged():
    weekdays_only = WorkTime(WorkingCalendar(statutory=NoStatutoryRule()))
    last = weekdays_only.calendar.covered_years[1]
    friday = next(cst(last + 2, 3, d) for d in range(1, 8) if date(last + 2, 3, d).weekday() == 4)
    reckoned = weekdays_only.advance(DAYS, weekdays_only.counting_start(DAYS, friday), timedelta(days=1))
    assert reckoned.calendar_basis is CalendarBasis.WEEKDAYS
    assert reckoned.at == friday.replace(hour=0) + timedelta(days=4)  # Monday ends Tue 00:00


def test_office_periods_are_configurable_and_times_from_other_zones_are_converted():
    morning_only = WorkTime(office_periods=((time(9), time(12)),))
    utc_moment = datetime(2025, 9, 29, 1, 0, tzinfo=CHINA_TZ).astimezone(tz=None)  # 01:00 Shanghai
    assert morning_only.advance(HOURS, utc_moment, timedelta(hours=4)).at == cst(2025, 9, 30, 10)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        WT.advance(HOURS, datetime(2025, 9, 29, 9), timedelta(hours=1))


def test_a_calendar_asks_its_sources_once_a_day():
    asked: list[date] = []

    def official(day: date) -> bool:
        asked.append(day)
        return day.weekday() < 5

    calendar = WorkingCalendar(official, (2020, 2030))
    answers = {calendar.day(date(2025, 10, 1)) for _ in range(3)}
    assert asked == [date(2025, 10, 1)] and len(answers) == 1
    assert WorkTime(calendar).advance(DAYS, cst(2025, 10, 1), timedelta(days=5)).at == cst(2025, 10, 8)
    assert len(asked) == len(set(asked))  # every day of the deadline once


def test_a_deadline_worked_out_before_is_given_again_in_the_zone_it_is_asked_in(monkeypatch):
    from envgrid.domain.sla import worktime

    monkeypatch.setattr(worktime, "_RECKONINGS_KEPT", 3)  # forgets as it goes: answers stay right
    kept, utc = WorkTime(), datetime(2025, 9, 29, 1, tzinfo=UTC)
    for start in (utc, utc.astimezone(CHINA_TZ), utc, utc + timedelta(hours=5), utc.astimezone(CHINA_TZ)):
        assert kept.advance(TimeBasis.CALENDAR_HOURS, start, timedelta(hours=2)).at.isoformat() == \
            (start + timedelta(hours=2)).isoformat()
        assert kept.advance(DAYS, start, timedelta(0)).at.isoformat() == start.isoformat()
        assert kept.advance(HOURS, start, timedelta(hours=9)) == WorkTime().advance(HOURS, start, timedelta(hours=9))
