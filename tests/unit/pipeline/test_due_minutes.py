"""The deadline schedule writes O(1) per timer change: two small values, however many share the minute."""

from __future__ import annotations

import pickle
from typing import Any

from envgrid.streams.due_minutes import DueMinutes


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
