"""The deadline scheduler: correct order, never early, cheap when nothing is due, serialisable."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from envgrid.domain.sla.calendar import CHINA_TZ
from envgrid.domain.sla.scheduler import DeadlineScheduler, due_minute

BASE = datetime(2025, 9, 29, 9, 0, tzinfo=CHINA_TZ)


def keys(found) -> list[tuple[str, str]]:
    return [(d.case_id, d.milestone) for d in found]


def test_due_returns_what_is_due_earliest_first_and_only_once():
    scheduler = DeadlineScheduler()
    scheduler.schedule("C2", "resolve", BASE + timedelta(minutes=20), 1)
    scheduler.schedule("C1", "acknowledge", BASE + timedelta(minutes=5), 7)
    scheduler.schedule("C3", "resolve", BASE + timedelta(hours=5), 1)
    assert scheduler.due(BASE) == []
    found = scheduler.due(BASE + timedelta(minutes=30))
    assert keys(found) == [("C1", "acknowledge"), ("C2", "resolve")] and found[0].token == 7
    assert scheduler.due(BASE + timedelta(minutes=30)) == []
    assert len(scheduler) == 1 and scheduler.next_due_minute() == BASE + timedelta(hours=5)


def test_never_reported_before_it_is_due():
    scheduler = DeadlineScheduler()
    scheduler.schedule("C1", "resolve", BASE + timedelta(seconds=30), 1)
    assert scheduler.due(BASE + timedelta(seconds=45)) == []
    [found] = scheduler.due(BASE + timedelta(minutes=1))
    assert found.due_minute == BASE + timedelta(minutes=1)
    assert due_minute(BASE) == int(BASE.timestamp()) // 60


def test_rescheduling_moves_the_single_pending_deadline_and_cancel_removes_it():
    scheduler = DeadlineScheduler()
    scheduler.schedule("C1", "resolve", BASE + timedelta(minutes=5), 1)
    scheduler.schedule("C1", "resolve", BASE + timedelta(minutes=50), 2)
    assert scheduler.due(BASE + timedelta(minutes=10)) == []
    [found] = scheduler.due(BASE + timedelta(minutes=60))
    assert found.token == 2
    scheduler.schedule("C1", "resolve", BASE + timedelta(minutes=70), 3)
    scheduler.cancel("C1", "resolve")
    scheduler.cancel("C9", "resolve")  # unknown: nothing happens
    assert scheduler.due(BASE + timedelta(days=1)) == [] and len(scheduler) == 0
    assert scheduler.next_due_minute() is None


def test_round_trip_through_a_json_key_value_layout():
    scheduler = DeadlineScheduler()
    for index in range(50):
        scheduler.schedule(f"C{index}", "resolve", BASE + timedelta(minutes=index % 7), index)
    scheduler.cancel("C3", "resolve")
    restored = DeadlineScheduler.from_dict(json.loads(json.dumps(scheduler.to_dict())))
    assert len(restored) == 49
    now = BASE + timedelta(minutes=10)
    assert sorted(keys(restored.due(now))) == sorted(keys(scheduler.due(now)))


def test_times_in_any_zone_share_one_timeline():
    scheduler = DeadlineScheduler()
    scheduler.schedule("C1", "resolve", BASE.astimezone(UTC) + timedelta(minutes=1), 1)
    assert keys(scheduler.due(BASE + timedelta(minutes=1))) == [("C1", "resolve")]


def test_churn_does_not_grow_the_heap_without_bound():
    scheduler = DeadlineScheduler()
    for index in range(10_000):
        scheduler.schedule("C1", "resolve", BASE + timedelta(minutes=index), index)
    assert len(scheduler) == 1 and len(scheduler._heap) <= 2 * len(scheduler.buckets) + 65


def test_a_million_open_deadlines_cost_nothing_on_an_idle_tick():
    """Assert on operation counts, not timing: an idle tick peeks at the heap once, examines no entry."""
    scheduler = DeadlineScheduler()
    start = BASE + timedelta(hours=1)
    first_minute, spread_minutes = due_minute(start), 60 * 24 * 30  # a month of deadlines
    offsets = [(index * 7919) % spread_minutes for index in range(1_000_000)]
    for index, offset in enumerate(offsets):
        scheduler.schedule_minute(f"C{index}", "resolve", first_minute + offset, 0)
    assert len(scheduler) == 1_000_000
    scheduler.counters.reset()
    for minute in range(60):  # an hour of idle ticks
        assert scheduler.due(BASE + timedelta(minutes=minute)) == []
    assert scheduler.counters.heap_peeks == 60 and scheduler.counters.entries_examined == 0
    scheduler.counters.reset()
    found = scheduler.due(start + timedelta(minutes=2))  # three minutes' worth become due
    expected = sum(1 for offset in offsets if offset <= 2)
    assert len(found) == expected
    assert scheduler.counters.entries_examined == expected and scheduler.counters.buckets_popped == 3
