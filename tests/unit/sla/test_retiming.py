"""Re-timing open timers when a year's schedule is published or corrected, calendar versions, and the metric."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from envgrid.domain.sla.calendar import CHINA_TZ, CalendarBasis, CalendarHistory, WorkingCalendar
from envgrid.domain.sla.calendar_data import CALENDAR_DIR, load_year_file
from envgrid.domain.sla.commands import Milestone, PauseReason, SlaAction, SlaCommand
from envgrid.domain.sla.policy import load_sla_policies
from envgrid.domain.sla.retiming import retime_timer, unofficial_deadline_counts
from envgrid.domain.sla.timer import SlaEvent, TimerState
from envgrid.domain.sla.worktime import WorkTime
from tests.unit.sla.calendar_fixtures import OFFICIAL_2027_YAML
from tests.unit.sla.case_desk_sla import CaseDeskSla, RecordingTracker

POLICIES = load_sla_policies()
PROVISIONAL_2027 = load_year_file(CALENDAR_DIR / "2027.yaml")

OFF = {date(2027, 1, 1)} | {date(2027, 2, d) for d in range(4, 13)}
ON = {date(2027, 1, 31), date(2027, 2, 20)}
PUBLISHED = datetime(2026, 12, 20, 10, tzinfo=CHINA_TZ)


def cst(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


@pytest.fixture()
def official_2027(tmp_path: Path):
    (tmp_path / "2027.yaml").write_text(OFFICIAL_2027_YAML, encoding="utf-8")
    return load_year_file(tmp_path / "2027.yaml")


def worktime(*years) -> WorkTime:
    return WorkTime(WorkingCalendar(years=years), POLICIES.office_periods)


def open_case(desk: CaseDeskSla, case_id: str, at: datetime, channel: str = "letter") -> None:
    desk.apply(SlaCommand(SlaAction.START, case_id, Milestone.RESOLVE, at, channel, "dust", "env", "town-3"))


def end_of_nth_workday(opened: datetime, n: int) -> datetime:
    """Independent hand count under the official 2027 above: weekdays, minus OFF, plus ON (2026 has no holiday after 1 Dec)."""
    day, counted = opened.date(), 0
    while counted < n:
        day += timedelta(days=1)
        counted += (day.weekday() < 5 and day not in OFF) or day in ON
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), CHINA_TZ)


def test_publishing_the_official_2027_moves_every_open_deadline_that_crosses_it(official_2027):
    old, new = worktime(PROVISIONAL_2027), worktime(official_2027)
    desk = CaseDeskSla(RecordingTracker(POLICIES, old), cst(2026, 12, 1, 10))
    for n, opened in enumerate([cst(2026, 12, 1, 10), cst(2026, 12, 7, 15), cst(2026, 12, 15, 9)]):
        open_case(desk, f"P{n}", opened)
    open_case(desk, "H1", cst(2026, 12, 18, 10), channel="hotline_12345")  # 5 working days: ends before 2027
    results = {key[0]: retime_timer(timer, old, new, PUBLISHED) for key, timer in desk.timers.items()}

    p0 = results["P0"]
    assert (p0.old_deadline.at, p0.new_deadline.at) == (cst(2027, 3, 3), cst(2027, 3, 4))  # hand-counted, see the note
    assert p0.new_deadline.at == end_of_nth_workday(cst(2026, 12, 1, 10), 60)
    assert p0.old_deadline.calendar_basis is CalendarBasis.PROVISIONAL and p0.new_deadline.calendar_basis is CalendarBasis.OFFICIAL
    assert [(d.day, d.is_workday) for d in p0.changed_days] == [
        (date(2027, 1, 31), True), (date(2027, 2, 4), False), (date(2027, 2, 11), False), (date(2027, 2, 12), False),
        (date(2027, 2, 20), True)]
    assert p0.timer.generation == desk.timers[("P0", "resolve")].generation + 1  # the old schedule entry is void
    assert p0.next_due == end_of_nth_workday(cst(2026, 12, 1, 10), 30) == cst(2027, 1, 14)  # the 50% warning
    for case_id, opened in (("P1", cst(2026, 12, 7, 15)), ("P2", cst(2026, 12, 15, 9))):
        assert results[case_id].moved and results[case_id].new_deadline.at == end_of_nth_workday(opened, 60)
    assert not results["H1"].moved and results["H1"].timer == desk.timers[("H1", "resolve")]
    assert all(not r.withdrawn and not r.signals for r in results.values())


def test_a_warning_or_breach_no_longer_due_is_withdrawn(official_2027):
    old, new = worktime(PROVISIONAL_2027), worktime(official_2027)
    desk = CaseDeskSla(RecordingTracker(POLICIES, old), cst(2027, 2, 9, 10))
    open_case(desk, "H1", cst(2027, 2, 9, 10), channel="hotline_12345")  # counting from Wed 10 Feb
    fired = desk.tick(cst(2027, 2, 17, 6))  # provisional: Thu 11, Fri 12, Mon 15, Tue 16 were workdays
    assert [s.fraction for s in fired if isinstance(s, SlaEvent)] == [0.5, 0.8]
    retimed = retime_timer(desk.timers[("H1", "resolve")], old, new, cst(2027, 2, 17, 6))
    assert retimed.withdrawn == (0.5, 0.8) and retimed.timer.fired == () and not retimed.signals
    assert (retimed.old_deadline.at, retimed.new_deadline.at) == (cst(2027, 2, 18), cst(2027, 2, 20))
    assert retimed.next_due == cst(2027, 2, 17, 12)  # half of 5 days: Mon 15, Tue 16 and the morning of Wed 17


def test_a_threshold_the_new_calendar_has_reached_fires_now(official_2027):
    old, new = worktime(PROVISIONAL_2027), worktime(official_2027)
    desk = CaseDeskSla(RecordingTracker(POLICIES, old), cst(2027, 1, 29, 10))
    open_case(desk, "H2", cst(2027, 1, 29, 10), channel="hotline_12345")  # counting from Sat 30 Jan
    assert desk.tick(cst(2027, 2, 2, 18)) == []  # provisional: half is at noon on Wed 3 Feb
    retimed = retime_timer(desk.timers[("H2", "resolve")], old, new, cst(2027, 2, 2, 18))
    [warning] = retimed.signals
    assert retimed.newly_due == (0.5,) and warning.at == cst(2027, 2, 2, 12)  # Sun 31 Jan is now a workday
    assert warning.calendar == "cn_official" and "+2027-official-" in warning.calendar_version
    assert retimed.timer.fired == (0.5,) and retimed.next_due == cst(2027, 2, 4)


def test_time_already_counted_is_kept_and_its_basis_upgraded_when_the_calendars_agree_on_it(official_2027, tmp_path):
    old, new = worktime(PROVISIONAL_2027), worktime(official_2027)
    desk = CaseDeskSla(RecordingTracker(POLICIES, old), cst(2026, 12, 1, 10))
    open_case(desk, "P1", cst(2026, 12, 1, 10))
    desk.apply(SlaCommand(SlaAction.PAUSE, "P1", Milestone.RESOLVE, cst(2027, 1, 20, 12), "letter", "dust", "env",
                          "town-3", PauseReason.TRANSFERRED))
    paused = desk.timers[("P1", "resolve")]
    assert paused.state is TimerState.PAUSED and paused.calendar_basis is CalendarBasis.PROVISIONAL
    retimed = retime_timer(paused, old, new, PUBLISHED)
    assert retimed.timer.counted == paused.counted and retimed.timer.calendar_basis is CalendarBasis.OFFICIAL
    assert retimed.old_deadline is None and not retimed.settled_changes

    (tmp_path / "corrected").mkdir()
    (tmp_path / "corrected" / "2027.yaml").write_text(  # one more holiday, on a day already counted
        OFFICIAL_2027_YAML.replace("workdays:\n", "  - {date: 2027-01-04, name: 更正 (test)}\nworkdays:\n"), encoding="utf-8")
    corrected = load_year_file(tmp_path / "corrected" / "2027.yaml")
    kept = retime_timer(paused, old, worktime(corrected), PUBLISHED)
    assert [d.day for d in kept.settled_changes] == [date(2027, 1, 4)]
    assert kept.timer.counted == paused.counted and kept.timer.calendar_basis is CalendarBasis.PROVISIONAL


def test_a_stopped_timer_is_left_alone(official_2027):
    old = worktime(PROVISIONAL_2027)
    desk = CaseDeskSla(RecordingTracker(POLICIES, old), cst(2026, 12, 1, 10))
    open_case(desk, "P1", cst(2026, 12, 1, 10))
    desk.apply(SlaCommand(SlaAction.STOP, "P1", Milestone.RESOLVE, cst(2027, 1, 5), "letter", "dust", "env", "town-3"))
    stopped = desk.timers[("P1", "resolve")]
    retimed = retime_timer(stopped, old, worktime(official_2027), PUBLISHED)
    assert retimed.timer is stopped and retimed.next_due is None and not retimed.changed_days


def test_replays_take_the_calendar_in_force_and_rebuild_the_one_an_event_names(official_2027):
    history = CalendarHistory([(cst(2026, 11, 1), PROVISIONAL_2027)]).publish(PUBLISHED, official_2027)
    assert history.versions_at(cst(2026, 12, 19)) == (PROVISIONAL_2027,)
    assert history.versions_at(PUBLISHED) == (official_2027,)
    assert history.versions_at(cst(2026, 10, 1)) == ()
    before = history.calendar_at(cst(2026, 12, 19))
    assert history.calendar_of(before.version_id).version_id == before.version_id
    assert history.by_id(official_2027.id) is official_2027
    with pytest.raises(KeyError, match="unknown calendar version '2027-official-0000000000'"):
        history.calendar_of(before.version_id.replace(PROVISIONAL_2027.id, "2027-official-0000000000"))
    with pytest.raises(ValueError, match="no timezone"):
        history.versions_at(datetime(2026, 12, 19))


def test_open_deadlines_on_unofficial_data_are_counted_per_basis(official_2027):
    from envgrid.streams.calendar_metrics import SLA_DEADLINES_ON_UNOFFICIAL_CALENDAR, set_unofficial_deadlines

    old = worktime(PROVISIONAL_2027)
    desk = CaseDeskSla(RecordingTracker(POLICIES, old), cst(2026, 12, 1, 10))
    open_case(desk, "P1", cst(2026, 12, 1, 10))  # into 2027: provisional
    open_case(desk, "H1", cst(2026, 12, 1, 10), channel="hotline_12345")  # within 2026: official
    open_case(desk, "P2", cst(2027, 11, 1, 10))  # into 2028: statutory rule
    counts = unofficial_deadline_counts(desk.timers.values(), old)
    assert counts == {CalendarBasis.PROVISIONAL: 1, CalendarBasis.STATUTORY_RULE: 1, CalendarBasis.WEEKDAYS: 0}
    assert unofficial_deadline_counts(desk.timers.values(), worktime(official_2027))[CalendarBasis.PROVISIONAL] == 0
    set_unofficial_deadlines(counts)
    assert SLA_DEADLINES_ON_UNOFFICIAL_CALENDAR.labels(basis="cn_provisional")._value.get() == 1
    assert SLA_DEADLINES_ON_UNOFFICIAL_CALENDAR.labels(basis="weekday_fallback")._value.get() == 0

