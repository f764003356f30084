"""The deadline schedule (`envgrid.streams.due_minutes`): O(1) writes per timer change, two small values however
many share the minute; entries fire in order, never early, a new generation overtakes a pending entry, a tick
that stops mid-minute resumes there, and an idle tick reads nothing per scheduled deadline."""

from __future__ import annotations

import json
import pickle
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from envgrid.domain.sla.calendar import CHINA_TZ
from envgrid.domain.sla.commands import Milestone, SlaAction, SlaCommand
from envgrid.domain.sla.policy import load_sla_policies
from envgrid.domain.sla.tracker import SlaTracker, TimerChange
from envgrid.streams.due_minutes import DueMinutes, due_minute
from tests.unit.sla.case_desk_sla import CaseDeskSla, RecordingTracker


class Counting(dict[str, Any]):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[int] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.written.append(len(pickle.dumps(value)))
        super().__setitem__(key, value)


def test_each_added_timer_writes_two_small_values_however_full_the_minute():
    table = Counting()
    due = DueMinutes(table, partition=4)
    for number in range(5_000):
        due.add(29_000_000, f"WZ-{number:016X}|acknowledge", 3)
    assert len(table.written) == 2 * 5_000 and max(table.written) < 100


def test_entries_come_back_in_order_and_a_stopped_minute_resumes_where_it_stopped():
    table: dict[str, Any] = {}
    due = DueMinutes(table, partition=0)
    for number in range(5):
        due.add(7, f"t{number}", number)
    first = []
    for number, entry in due.entries(7):
        if number == 3:
            due.stopped_at(7, number)
            break
        due.fired(7, number)
        first.append(entry)
    assert first == [("t0", 0), ("t1", 1), ("t2", 2)]
    rest = [entry for _, entry in due.entries(7)]
    assert rest == [("t3", 3), ("t4", 4)]
    for number, _ in list(due.entries(7)):
        due.fired(7, number)
    due.finish(7)
    assert table == {}


# --- the schedule as the case desk fires it ----------------------------------------------------------------
# Timers are stored and fired by the worker's case desk (`tests.unit.sla.case_desk_sla`), with a tracker whose
# due timers only record that they fired: what is left to see is which entries fire, in which order, when.

BASE = datetime(2025, 9, 29, 9, 0, tzinfo=CHINA_TZ)
CLOCK_START = BASE - timedelta(hours=1)  # the partition's SLA clock, started before anything is scheduled
POLICIES = load_sla_policies()
TIMER = SlaTracker(POLICIES).on_command(None, SlaCommand(SlaAction.START, "C0", Milestone.RESOLVE, BASE, "letter",
                                                         "dust", "env", "town-3")).timer
ACK, RESOLVE = Milestone.ACKNOWLEDGE, Milestone.RESOLVE


class FiredOnly(RecordingTracker):
    def __init__(self) -> None:
        super().__init__(POLICIES)
        self.fired: list[tuple[str, int]] = []  # (timer key, token) as the desk fired them

    def on_due(self, timer, now):
        self.fired.append((f"{timer.case_id}|{timer.milestone.value}", timer.generation))
        return TimerChange(timer)  # nothing further due


def desk_at(start: datetime = CLOCK_START, buckets=None) -> CaseDeskSla:
    return CaseDeskSla(FiredOnly(), start, buckets=buckets)


def schedule(desk: CaseDeskSla, case_id: str, milestone: Milestone, due: datetime, token: int) -> None:
    """A timer of generation `token` whose next instant is `due`, stored by the desk."""
    assert TIMER is not None
    desk.store(f"{case_id}|{milestone.value}", TimerChange(replace(TIMER, case_id=case_id, milestone=milestone,
                                                                   generation=token), (), due))


def cancel(desk: CaseDeskSla, case_id: str, milestone: Milestone) -> None:
    """What a stop does to the schedule: a new generation of the timer with nothing due."""
    timer = desk.state.timers[f"{case_id}|{milestone.value}"]
    desk.store(f"{case_id}|{milestone.value}", TimerChange(replace(timer, generation=timer.generation + 1)))


def due(desk: CaseDeskSla, now: datetime) -> list[tuple[str, int]]:
    fired = desk.tracker.fired
    first = len(fired)
    desk.tick(now)
    return fired[first:]


def test_due_timers_fire_earliest_first_and_only_once():
    desk = desk_at()
    schedule(desk, "C2", RESOLVE, BASE + timedelta(minutes=20), 1)
    schedule(desk, "C1", ACK, BASE + timedelta(minutes=5), 7)
    schedule(desk, "C3", RESOLVE, BASE + timedelta(hours=5), 1)
    assert due(desk, BASE) == []
    assert due(desk, BASE + timedelta(minutes=30)) == [("C1|acknowledge", 7), ("C2|resolve", 1)]
    assert due(desk, BASE + timedelta(minutes=30)) == []
    assert desk.entries() == [(due_minute(BASE + timedelta(hours=5)), "C3|resolve", 1)]


