"""Watching a unit's topic: a consumer in the unit's own group, at least once, copies read twice dropped.

    watcher = CopyWatcher(config, "envgrid.dept.epb.cases", "dept-epb-desk", codec.decode)
    for copy in watcher.poll(1.0):      # new copies, in each partition's order
        handle(copy.record)
        watcher.done(copy)              # handled: its offset may be committed
    watcher.commit()                    # what was handled, in order, nothing beyond

Offsets are committed only for copies the caller marked done, and only up to the first one in a partition that
is not done yet: a copy is never committed before its handler returned (at least once). The pipeline re-sends
a copy with the same event id when it re-processes an input (after a restart); the watcher drops a copy whose
event id it delivered already. It remembers the last `seen_limit` event ids, and when it starts it reads back
the copies just before its group's committed offsets (up to `seen_limit` per partition), so a copy re-sent
across a restart of the watcher is dropped too.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from envgrid.client.errors import BrokerRefused, Reason
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.serde import UndecodableRecord

log = logging.getLogger("envgrid.client")

Decode = Callable[[bytes | None, str], tuple[str, dict[str, Any]]]
SEEN_LIMIT = 10_000


@dataclass(frozen=True)
class WatchedCopy:
    record: dict[str, Any]  # the decoded CaseDispatched
    topic: str
    partition: int
    offset: int


class CopyWatcher:
    def __init__(self, config: dict[str, Any], topic: str, group: str, decode: Decode, *,
                 seen_limit: int = SEEN_LIMIT, timeout: float = 10.0, event_type: str = "CaseDispatched") -> None:
        """`event_type`: the records delivered (a unit's copies; the feedback channel watches CaseFeedback)."""
        self.topic, self.group, self._decode, self._timeout = topic, group, decode, timeout
        self._event_type = event_type
        self._errors = ErrorLog()
        self._log_ends = LogEnds({**config, "error_cb": self._errors})  # never a watermark query (librdkafka#5160)
        self._consumer = Consumer({**config, "group.id": group, "enable.auto.commit": False,
                                   "auto.offset.reset": "earliest", "error_cb": self._errors,
                                   "on_commit": self._committed_cb})
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_limit = seen_limit
        self._queue: dict[int, deque[list[Any]]] = {}  # partition -> [offset, done] of what poll returned
        self._position: dict[int, int] = {}  # partition -> next offset not handled yet
        self._committed: dict[int, int] = {}  # partition -> what was last committed
        self._seed()
        self._consumer.subscribe([topic], on_assign=self._assigned, on_revoke=self._revoked)

    # --- reading ------------------------------------------------------------------------------------

    def poll(self, timeout: float = 1.0, max_records: int = 500) -> list[WatchedCopy]:
        """The new copies that arrived (none within `timeout`: empty). Copies read before (same event id) and
        records that cannot be decoded are skipped; they need no handling."""
        messages = self._consumer.consume(max_records, timeout=timeout)
        self._errors.raise_fatal()
        batch: list[tuple[Message, dict[str, Any] | None]] = []
        for message in messages:
            error = message.error()
            if error is not None:
                self._raise_for(error)
                continue
            try:
                event, decoded = self._decode(message.value(), self.topic)
                # a grid's topic also carries its 双随机 draws (SpotCheckDrawn): not a copy, skipped like one seen
                record: dict[str, Any] | None = decoded if event == self._event_type else None
            except UndecodableRecord as undecodable:
                log.warning("%s: skipped an undecodable record at %s:%s (%s)", self.topic, message.partition(),
                            message.offset(), undecodable)
                batch.append((message, None))
                continue
            except Exception as error:
                self._rewind(messages)
                raise BrokerRefused(Reason.REGISTRY, f"{self.topic}: cannot decode a copy: the schema registry did "
                                                     f"not answer ({error}); try again") from error
            batch.append((message, record))
        delivered = []
        for message, record in batch:
            partition, offset = message.partition(), message.offset()
            assert partition is not None and offset is not None  # a record without error has both
            new = record is not None and self._remember(record["event_id"])
            self._queue.setdefault(partition, deque()).append([offset, not new])
            if new and record is not None:
                delivered.append(WatchedCopy(record, self.topic, partition, offset))
        self._advance()
        return delivered

    def done(self, copy: WatchedCopy) -> None:
        """The caller handled `copy`: it may be committed once everything before it is done too."""
        for entry in self._queue.get(copy.partition, ()):
            if entry[0] == copy.offset:
                entry[1] = True
                break
        self._advance()

    def commit(self, asynchronous: bool = False) -> None:
        """Commit what was handled since the last commit (nothing when nothing was)."""
        offsets = [TopicPartition(self.topic, p, o) for p, o in self._position.items() if self._committed.get(p) != o]
        if not offsets:
            return
        try:
            if asynchronous:
                self._consumer.commit(offsets=offsets, asynchronous=True)
            else:
                self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            self._raise_for(error.args[0])
        self._committed.update({tp.partition: tp.offset for tp in offsets})

    def positions(self) -> dict[int, int]:
        """Partition -> the next offset not handled yet, for the partitions assigned so far."""
        return dict(self._position)

    def close(self) -> None:
        """Commit what was handled, leave the group."""
        try:
            self.commit()
        finally:
            self._consumer.close()

    # --- helpers ------------------------------------------------------------------------------------

    def _remember(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)
        return True

    def _advance(self) -> None:
        for partition, queue in self._queue.items():
            while queue and queue[0][1]:
                self._position[partition] = queue.popleft()[0] + 1

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Where each new partition starts: the group's committed offset, else the topic's beginning."""
        committed = consumer.committed(partitions, timeout=self._timeout)
        ends = self._log_ends.of([tp for tp in committed if tp.offset < 0], self._timeout)
        for tp in committed:
            offset = tp.offset if tp.offset >= 0 else ends[(tp.topic, tp.partition)][0]
            self._position[tp.partition] = self._committed[tp.partition] = offset
            self._queue[tp.partition] = deque()

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.commit()
        for tp in partitions:
            self._position.pop(tp.partition, None)
            self._committed.pop(tp.partition, None)
            self._queue.pop(tp.partition, None)

    def _committed_cb(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if error is not None:
            log.warning("%s: group %s could not commit %s: %s", self.topic, self.group, partitions, error)

    def _rewind(self, messages: list[Message]) -> None:
        """Put every partition of an undelivered batch back to its first record in it."""
        first: dict[int, int] = {}
        for message in messages:
            partition, offset = message.partition(), message.offset()
            if message.error() is None and partition is not None and offset is not None:
                first.setdefault(partition, offset)
        for partition, offset in first.items():
            self._consumer.seek(TopicPartition(self.topic, partition, offset))

    def _seed(self) -> None:
        """Remember the event ids of the copies just before the group's committed offsets (a copy re-sent
        after them, across a restart, is then dropped)."""
        metadata = self._consumer.list_topics(self.topic, timeout=self._timeout).topics.get(self.topic)
        if metadata is None or metadata.error is not None:
            self._raise_for(metadata.error if metadata is not None else None)
            return
        committed = self._committed_offsets([TopicPartition(self.topic, p) for p in metadata.partitions])
        ends = self._log_ends.of([tp for tp in committed if tp.offset > 0], self._timeout)
        ranges = {}
        for tp in committed:
            if tp.offset > 0:
                low, _ = ends[(tp.topic, tp.partition)]
                if max(low, tp.offset - self._seen_limit) < tp.offset:
                    ranges[tp.partition] = (max(low, tp.offset - self._seen_limit), tp.offset)
        for record in read_ranges(self._consumer, self.topic, ranges, self._decode, self._timeout, self._event_type):
            self._remember(record["event_id"])

    def _committed_offsets(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The group's committed offsets; a coordinator still moving or loading (a new group on a busy broker) is
        asked again until the timeout."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return list(self._consumer.committed(partitions, timeout=self._timeout))
            except KafkaException as error:
                if not error.args[0].retriable() or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _raise_for(self, error: KafkaError | None) -> None:
        if error is None:
            raise BrokerRefused(Reason.NOT_AUTHORISED, f"topic {self.topic} does not exist or is not visible to this "
                                                       f"principal; check the topic prefix")
        if error.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
                            KafkaError.UNKNOWN_TOPIC_OR_PART):
            raise BrokerRefused(Reason.NOT_AUTHORISED, not_authorised(error, self.topic, self.group))
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            raise BrokerRefused(Reason.AUTHENTICATION, authentication_failed(error))
        log.warning("%s: %s", self.topic, error)


def read_ranges(consumer: Consumer, topic: str, ranges: dict[int, tuple[int, int]], decode: Decode,
                timeout: float, event: str | None = None) -> list[dict[str, Any]]:
    """The decoded records of `topic` in [start, end) of each partition (records that cannot be decoded left
    out, and with `event`, records of other event types), read with `consumer` assigned (not subscribed),
    which is unassigned afterwards."""
    if not ranges:
        return []
    consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in ranges.items()])
    remaining = {p: end for p, (_, end) in ranges.items()}
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout + 0.001 * sum(end - start for start, end in ranges.values())
    try:
        while remaining:
            if time.monotonic() > deadline:
                raise BrokerRefused(Reason.UNREACHABLE, f"could not read {topic} up to its end within the time "
                                                        f"allowed (partitions {sorted(remaining)} behind)")
            for message in consumer.consume(1000, timeout=0.5):
                partition, offset = message.partition(), message.offset()
                if message.error() is not None or partition not in remaining or offset is None:
                    continue
                if offset < remaining[partition]:
                    with contextlib.suppress(UndecodableRecord):
                        name, record = decode(message.value(), topic)
                        if event is None or name == event:
                            records.append(record)
                if offset + 1 >= remaining[partition]:
                    del remaining[partition]
    finally:
        consumer.unassign()
    return records


class ErrorLog:
    """librdkafka's error callback: remembers an authentication failure (raised at the next call) and the last
    other error (for a message when the broker cannot be reached)."""

    def __init__(self) -> None:
        self.fatal: KafkaError | None = None
        self.last: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            self.fatal = error
        else:
            self.last = error

    def raise_fatal(self) -> None:
        if self.fatal is not None:
            raise BrokerRefused(Reason.AUTHENTICATION, authentication_failed(self.fatal))


def authentication_failed(error: KafkaError) -> str:
    return (f"the broker refused the login: {error.str()}. Check sasl.username and sasl.password in the "
            f"credentials file (a local cluster's are in var/credentials/<principal>.properties)")


def not_authorised(error: KafkaError, topic: str, group: str | None = None) -> str:
    what = f"group {group}" if error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED else f"topic {topic}"
    return (f"the broker refused access to {what}: {error.str()}. The principal may use only its own topics and "
            f"groups; if they are its own, the ACLs of this deployment are missing (`python -m "
            f"envgrid.connectors.catalogue apply --acls` as the admin)")
