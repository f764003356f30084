"""Notices that arrive before their case: held until the case opens, or refused when it never does.

A department answers a case it was sent, so in real traffic its notice comes after the case opened. But
the two travel different paths (a report goes through both router stages, a notice straight to the case
desk), so under a backlog a notice can overtake the report that opens its case. Refusing it then would
dead-letter a valid notice; instead the case desk holds it, keyed by case, and applies it right after the
case opens. A notice whose case does not open within `HELD_NOTICE_WAIT` of pipeline time (the notice's
own received time against the clock ticks) is refused as `unknown_case`, so nothing waits forever.

Everything here is pure: the held notices live in a mutable mapping (a faust table in the worker), and
each partition keeps one small index there too, case id -> earliest expiry, so a tick looks only at what
is due. Index and notices share the table, so their changelog records share a partition and keep their
order: the index is written before the notice it points to and forgotten after it, and whatever a crash
cuts off, no held notice is left without an index entry (which would never expire).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from envgrid.streams.routing_service import Refused

HELD_NOTICE_WAIT = timedelta(hours=1)
MAX_HELD_PER_CASE = 16  # notices waiting for one case; more are refused at once (hold_full)
MAX_HELD_CASES_PER_PARTITION = 2_000  # cases with notices waiting, per partition; the index value stays < 200 KB
REFUSALS_REMEMBERED = 10_000  # refused attempts remembered per partition (to refuse a redelivery alike)


@dataclass(frozen=True)
class SourceRecord:
    """Where an input came from and its bytes: what a dead letter needs, kept for a later refusal."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()

    @classmethod
    def of(cls, message: Any) -> SourceRecord:
        headers = message.headers or []
        if isinstance(headers, dict):
            headers = list(headers.items())
        return cls(message.topic, int(message.partition), int(message.offset), message.key, message.value,
                   tuple((k, v) for k, v in headers))


@dataclass(frozen=True)
class DeadLetterOutput:
    """A dead letter for an input other than the one being handled (a held notice refused later)."""

    source: SourceRecord | None
    refused: Refused


@dataclass(frozen=True)
class HeldNotice:
    record: dict[str, Any]
    reinjections: int
    source: SourceRecord | None
    expires_at: datetime

    @property
    def attempt(self) -> str:
        return attempt_of(self.record["event_id"], self.reinjections)


def attempt_of(event_id: str, reinjections: int) -> str:
    """One try at applying a notice: the original, or its n-th re-injection from the dead-letter topic."""
    return f"{event_id}#{reinjections}"


class NoticeHold:
    """The held notices of all partitions, in one mapping: case id -> notices in arrival order, and
    `<partition>:held-index` -> {case id: earliest expiry} for each partition."""

    def __init__(self, table: MutableMapping[str, Any], wait: timedelta = HELD_NOTICE_WAIT) -> None:
        self._table = table
        self.wait = wait

    def hold(self, record: dict[str, Any], reinjections: int, source: SourceRecord | None,
             partition: int) -> bool | Refused:
        """Hold a notice for its case; False when this attempt is held already (a redelivery); a refusal
        when the case, or the partition, holds as many as it may (nothing is held then)."""
        case_id = record["case_id"]
        waiting = list(self._table.get(case_id) or [])
        attempt = attempt_of(record["event_id"], reinjections)
        if any(notice.attempt == attempt for notice in waiting):
            return False
        index = dict(self._table.get(self._index_key(partition)) or {})
        if len(waiting) >= MAX_HELD_PER_CASE or (case_id not in index and len(index) >= MAX_HELD_CASES_PER_PARTITION):
            return Refused("APPLY", "hold_full", "HoldFull",
                           f"notice {record['event_id']}: case {case_id} is not open and "
                           f"{'it has' if len(waiting) >= MAX_HELD_PER_CASE else 'this partition has'} as many notices "
                           f"waiting as may wait ({MAX_HELD_PER_CASE} per case, {MAX_HELD_CASES_PER_PARTITION} cases per "
                           f"partition); send it again once the case has opened", record["event_id"])
        expires_at = record["received_at"] + self.wait
        index[case_id] = min(index.get(case_id, expires_at), expires_at)
        self._table[self._index_key(partition)] = index  # first: see the module docstring
        waiting.append(HeldNotice(record, reinjections, source, expires_at))
        self._table[case_id] = waiting
        return True

    def release(self, case_id: str, partition: int) -> list[HeldNotice]:
        """The notices held for a case that has just opened, in arrival order; they are no longer held."""
        waiting = self._table.pop(case_id, None) or []
        if waiting:
            self._forget(case_id, partition)
        return list(waiting)

    def expire(self, now: datetime, partition: int, limit: int) -> list[HeldNotice]:
        """The notices of this partition whose case did not open in time, about `limit` at most (whole
        cases; the rest on the next call); they are no longer held."""
        index = self._table.get(self._index_key(partition)) or {}
        expired: list[HeldNotice] = []
        for case_id in [case_id for case_id, earliest in index.items() if earliest <= now]:
            if len(expired) + MAX_HELD_PER_CASE > limit and expired:
                break  # a whole case more could pass the limit: the rest on the next call
            waiting = list(self._table.pop(case_id, None) or [])
            expired.extend(notice for notice in waiting if notice.expires_at <= now)
            still = [notice for notice in waiting if notice.expires_at > now]
            if still:
                self._table[case_id] = still
            self._forget(case_id, partition, min((notice.expires_at for notice in still), default=None))
        return expired

    def waiting(self, partition: int) -> int:
        """How many cases of this partition have notices waiting."""
        return len(self._table.get(self._index_key(partition)) or {})

    def _forget(self, case_id: str, partition: int, earliest: datetime | None = None) -> None:
        index = dict(self._table.get(self._index_key(partition)) or {})
        if earliest is None:
            index.pop(case_id, None)
        else:
            index[case_id] = earliest
        if index:
            self._table[self._index_key(partition)] = index
        else:
            self._table.pop(self._index_key(partition), None)

    @staticmethod
    def _index_key(partition: int) -> str:
        return f"{partition}:held-index"  # case ids never contain ':'


class RefusalMemory:
    """The refused notice attempts of one partition, so a redelivered one is refused alike; the oldest are
    forgotten past REFUSALS_REMEMBERED (a redelivery comes within seconds, not after ten thousand refusals).
    A ring of slots in the same table: each refusal writes three small values and deletes one."""

    def __init__(self, table: MutableMapping[str, Any], partition: int) -> None:
        self._table, self._partition = table, partition

    def get(self, attempt: str) -> Refused | None:
        value = self._table.get(attempt)
        return value if isinstance(value, Refused) else None

    def remember(self, attempt: str, refused: Refused) -> None:
        if attempt in self._table:
            self._table[attempt] = refused
            return
        counter = f"{self._partition}:refused-next"  # attempts end in '#<n>': no clash with these keys
        number = int(self._table.get(counter) or 0)
        slot = f"{self._partition}:refused-slot:{number % REFUSALS_REMEMBERED}"
        forgotten = self._table.get(slot)
        if isinstance(forgotten, str):
            self._table.pop(forgotten, None)
        self._table[attempt] = refused
        self._table[slot] = attempt
        self._table[counter] = number + 1


def never_opened(notice: HeldNotice, wait: timedelta) -> Refused:
    record = notice.record
    return Refused("APPLY", "unknown_case", "Rejection",
                   f"no case {record['case_id']} opened within {wait} of notice {record['event_id']} "
                   f"(received {record['received_at'].isoformat()}); check the case id the unit sent",
                   record["event_id"])