def test_never_fired_before_it_is_due():
    desk = desk_at()
    schedule(desk, "C1", RESOLVE, BASE + timedelta(seconds=30), 1)
    assert desk.entries() == [(due_minute(BASE + timedelta(minutes=1)), "C1|resolve", 1)]  # its minute, rounded up
    assert due(desk, BASE + timedelta(seconds=45)) == []
    assert due(desk, BASE + timedelta(minutes=1)) == [("C1|resolve", 1)]
    assert due_minute(BASE) == int(BASE.timestamp()) // 60


def test_a_new_generation_overtakes_the_pending_entry_and_a_stop_cancels_it():
    desk = desk_at()
    schedule(desk, "C1", RESOLVE, BASE + timedelta(minutes=5), 1)
    schedule(desk, "C1", RESOLVE, BASE + timedelta(minutes=50), 2)
    assert due(desk, BASE + timedelta(minutes=10)) == []  # the entry of generation 1 is skipped
    assert due(desk, BASE + timedelta(minutes=60)) == [("C1|resolve", 2)]
    schedule(desk, "C1", RESOLVE, BASE + timedelta(minutes=70), 3)
    cancel(desk, "C1", RESOLVE)
    before = (dict(desk.state.timers), dict(desk.state.buckets))
    desk.store("C9|resolve", TimerChange(None))  # a command for a milestone that is not timed: nothing happens
    assert (desk.state.timers, desk.state.buckets) == before
    assert due(desk, BASE + timedelta(days=1)) == [] and desk.entries() == []


def test_a_schedule_read_back_from_json_values_fires_the_same():
    desk = desk_at()
    for index in range(50):
        schedule(desk, f"C{index}", RESOLVE, BASE + timedelta(minutes=index % 7), index)
    cancel(desk, "C3", RESOLVE)
    restored = desk_at(buckets={key: json.loads(json.dumps(value)) for key, value in desk.state.buckets.items()})
    restored.state.timers.update(desk.state.timers)
    restored.state.cursors.update(desk.state.cursors)
    now = BASE + timedelta(minutes=10)
    fired = due(restored, now)
    assert len(fired) == 49 and fired == due(desk, now)


def test_times_in_any_zone_share_one_timeline():
    desk = desk_at()
    schedule(desk, "C1", RESOLVE, BASE.astimezone(UTC) + timedelta(minutes=1), 1)
    assert due(desk, BASE + timedelta(minutes=1)) == [("C1|resolve", 1)]


def test_entries_a_timer_left_behind_are_gone_once_the_clock_has_passed_them():
    desk = desk_at()
    for index in range(10_000):
        schedule(desk, "C1", RESOLVE, BASE + timedelta(minutes=index + 1), index)
    assert len(desk.entries()) == 10_000  # cancellation is lazy
    assert due(desk, BASE + timedelta(minutes=10_000)) == [("C1|resolve", 9_999)]
    assert desk.entries() == [] and desk.state.buckets == {}


class CountingReads(dict[str, Any]):
    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()  # "n" and "done" (a minute's count and progress), "entry"

    def get(self, key, default=None):
        part = key.rsplit(":", 1)[1]
        self.reads[part if part in ("n", "done") else "entry"] += 1
        return super().get(key, default)


def test_a_million_open_deadlines_cost_nothing_on_an_idle_tick():
    """Assert on table reads, not timing: an idle tick reads a minute's count and progress for each minute it
    passes, however many deadlines are scheduled, and no entry."""
    start = BASE + timedelta(hours=1)
    first_minute, spread_minutes = due_minute(start), 60 * 24 * 30  # a month of deadlines
    loaded: dict[str, Any] = {}
    bulk, first_three = DueMinutes(loaded, partition=0), ([], [], [])
    for index in range(1_000_000):  # a bulk load: the entries the desk's store writes, at known minutes
        offset = (index * 7919) % spread_minutes
        bulk.add(first_minute + offset, f"C{index}|resolve", 0)
        if offset < 3:
            first_three[offset].append((f"C{index}|resolve", 0))
    table = CountingReads()
    table.update(loaded)
    assert sum(value for key, value in table.items() if key.endswith(":n")) == 1_000_000
    desk = desk_at(BASE, buckets=table)
    expected = [entry for minute in first_three for entry in minute]
    for key, _ in expected:
        desk.state.timers[key] = replace(TIMER, case_id=key.split("|")[0])
    for minute in range(60):  # an hour of idle ticks
        assert due(desk, BASE + timedelta(minutes=minute)) == []
    assert table.reads == Counter({"n": 59, "done": 59})  # minutes 1 to 59 of the hour, nothing else
    table.reads.clear()
    assert due(desk, start + timedelta(minutes=2)) == expected  # three minutes' worth become due, in order
    assert table.reads == Counter({"n": 3, "done": 3, "entry": len(expected)})
    assert not any(f"0:{first_minute + minute}:n" in table for minute in range(3))  # the three minutes are done
