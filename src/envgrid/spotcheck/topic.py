"""The draws on the broker: publish to every partition of internal.spot-check-draws (as the calendar is, so each
partition's case desk opens the tasks that live there), and read them back (one partition holds every draw)."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.serde import EventCodec, UndecodableRecord, registry_client
from envgrid.connectors.settings import running_cluster

READ_TIMEOUT_S = 30.0


def publish(records: list[dict[str, Any]], producer: Producer, codec: EventCodec, catalogue: Catalogue) -> int:
    """Send each SpotCheckDrawn to every partition of the draws topic, keyed by draw id; the partitions."""
    topic = catalogue.topic("internal.spot-check-draws")
    partitions = catalogue.spec(topic).partitions
    for record in records:
        value = codec.encode("SpotCheckDrawn", record, topic)
        for partition in range(partitions):
            producer.produce(topic, value, record["event_id"].encode(), partition=partition)
    if producer.flush(60) != 0:
        raise RuntimeError(f"{topic}: not every copy of the draws was acknowledged within 60 s")
    return partitions


def read(consumer: Consumer, codec: EventCodec, catalogue: Catalogue, ends: LogEnds) -> list[dict[str, Any]]:
    """Every draw published so far, in publication order (partition 0 of the draws topic holds a copy of each),
    read with `consumer` assigned (never subscribed); `ends` tells where partition 0 starts and ends."""
    topic = catalogue.topic("internal.spot-check-draws")
    low, high = ends.one(topic, 0, timeout=10)
    records: dict[str, dict[str, Any]] = {}
    if high <= low:
        return []
    consumer.assign([TopicPartition(topic, 0, low)])
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=0.5):
                if message.error() is not None:
                    continue
                try:
                    _, record = codec.decode(message.value(), topic)
                except UndecodableRecord:
                    continue
                records.setdefault(record["event_id"], record)
                if (message.offset() or 0) + 1 >= high:
                    return list(records.values())
    finally:
        consumer.unassign()
    raise RuntimeError(f"{topic}: could not read partition 0 up to offset {high} within {READ_TIMEOUT_S:.0f} s")


def publish_draws(records: list[dict[str, Any]], prefix: str | None) -> str:
    """`publish` on the running cluster (ENVGRID_* settings): what the command does."""
    addresses = running_cluster()
    catalogue = Catalogue.load(prefix=prefix)
    codec = EventCodec(registry_client(addresses), catalogue.event_type_of, auto_register=True)
    producer = Producer(addresses.kafka_config({"enable.idempotence": True}))
    partitions = publish(records, producer, codec, catalogue)
    return f"{partitions} partitions of {catalogue.topic('internal.spot-check-draws')}"


def read_draws(prefix: str | None) -> list[dict[str, Any]]:
    """`read` on the running cluster."""
    addresses = running_cluster()
    catalogue = Catalogue.load(prefix=prefix)
    codec = EventCodec(registry_client(addresses), catalogue.event_type_of, auto_register=False)
    consumer = Consumer(addresses.kafka_config({"group.id": "ops-spotcheck-reader", "enable.auto.commit": False}))
    try:
        return read(consumer, codec, catalogue, LogEnds(addresses.kafka_config()))
    finally:
        consumer.close()
