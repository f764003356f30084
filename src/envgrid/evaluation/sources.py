"""Where the records come from: case.history and case.sla on the broker (read as the `auditor` principal,
from the beginning to the end each partition had when reading began; nothing is committed), or a JSONL
export (one record a line: the record itself, or {"topic": ..., "value": record}).
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

AUDITOR = "auditor"  # config/principals.yaml: reads case.history and case.sla, writes nothing
TOPICS = ("case.history", "case.sla")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON line ({error.msg}); write one record a line") from None
            yield item["value"] if "value" in item and "topic" in item else item


def write_jsonl(records: Iterator[tuple[str, dict[str, Any]]], path: Path) -> int:
    """Records as {"topic", "value"} lines (times as ISO-8601); returns how many were written."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for topic, value in records:
            out.write(json.dumps({"topic": topic, "value": value}, ensure_ascii=False, default=_plain) + "\n")
            count += 1
    return count


def read_broker(config_file: Path | None = None, prefix: str | None = None,
                timeout: float = 60.0) -> Iterator[tuple[str, dict[str, Any]]]:
    """(topic, record) of case.history, then case.sla, up to their ends as found when reading began.

    Credentials: `config_file`, else $ENVGRID_KAFKA_CONFIG and the other variables of an external cluster, else
    the local cluster's `auditor` credentials file."""
    from confluent_kafka import Consumer, TopicPartition

    from envgrid.client.login import addresses_for
    from envgrid.connectors.catalogue import Catalogue
    from envgrid.connectors.log_ends import LogEnds
    from envgrid.connectors.serde import EventCodec, registry_client

    cluster = addresses_for(config_file if config_file is not None else local_auditor_file())
    catalogue = Catalogue.load(prefix=prefix) if prefix is not None else Catalogue.load()
    codec = EventCodec(registry_client(cluster), catalogue.event_type_of, auto_register=False)
    log_ends = LogEnds(cluster.kafka_config())
    consumer = Consumer(cluster.kafka_config({"group.id": f"{AUDITOR}-evaluation-{time.time_ns()}",
                                              "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    try:
        for name in TOPICS:
            topic = catalogue.topic(name)
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            if metadata.error is not None:
                raise RuntimeError(f"{topic}: {metadata.error} (does the principal {AUDITOR} read it?)")
            ends = {partition: high for (_topic, partition), (low, high)
                    in log_ends.of([(topic, p) for p in metadata.partitions], timeout=10).items() if high > low}
            consumer.assign([TopicPartition(topic, partition, 0) for partition in ends])
            deadline = time.monotonic() + timeout
            while ends:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic}: partitions {sorted(ends)} not read to their end in {timeout:.0f} s")
                for message in consumer.consume(500, timeout=1.0):
                    if message.error():
                        raise RuntimeError(f"{topic}: {message.error()}")
                    partition, offset = message.partition(), message.offset()
                    assert partition is not None and offset is not None
                    if offset < ends.get(partition, 0):
                        yield topic, codec.decode(message.value(), topic)[1]
                    if offset + 1 >= ends.get(partition, 0):
                        ends.pop(partition, None)
            consumer.unassign()
    finally:
        consumer.close()


def local_auditor_file() -> Path | None:
    """The local cluster's auditor credentials, when no external cluster is configured."""
    import os

    from envgrid.localcluster.addresses import BOOTSTRAP_ENV, KAFKA_CONFIG_ENV
    from envgrid.localcluster.cluster import LocalCluster

    if os.environ.get(BOOTSTRAP_ENV) or os.environ.get(KAFKA_CONFIG_ENV):
        return None
    path = LocalCluster().credentials_dir() / f"{AUDITOR}.properties"
    return path if path.is_file() else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON: {type(value).__name__}")
