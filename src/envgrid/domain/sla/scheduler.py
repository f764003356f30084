"""Deadline scheduler: which timers are due, without scanning every open case on each tick.

Layout maps onto a key-value table (a faust table later):
- `buckets`: due minute (epoch minutes, rounded *up*) -> {(case id, milestone): token}
- `index`:   (case id, milestone) -> due minute, so a reschedule or cancel removes its old entry in O(1)
- a min-heap of the bucket minutes in memory, rebuilt from `buckets` on load; a minute whose bucket was
  emptied by cancellations stays in the heap and is skipped when popped (lazy cancellation).

`due(now)` looks at the heap's top only: a tick with nothing due costs one comparison however many
deadlines are scheduled. Rounding up means a deadline is reported at most 59 s late, never early; the
token (the timer's generation) lets the caller drop an entry that a newer timer state has overtaken.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from envgrid.domain.sla.clock import require_aware

Key = tuple[str, str]  # (case id, milestone)


@dataclass(frozen=True, slots=True)
class DueDeadline:
    case_id: str
    milestone: str
    token: int
    due_minute: datetime  # the bucket's instant, at or after the exact due instant


@dataclass(slots=True)
class SchedulerCounters:
    """Operation counts, so tests can assert on work done rather than on timing."""

    heap_peeks: int = 0
    buckets_popped: int = 0
    entries_examined: int = 0

    def reset(self) -> None:
        self.heap_peeks = self.buckets_popped = self.entries_examined = 0


@dataclass
class DeadlineScheduler:
    buckets: dict[int, dict[Key, int]] = field(default_factory=dict)
    index: dict[Key, int] = field(default_factory=dict)
    counters: SchedulerCounters = field(default_factory=SchedulerCounters)
    _heap: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)

    def schedule(self, case_id: str, milestone: str, due: datetime, token: int) -> None:
        """Schedule (or move) the one pending deadline of (case, milestone)."""
        self.schedule_minute(case_id, milestone, due_minute(due), token)

    def schedule_minute(self, case_id: str, milestone: str, minute: int, token: int) -> None:
        """`schedule` with the bucket key already computed (bulk loads, replays)."""
        key = (case_id, milestone)
        if key in self.index:
            self.cancel(case_id, milestone)
        bucket = self.buckets.get(minute)
        if bucket is None:
            bucket = self.buckets[minute] = {}
            heapq.heappush(self._heap, minute)
            if len(self._heap) > 2 * len(self.buckets) + 64:  # many stale minutes from cancellations
                self._heap = sorted(self.buckets)
        bucket[key] = token
        self.index[key] = minute

    def cancel(self, case_id: str, milestone: str) -> None:
        key = (case_id, milestone)
        minute = self.index.pop(key, None)
        if minute is None:
            return
        bucket = self.buckets.get(minute)
        if bucket is not None:
            bucket.pop(key, None)
            if not bucket:
                del self.buckets[minute]  # its minute stays in the heap until popped

    def next_due_minute(self) -> datetime | None:
        while self._heap and self._heap[0] not in self.buckets:
            heapq.heappop(self._heap)
        return _minute_instant(self._heap[0]) if self._heap else None

    def due(self, now: datetime) -> list[DueDeadline]:
        """Remove and return every deadline due at or before `now`, earliest first."""
        now_minute = int(require_aware(now, "now").timestamp() // 60)
        found: list[DueDeadline] = []
        while True:
            self.counters.heap_peeks += 1
            if not self._heap or self._heap[0] > now_minute:
                return found
            minute = heapq.heappop(self._heap)
            bucket = self.buckets.pop(minute, None)
            if not bucket:
                continue
            self.counters.buckets_popped += 1
            instant = _minute_instant(minute)
            for (case_id, milestone), token in bucket.items():
                self.counters.entries_examined += 1
                del self.index[(case_id, milestone)]
                found.append(DueDeadline(case_id, milestone, token, instant))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: {"buckets": {"<epoch minute>": [[case id, milestone, token], ...]}}."""
        return {
            "buckets": {
                str(minute): [[case_id, milestone, token] for (case_id, milestone), token in bucket.items()]
                for minute, bucket in self.buckets.items()
            }
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadlineScheduler:
        scheduler = cls()
        for minute_text, entries in data.get("buckets", {}).items():
            minute = int(minute_text)
            bucket = {(case_id, milestone): int(token) for case_id, milestone, token in entries}
            if not bucket:
                continue
            scheduler.buckets[minute] = bucket
            for key in bucket:
                scheduler.index[key] = minute
        scheduler._heap = sorted(scheduler.buckets)
        return scheduler


def due_minute(due: datetime) -> int:
    """The bucket key: epoch minutes, rounded up so nothing fires before it is due."""
    seconds = require_aware(due, "due").timestamp()
    return -int(-seconds // 60)


def _minute_instant(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)
