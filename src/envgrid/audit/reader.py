"""The Kafka edge of the audit: read a topic between two record times, found with `offsets_for_times` (never
by scanning from the beginning), keeping the records whose key is wanted before any is decoded.

Selecting a window is cheap: the broker's time index answers `offsets_for_times` per partition, and the read
stops at the window's end. Selecting a grid or department is not an index lookup: case.history is keyed by
case id, so the records of one district's year are read as the year's window of every case and kept after
decoding (their case snapshot names the grid chain and departments). A year of one district thus costs a
read of that year, not of all history; an index by grid (a header on each history record, or a compacted
topic grid -> case ids) would cut it to the district's share, and is left for when the window read is too slow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

from envgrid.connectors.log_ends import LogEnds

BATCH = 5_000  # records per consume() call
POLL_S = 0.2  # how long one consume() call waits
Decode = Callable[[bytes | None, str], tuple[str, dict[str, Any]]]
BodyOf = Callable[[bytes | None, str], bytes | None]


@dataclass(frozen=True)
class Read:
    """One decoded record with where it was read."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    event: str  # the event type, as decoded
    value: dict[str, Any]
    body: bytes | None = None  # the Avro body as written, when `read` was asked for it (`body_of`)


@dataclass(frozen=True)
class Window:
    """Record times (epoch milliseconds), start inclusive, end exclusive; None: the topic's start or end."""

    start_ms: int | None = None
    end_ms: int | None = None


@dataclass
class Scanned:
    """How many records a read went through (decoded or not)."""

    records: int = 0


def read(consumer: Consumer, topic: str, window: Window, decode: Decode,
         keys: frozenset[str] | None = None, timeout: float = 10.0, scanned: Scanned | None = None, *,
         ends: LogEnds, body_of: BodyOf | None = None) -> Iterator[Read]:
    """The records of `topic` in `window`, in offset order within each partition (the partitions read together,
    interleaved); only those with a key in `keys` when given (compared on the raw bytes, so the others are never
    decoded; `scanned` counts all). TimeoutError when the broker sends nothing for `timeout` seconds before the window's end.
    `ends` tells where each partition's log starts and ends (envgrid.connectors.log_ends); `body_of` gives a
    decoded record's body as written, or None (`Read.body`)."""
    active = {p: span for p, span in _ranges(consumer, ends, topic, window, timeout).items() if span[0] < span[1]}
    if not active:
        return
    wanted = None if keys is None else frozenset(key.encode("utf-8") for key in keys)
    consumer.assign([TopicPartition(topic, partition, start) for partition, (start, _) in active.items()])
    idle_since = time.monotonic()
    while active:
        batch = consumer.consume(BATCH, POLL_S)  # short: consume() waits for a full batch until its timeout
        if not batch:
            for partition in [p for p, (_, end) in active.items() if _position(consumer, topic, p) >= end]:
                del active[partition]  # the offsets left were transaction markers, which are never delivered
            if active and time.monotonic() - idle_since > timeout:
                raise TimeoutError(f"{topic}: nothing read for {timeout} s before the window's end "
                                   f"(partitions {sorted(active)})")
            continue
        idle_since = time.monotonic()
        for message in batch:
            partition = message.partition() or 0
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:  # with enable.partition.eof: nothing more to come
                    active.pop(partition, None)
                    continue
                raise KafkaException(error)
            span = active.get(partition)
            offset = message.offset() or 0  # a record (not an error) always has one
            if span is None or offset >= span[1]:
                active.pop(partition, None)
                continue
            if offset + 1 >= span[1]:
                del active[partition]
            if scanned is not None:
                scanned.records += 1
            key = message.key()
            if wanted is not None and key not in wanted:
                continue
            timestamp = message.timestamp()[1]
            if window.end_ms is not None and timestamp >= window.end_ms:
                continue  # a producer's out-of-order timestamp inside the offset range
            event, value = decode(message.value(), topic)
            body = body_of(message.value(), topic) if body_of is not None else None
            yield Read(topic, partition, offset, timestamp, key.decode("utf-8") if key else None, event, value, body)
    consumer.unassign()


def _position(consumer: Consumer, topic: str, partition: int) -> int:
    return int(consumer.position([TopicPartition(topic, partition)])[0].offset)


def _ranges(consumer: Consumer, ends: LogEnds, topic: str, window: Window, timeout: float) -> dict[int, tuple[int, int]]:
    """partition -> [first offset, end offset) of the window."""
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise LookupError(f"topic {topic} is not readable: {metadata.error if metadata else 'not found'}")
    ranges = {}
    log_ends = ends.of([(topic, partition) for partition in metadata.partitions], timeout)
    for partition in metadata.partitions:
        low, high = log_ends[(topic, partition)]
        start = _offset_at(consumer, topic, partition, window.start_ms, low, high, timeout)
        end = _offset_at(consumer, topic, partition, window.end_ms, high, high, timeout)
        ranges[partition] = (max(start, low), min(end, high))
    return ranges


def _offset_at(consumer: Consumer, topic: str, partition: int, at_ms: int | None, default: int, high: int,
               timeout: float) -> int:
    if at_ms is None:
        return default
    found = consumer.offsets_for_times([TopicPartition(topic, partition, at_ms)], timeout=timeout)[0]
    return high if found.offset in (OFFSET_END, -1) else int(found.offset)
