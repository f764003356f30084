"""The deadline schedule of one partition, one small table value per scheduled timer.

Each minute keeps a count of entries and one key per entry (`<partition>:<minute>:<n>` -> (timer key,
token)), so scheduling a timer writes two small values however many timers are due in the same minute:
O(1) bytes of changelog per timer change, not a rewrite of the whole minute. Firing reads the minute's
entries in order and deletes each as it goes; a tick whose budget runs out remembers how far it got
(`<partition>:<minute>:done`). Cancellation is lazy: an entry whose token is not the timer's generation any
more is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import datetime
from typing import Any

from envgrid.domain.sla.clock import require_aware


def due_minute(due: datetime) -> int:
    """The minute an instant is scheduled in: epoch minutes, rounded up so nothing fires before it is due."""
    seconds = require_aware(due, "due").timestamp()
    return -int(-seconds // 60)


class DueMinutes:
    def __init__(self, table: MutableMapping[str, Any], partition: int) -> None:
        self._table, self._partition = table, partition

    def add(self, minute: int, timer_key: str, token: int) -> None:
        count = self._key(minute, "n")
        number = int(self._table.get(count) or 0)
        self._table[self._key(minute, number)] = (timer_key, token)  # the entry before the count that names it
        self._table[count] = number + 1

    def entries(self, minute: int) -> Iterator[tuple[int, tuple[str, int]]]:
        """(number, (timer key, token)) of the minute's entries not fired yet, in the order they came."""
        start = int(self._table.get(self._key(minute, "done")) or 0)
        for number in range(start, int(self._table.get(self._key(minute, "n")) or 0)):
            entry = self._table.get(self._key(minute, number))
            if entry is not None:
                timer_key, token = entry
                yield number, (str(timer_key), int(token))

    def fired(self, minute: int, number: int) -> None:
        self._table.pop(self._key(minute, number), None)

    def stopped_at(self, minute: int, number: int) -> None:
        """The tick's budget ran out before entry `number`: the next tick starts there."""
        self._table[self._key(minute, "done")] = number

    def finish(self, minute: int) -> None:
        """Every entry of the minute has fired: forget its count."""
        self._table.pop(self._key(minute, "done"), None)
        self._table.pop(self._key(minute, "n"), None)

    def _key(self, minute: int, part: int | str) -> str:
        return f"{self._partition}:{minute}:{part}"
