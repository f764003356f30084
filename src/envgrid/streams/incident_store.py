"""The router's state: one incident index per merge zone and category, held in memory per partition of
`internal.located`, with a compacted changelog topic as its durable copy (no Kafka in this module).

The router loop (`envgrid.streams.router_loop`) loads a partition's indexes from the changelog when the
partition is assigned, reads and updates them while it handles that partition's reports, and at the end of
each batch writes the indexes the batch changed (`take_changed`), once each, before it commits the batch's
input offsets. A changelog record is keyed by the index key (`Located.incidents_key`) and written to the
partition of the `internal.located` partition it belongs to; its value is the state codec's versioned JSON. Keys are JSON strings, as faust wrote
its `incidents` table's changelog, whose topic this is (`<app id>-incidents-changelog`): a worker of this
release adopts the duplicate indexes an earlier, faust-routed release left there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from envgrid.domain.duplicates import IncidentIndex
from envgrid.streams.routing_service import Intake, Located, Refused, RoutingService
from envgrid.streams.state_codec import decode_state, encode_state


@dataclass(frozen=True)
class ChangelogRecord:
    partition: int
    key: bytes
    value: bytes


@dataclass
class IncidentStore:
    _indexes: dict[int, dict[str, IncidentIndex]] = field(default_factory=dict)
    _changed: dict[int, set[str]] = field(default_factory=dict)

    def owns(self, partition: int) -> bool:
        return partition in self._indexes

    def owned(self) -> list[int]:
        return sorted(self._indexes)

    def indexes(self, partition: int) -> dict[str, IncidentIndex]:
        """The live indexes of a partition this process owns (for inspection and tests)."""
        return self._owned(partition)

    def adopt(self, partition: int, indexes: dict[str, IncidentIndex]) -> None:
        """Own a partition with these indexes (as after a restore), nothing changed yet."""
        self._indexes[partition] = indexes
        self._changed.pop(partition, None)

    def index(self, partition: int, key: str) -> IncidentIndex:
        """The index of `key` in `partition` (an empty one when the zone has seen nothing yet); a change to it
        is kept only after `changed(partition, key)`."""
        indexes = self._owned(partition)
        found = indexes.get(key)
        return found if found is not None else IncidentIndex()

    def open_or_merge(self, service: RoutingService, partition: int, located: Located) -> Intake | Refused:
        """Stage 2 of the router against this store: the report opens or merges a case in the index of its
        zone and category, which is kept (and written to the changelog with the batch) unless the report was
        one the zone had already handled or was refused."""
        key = located.incidents_key
        index = self.index(partition, key)
        intake = service.open_or_merge(located, index)
        if isinstance(intake, Intake) and not intake.redelivered:
            self.changed(partition, key, index)
        return intake

    def changed(self, partition: int, key: str, index: IncidentIndex) -> None:
        self._owned(partition)[key] = index
        self._changed.setdefault(partition, set()).add(key)

    def take_changed(self) -> list[ChangelogRecord]:
        """The changelog records of every index changed since the last call, one per index however often it
        changed."""
        out = [ChangelogRecord(partition, json.dumps(key).encode(), encode_state(self._indexes[partition][key]))
               for partition, keys in self._changed.items() if partition in self._indexes for key in sorted(keys)]
        self._changed.clear()
        return out

    def restore(self, partition: int, records: Iterable[tuple[bytes | None, bytes | None]]) -> int:
        """Adopt a partition from its changelog records (key, value) in log order; the latest value of a key
        wins and an empty value (a tombstone) deletes it. Returns how many indexes the partition holds."""
        indexes: dict[str, IncidentIndex] = {}
        for key, value in records:
            if key is None:
                continue
            name = json.loads(key) if key.startswith(b'"') else key.decode()
            if value is None:
                indexes.pop(name, None)
                continue
            index = decode_state(value)
            if not isinstance(index, IncidentIndex):
                raise TypeError(f"changelog record {key!r} of partition {partition} holds a "
                                f"{type(index).__name__}, not an incident index")
            indexes[name] = index
        self.adopt(partition, indexes)
        return len(indexes)

    def release(self, partitions: Iterable[int]) -> None:
        """Forget partitions this process no longer owns (their new owner restores them from the changelog)."""
        for partition in partitions:
            self._indexes.pop(partition, None)
            self._changed.pop(partition, None)

    def _owned(self, partition: int) -> dict[str, IncidentIndex]:
        indexes = self._indexes.get(partition)
        if indexes is None:
            raise KeyError(f"partition {partition} of internal.located is not restored in this process")
        return indexes
