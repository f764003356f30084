"""A petition opened today (2026-12-01) crosses the 2027 Spring Festival: its deadline, counted by hand."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from envgrid.domain.sla.calendar import CHINA_TZ, CalendarBasis, NoStatutoryRule, WorkingCalendar
from envgrid.domain.sla.commands import Milestone, SlaAction, SlaCommand
from envgrid.domain.sla.policy import load_sla_policies
from envgrid.domain.sla.timer import BREACH, threshold_at
from envgrid.domain.sla.worktime import TimeBasis, WorkTime
from tests.unit.sla.case_desk_sla import CaseDeskSla, RecordingTracker

OPENED = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA_TZ)  # a Tuesday; the start day is not counted

# The 60 working days by hand. December 2026 is official (chinesecalendar) and has no holiday. In 2027 the
# provisional file has 元旦 Fri 1 Jan off, and the Spring Festival Fri 5 – Wed 10 Feb off: 除夕 5, 初一–初三
# 6–8, and 9–10 made up (补假) for 6 and 7, which fall on a weekend. No make-up workdays (not known yet).
SIXTY_WORKING_DAYS = (
    [date(2026, 12, d) for d in (2, 3, 4, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25, 28, 29, 30, 31)]
    + [date(2027, 1, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29)]
    + [date(2027, 2, d) for d in (1, 2, 3, 4, 11, 12, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26)]
    + [date(2027, 3, d) for d in (1, 2)]
)
DEADLINE = datetime(2027, 3, 3, 0, 0, tzinfo=CHINA_TZ)  # 24:00 on Tue 2 Mar 2027, the 60th working day


def test_the_hand_count_is_sixty_weekdays_that_skip_new_year_and_the_spring_festival():
    assert len(SIXTY_WORKING_DAYS) == len(set(SIXTY_WORKING_DAYS)) == 60
    assert all(day.weekday() < 5 for day in SIXTY_WORKING_DAYS)
    skipped_weekdays = {date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)}
    every_weekday = {SIXTY_WORKING_DAYS[0] + timedelta(days=n) for n in range((SIXTY_WORKING_DAYS[-1] - SIXTY_WORKING_DAYS[0]).days + 1)}
    assert {day for day in every_weekday if day.weekday() < 5} - set(SIXTY_WORKING_DAYS) == skipped_weekdays


def test_a_sixty_working_day_petition_opened_today_ends_on_the_hand_counted_day_under_the_provisional_2027():
    worktime = WorkTime()
    calendar = worktime.calendar
    assert [day for day in _days(date(2026, 12, 2), date(2027, 3, 2)) if calendar.is_workday(day)] == SIXTY_WORKING_DAYS
    reckoned = worktime.advance(TimeBasis.WORKING_DAYS, worktime.counting_start(TimeBasis.WORKING_DAYS, OPENED),
                                timedelta(days=60))
    assert reckoned.at == DEADLINE and reckoned.calendar_basis is CalendarBasis.PROVISIONAL


def test_monday_to_friday_would_have_ended_it_a_week_early():
    weekdays_only = WorkTime(WorkingCalendar(statutory=NoStatutoryRule()))
    reckoned = weekdays_only.advance(TimeBasis.WORKING_DAYS, weekdays_only.counting_start(TimeBasis.WORKING_DAYS, OPENED),
                                     timedelta(days=60))
    assert reckoned.at == datetime(2027, 2, 24, tzinfo=CHINA_TZ) and reckoned.calendar_basis is CalendarBasis.WEEKDAYS


def test_the_desk_times_the_petition_and_every_sla_event_says_it_rests_on_the_provisional_2027():
    desk = CaseDeskSla(RecordingTracker(load_sla_policies()), OPENED)
    change = desk.apply(SlaCommand(SlaAction.START, "P1", Milestone.RESOLVE, OPENED, "letter", "water_pollution",
                                   "env", "town-3"))
    assert threshold_at(change.timer, BREACH, desk.tracker.worktime).at == DEADLINE
    events = [s for s in desk.tick(DEADLINE) if hasattr(s, "calendar")]
    assert [(e.fraction, e.deadline, e.calendar) for e in events] == [
        (0.5, DEADLINE, "cn_provisional"), (0.8, DEADLINE, "cn_provisional"), (1.0, DEADLINE, "cn_provisional"),
    ]
    assert SIXTY_WORKING_DAYS[29] == date(2027, 1, 13)  # half of the limit: the 30th working day, Wed 13 Jan 2027
    assert events[0].at == datetime(2027, 1, 14, tzinfo=CHINA_TZ)
    assert "+2027-provisional-" in events[0].calendar_version


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
