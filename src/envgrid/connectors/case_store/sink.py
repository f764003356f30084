"""The sink's loop: consume case.history, case.feedback and case.sla, write each batch in one transaction,
then commit the batch's offsets. Thin: decoding is the codec's, the rows are `rows.Batch`'s, the writing the
store's.

At-least-once and idempotent. Offsets are committed only after the database committed, so a sink killed at any
point re-reads at most the batches whose offsets it had not committed, and the upserts leave the store as it was
(`rows`, `store`). An undecodable record is recorded in `case_store.skipped_records` with its reason (the
pipeline dead-letters its own inputs; a record on these topics that cannot be read is a fault to look at, not to
stop on). An outage is waited out, not skipped: while the schema registry does not answer (for a schema id not
seen yet) or PostgreSQL is unreachable, the same batch is tried again with backoff, 0.5 s doubling to 30 s.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.outages import outage_of
from envgrid.connectors.serde import UndecodableRecord

from .rows import Batch
from .store import CaseStore

log = logging.getLogger("envgrid.case_store")
Decode = Callable[[bytes | None, str], tuple[str, dict[str, Any]]]
BACKOFF = (0.5, 30.0)  # first wait and longest wait between tries of a batch during an outage


@dataclass(frozen=True)
class SinkTopics:
    history: str
    feedback: str
    sla: str

    @classmethod
    def of(cls, catalogue: Catalogue) -> SinkTopics:
        return cls(*(catalogue.topic(name) for name in ("case.history", "case.feedback", "case.sla")))

    @property
    def all(self) -> list[str]:
        return [self.history, self.feedback, self.sla]


@dataclass
class Progress:
    batches: int = 0
    records: int = 0
    rows_changed: int = 0
    skipped: int = 0
    retries: int = 0


def batch_of(messages: Sequence[Message], decode: Decode, topics: SinkTopics) -> tuple[Batch, int]:
    """The rows of `messages` and how many were skipped as undecodable. An outage's error propagates."""
    batch, skipped = Batch(), 0
    add = {topics.history: batch.add_history, topics.feedback: batch.add_feedback, topics.sla: batch.add_sla}
    for message in messages:
        topic = message.topic()
        assert topic is not None
        try:
            _event, value = decode(message.value(), topic)
        except UndecodableRecord as error:
            batch.add_skipped(topic, message.partition() or 0, message.offset() or 0, f"{error.reason}: {error}")
            skipped += 1
            continue
        add[topic](value)
    return batch, skipped


def next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    """Per partition, the offset after the last message: what to commit once the batch is stored."""
    ends: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic() or "", message.partition() or 0)
        ends[key] = max(ends.get(key, -1), (message.offset() or 0) + 1)
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in sorted(ends.items())]


class Sink:
    def __init__(self, consumer: Consumer, decode: Decode, connect: Callable[[], CaseStore], topics: SinkTopics,
                 batch_size: int = 5000, poll_timeout: float = 0.5) -> None:
        self.consumer, self.decode, self.connect, self.topics = consumer, decode, connect, topics
        self.batch_size, self.poll_timeout = batch_size, poll_timeout
        self.store: CaseStore | None = None
        self.progress = Progress()

    def run(self, stopping: Callable[[], bool], report: Callable[[Progress], None] = lambda progress: None) -> Progress:
        """Subscribe, then store batch after batch until `stopping()`; `report` is called after each batch."""
        self.consumer.subscribe(self.topics.all)
        while not stopping():
            self.step()
            report(self.progress)
        return self.progress

    def step(self) -> int:
        """One batch: consume, store, commit. Returns the records it held."""
        messages = [m for m in self.consumer.consume(self.batch_size, self.poll_timeout) if self._usable(m)]
        if not messages:
            return 0
        wait = BACKOFF[0]
        while True:
            try:
                batch, skipped = batch_of(messages, self.decode, self.topics)
                self.progress.rows_changed += self._store().write(batch)
                break
            except (psycopg.OperationalError, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as error:
                # the server is unreachable, or this transaction lost to another writer (two sinks of different
                # groups on one store): the transaction wrote nothing; a new connection, the same batch again
                self._drop_store()
                self._wait(f"PostgreSQL: {error}", wait)
            except Exception as error:
                if outage_of(error) is None:
                    raise
                self._wait(f"{outage_of(error)}: {error}", wait)
            wait = min(wait * 2, BACKOFF[1])
        self._commit(next_offsets(messages))
        self.progress.batches += 1
        self.progress.records += len(messages)
        self.progress.skipped += skipped
        return len(messages)

    def _store(self) -> CaseStore:
        if self.store is None:
            self.store = self.connect()
        return self.store

    def _drop_store(self) -> None:
        if self.store is not None:
            with contextlib.suppress(psycopg.Error):
                self.store.conn.close()
        self.store = None

    def _wait(self, why: str, seconds: float) -> None:
        self.progress.retries += 1
        log.warning("case store: %s; trying the same batch again in %.1f s", why, seconds)
        time.sleep(seconds)

    def _commit(self, offsets: list[TopicPartition]) -> None:
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            # A rebalance took the partitions away: their new owner re-reads from the last commit, and the
            # rows written here are the same rows it writes again.
            log.warning("case store: committing offsets failed (%s); the records will be read again", error)

    @staticmethod
    def _usable(message: Message) -> bool:
        error = message.error()
        if error is not None:
            log.warning("case store: consumer error %s", error)
            return False
        return True
