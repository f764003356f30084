"""Thin connector: produce generated events to the intake topics, paced, and count them by truth.

Record values are encoded with `envgrid.connectors.serde.EventCodec` (Confluent wire format, registry schema ids);
broken input is built here from its `RawBytesSpec`. Keys follow the catalogue: complaints by event id,
patrol reports by grid code, notices by case id (the generator already sets `GeneratedEvent.key`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from envgrid.connectors.catalogue import CatalogueError
from envgrid.connectors.serde import EventCodec
from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.simulator.broken import truncate_frame
from envgrid.simulator.model import EVENT_KINDS, INVALID_AVRO, MISSING_FIELDS, GeneratedEvent, Truth

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    # the Java client's and faust's (aiokafka's) key hashing, so keyed records land where Java and faust
    # producers would put them (librdkafka's default, consistent_random, hashes keys differently)
    "partitioner": "murmur2_random",
    "linger.ms": 5,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 200_000,
}


def truth_label(truth: Truth) -> str:
    """`valid`, `duplicate` or `broken:<reason>`: the accounting class of one event."""
    if truth.broken:
        return f"broken:{truth.broken}"
    return "duplicate" if truth.duplicate_of else "valid"


@dataclass
class PublishResult:
    """Counts by `<kind>/<truth label>`, e.g. `PetitionComplaint/valid` or `PatrolReport/broken:invalid_avro`."""

    produced: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.produced.values())

    @property
    def rate(self) -> float:
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0


ProgressCallback = Callable[[int, PublishResult], None]


def make_producer(cluster: ClusterAddresses, **overrides: Any) -> Producer:
    """An idempotent producer with a short linger, for the intake topics."""
    return Producer(cluster.kafka_config({**PRODUCER_DEFAULTS, **overrides}))


class IntakeTopics:
    """Where each generated event is produced (from `envgrid.connectors.catalogue.Catalogue`): reports to
    their intake topic, a notice to the notice topic of the unit it names, as that unit's client would.
    A notice without a readable unit (the generator's broken bytes) comes from the first department's."""

    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        self.reports = {kind: catalogue.intake(kind) for kind in EVENT_KINDS if kind != "DepartmentNotice"}
        self.notices = list(catalogue.notice_topics())

    def topic_of(self, event: GeneratedEvent) -> str:
        if event.kind != "DepartmentNotice":
            return self.reports[event.kind]
        value = event.value if event.value is not None else (event.raw.value if event.raw is not None else None)
        try:
            return str(self.catalogue.input_topic(event.kind, value or {}))
        except CatalogueError:
            return self.notices[0]

    def all(self) -> list[str]:
        return [*self.reports.values(), *self.notices]


def intake_topics(catalogue: Any) -> IntakeTopics:
    return IntakeTopics(catalogue)


def record_value(codec: EventCodec, event: GeneratedEvent, topic: str) -> bytes:
    """The bytes to produce for `event`: encoded value, or the broken bytes its spec describes."""
    raw = event.raw
    if raw is None:
        assert event.value is not None, f"event {event.truth.event_id} has neither a value nor raw bytes"
        return codec.encode(event.kind, event.value, topic)
    if raw.reason == INVALID_AVRO and raw.payload is not None:
        return raw.payload
    if raw.reason == MISSING_FIELDS and raw.value is not None:
        return truncate_frame(codec.encode(raw.event_name, raw.value, topic), raw.keep_fraction)
    raise ValueError(f"event {event.truth.event_id}: cannot build bytes for raw spec {raw.reason!r}")


def publish(
    producer: Producer,
    codec: EventCodec,
    events: Iterable[GeneratedEvent],
    topics: IntakeTopics,
    *,
    rate: float | None = None,
    progress: ProgressCallback | None = None,
    progress_every: int = 1000,
    flush_timeout_s: float = 60.0,
) -> PublishResult:
    """Produce every event to `topics.topic_of(event)`, at most `rate` events/s (None: as fast as possible).

    Returns once everything is delivered (or `flush_timeout_s` passed); `failed` counts delivery errors.
    """
    result = PublishResult()
    started = time.monotonic()
    interval = 1.0 / rate if rate else 0.0

    def delivered(label: str) -> Callable[[KafkaError | None, Message], None]:
        def callback(error: KafkaError | None, message: Message) -> None:
            if error is None:
                result.delivered[label] += 1
            else:
                result.failed[label] += 1
                if len(result.errors) < 20:
                    result.errors.append(f"{message.topic()}: {error}")
        return callback

    callbacks: dict[str, Callable[[KafkaError | None, Message], None]] = {}
    for count, event in enumerate(events, start=1):
        if interval:
            wait = started + (count - 1) * interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        topic = topics.topic_of(event)
        label = f"{event.kind}/{truth_label(event.truth)}"
        callback = callbacks.get(label) or callbacks.setdefault(label, delivered(label))
        value = record_value(codec, event, topic)
        while True:
            try:
                producer.produce(topic, value=value, key=event.key.encode("utf-8"), on_delivery=callback)
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.05)
        producer.poll(0)
        result.produced[label] += 1
        if progress is not None and count % progress_every == 0:
            result.elapsed_s = time.monotonic() - started
            progress(count, result)
    remaining = producer.flush(flush_timeout_s)
    if remaining:
        result.errors.append(f"{remaining} record(s) still undelivered after {flush_timeout_s} s")
    result.elapsed_s = time.monotonic() - started
    if progress is not None:
        progress(result.total, result)
    return result
