"""Which input offsets the router may commit: those of batches whose every output the broker acknowledged,
in batch order (no Kafka in this module).

The router does not wait for the broker after each batch: it seals the batch (its next offsets per input
partition, and how many records it produced) and goes on with the next one while librdkafka delivers. Each
delivery report names its batch. A batch becomes committable once it is sealed and every record it produced
is acknowledged, and only after every batch before it: committing a later batch first would commit past
inputs whose outputs may still be lost. A refused output stops the commits for good (`OutputRejected`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

Offsets = dict[tuple[str, int], int]  # (topic, partition) -> the next offset to read


class OutputRejected(RuntimeError):
    """The broker refused an output for good (not a retriable outage): its batch cannot be committed."""


@dataclass
class Batch:
    number: int
    offsets: Offsets = field(default_factory=dict)
    outstanding: int = 0  # records produced and not yet acknowledged
    sealed: bool = False
    errors: list[str] = field(default_factory=list)
    done: list[Any] = field(default_factory=list)  # what to count once the batch is acknowledged

    def sent(self) -> None:
        self.outstanding += 1

    def delivered(self, error: Any, message: Any) -> None:
        """librdkafka's delivery report of one record of this batch."""
        self.outstanding -= 1
        if error is not None:
            self.errors.append(f"{message.topic()}: {error}")

    @property
    def acknowledged(self) -> bool:
        return self.sealed and self.outstanding == 0


@dataclass
class BatchLedger:
    _current: Batch = field(default_factory=lambda: Batch(0))
    _sealed: deque[Batch] = field(default_factory=deque)
    _abandoned: bool = False

    @property
    def current(self) -> Batch:
        """The batch being handled: every record produced now belongs to it."""
        return self._current

    def seal(self, offsets: Offsets, done: list[Any] | None = None) -> None:
        """The current batch is handled: its inputs end at `offsets`; a new batch begins."""
        if self._abandoned:
            raise RuntimeError("a batch was abandoned: no later batch may be committed past its inputs")
        batch = self._current
        batch.offsets, batch.sealed, batch.done = dict(offsets), True, list(done or [])
        self._sealed.append(batch)
        self._current = Batch(batch.number + 1)

    def abandon(self) -> None:
        """The current batch is left unfinished (the router stops): its inputs are redelivered to whoever reads
        them next, so no batch may be sealed after it; the batches sealed before it may still be committed."""
        self._abandoned = True

    def in_flight(self) -> int:
        """Sealed batches not committed yet."""
        return len(self._sealed)

    def committable(self) -> tuple[Offsets, list[Any]]:
        """The offsets to commit now (the latest per partition over every acknowledged batch at the head of
        the queue) and what those batches asked to count; raises OutputRejected if one of them lost an output."""
        offsets: Offsets = {}
        done: list[Any] = []
        while self._sealed and self._sealed[0].acknowledged:
            batch = self._sealed.popleft()
            if batch.errors:
                raise OutputRejected(f"the broker refused {len(batch.errors)} outputs of batch {batch.number}; it is "
                                     f"not committed: {'; '.join(sorted(set(batch.errors))[:5])}")
            offsets.update(batch.offsets)
            done.extend(batch.done)
        return offsets, done
