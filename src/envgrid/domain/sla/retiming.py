"""Re-timing open SLA timers when the working calendar changes: a new or corrected year is published.

Pure: given a timer, the working time before and after the change (same office periods, other calendar)
and `now`, `retime_timer` says where the deadline moves, which thresholds already reported are no longer
due (to withdraw), fires those that are now due, and returns the timer to store.

Time already counted stays counted. A timer keeps only the sum of its counted time, not the spans it ran,
so time settled before its last (re)start cannot be recounted. When the two calendars agree on every day
of that settled span the sum is the same under both, and the timer's calendar basis is taken from the new
calendar; when they disagree (a correction of days already past), the sum and its basis stay as counted
then, and `Retimed.settled_changes` lists the days so that the case history can say so.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from envgrid.domain.sla.calendar import CHINA_TZ, UNOFFICIAL_BASES, CalendarBasis, DayInfo, WorkingCalendar, weakest
from envgrid.domain.sla.timer import (
    BREACH,
    MilestoneTimer,
    SlaEscalation,
    SlaEvent,
    TimerState,
    fire_due,
    next_due,
    threshold_at,
)
from envgrid.domain.sla.worktime import Reckoned, TimeBasis, WorkTime


@dataclass(frozen=True, slots=True)
class Retimed:
    """What a calendar change does to one timer. `timer` is the one to store (its generation is bumped
    when anything changed, so scheduled entries of the old deadline are ignored)."""

    timer: MilestoneTimer
    old_deadline: Reckoned | None  # None unless the timer runs
    new_deadline: Reckoned | None
    withdrawn: tuple[float, ...]  # thresholds reported before that the new calendar has not reached yet
    signals: tuple[SlaEvent | SlaEscalation, ...]  # thresholds the new calendar has reached, fired now
    next_due: datetime | None  # schedule this with token `timer.generation`; None: cancel
    changed_days: tuple[DayInfo, ...]  # days of the timer's span whose working status changed (new status)
    settled_changes: tuple[DayInfo, ...] = ()  # of those, days already counted: kept as counted then

    @property
    def moved(self) -> bool:
        old = None if self.old_deadline is None else self.old_deadline.at
        new = None if self.new_deadline is None else self.new_deadline.at
        return old != new

    @property
    def newly_due(self) -> tuple[float, ...]:
        return tuple(s.fraction for s in self.signals if isinstance(s, SlaEvent))


def retime_timer(timer: MilestoneTimer, old: WorkTime, new: WorkTime, now: datetime) -> Retimed:
    """Re-time `timer`, computed under `old`, to `new` as of `now` (see the module's doc)."""
    if timer.state is TimerState.STOPPED:
        return Retimed(timer, None, None, (), (), None, ())
    old_deadline, projected_old = threshold_at(timer, BREACH, old), projected_deadline(timer, old)
    settled_basis, settled = _settled(timer, old, new)
    updated = replace(timer, calendar_basis=settled_basis)
    withdrawn = tuple(
        fraction for fraction in timer.fired
        if (crossed := threshold_at(updated, fraction, new)) is not None and crossed.at > now
    )
    updated = replace(updated, fired=tuple(f for f in timer.fired if f not in withdrawn))
    new_deadline = threshold_at(updated, BREACH, new)
    if updated != timer or (old_deadline and old_deadline.at) != (new_deadline and new_deadline.at):
        updated = replace(updated, generation=timer.generation + 1)
    fired, signals = fire_due(updated, now, new)
    projected_new = projected_deadline(fired, new)
    first = _local(timer.since)
    if timer.started_at is not None:
        first = min(first, _local(new.counting_start(timer.basis, timer.started_at)))
    last = max((_local(r.at) for r in (projected_old, projected_new) if r is not None), default=first)
    due = next_due(fired, new)
    return Retimed(fired, old_deadline, new_deadline, withdrawn, tuple(signals), None if due is None else due.at,
                   calendar_changes(old.calendar, new.calendar, first, last), settled)


def projected_deadline(timer: MilestoneTimer, worktime: WorkTime) -> Reckoned | None:
    """The deadline of a running timer; of a paused one, the deadline if it resumed where it paused; else None."""
    if timer.state is TimerState.RUNNING:
        return threshold_at(timer, BREACH, worktime)
    if timer.state is TimerState.PAUSED:
        reckoned = worktime.advance(timer.basis, timer.since, timer.budget - timer.counted)
        return Reckoned(reckoned.at, weakest(reckoned.calendar_basis, timer.calendar_basis))
    return None


def unofficial_deadline_counts(timers: Iterable[MilestoneTimer], worktime: WorkTime) -> dict[CalendarBasis, int]:
    """Open deadlines per unofficial basis (every unofficial basis present, zeros included): the metric
    `envgrid_sla_deadlines_on_unofficial_calendar{basis}`."""
    counts = dict.fromkeys(UNOFFICIAL_BASES, 0)
    for timer in timers:
        deadline = projected_deadline(timer, worktime)
        if deadline is not None and deadline.calendar_basis is not CalendarBasis.OFFICIAL:
            counts[deadline.calendar_basis] += 1
    return counts


def calendar_changes(old: WorkingCalendar, new: WorkingCalendar, first: date, last: date) -> tuple[DayInfo, ...]:
    """Days from `first` to `last` (both included) that are workdays under one calendar and not the other."""
    days = (first + timedelta(days=n) for n in range(max(0, (last - first).days + 1)))
    return tuple(info for day in days if (info := new.day(day)).is_workday != old.is_workday(day))


def _settled(timer: MilestoneTimer, old: WorkTime, new: WorkTime) -> tuple[CalendarBasis, tuple[DayInfo, ...]]:
    """The calendar basis of the time counted before `since` under `new`, and the days of it that changed."""
    if timer.counted <= timedelta(0) or timer.basis in (TimeBasis.CALENDAR_DAYS, TimeBasis.CALENDAR_HOURS):
        return CalendarBasis.OFFICIAL, ()  # nothing counted rests on a calendar
    if timer.started_at is None:
        return timer.calendar_basis, ()  # the span is unknown: keep what was counted
    first = _local(new.counting_start(timer.basis, timer.started_at))
    last = _local(timer.since - timedelta(microseconds=1))  # may include paused days: errs on the side of keeping
    changes = calendar_changes(old.calendar, new.calendar, first, last)
    if changes:
        return timer.calendar_basis, changes
    days = (first + timedelta(days=n) for n in range(max(0, (last - first).days + 1)))
    return weakest(*(new.calendar.day(day).basis for day in days)), ()


def _local(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()
