"""The audit's read of case.history against plain confluent-kafka reads of the same topic, in the same run.

`python -m bench.audit_bench [--events 600] [--copies 20]`. The records are real pipeline output: generated
traffic through the in-memory pipeline (the worker's composition), the simulated departments answering, the
clock moved on; its case.history is repeated `--copies` times under other case ids (each copy's hash chain
linked again, so every case verifies), encoded through the registry and produced to a fresh topic prefix. Then:

- audit: `envgrid.audit.run.audit` over the whole topic (every case): read, decode, group by case, verify each
  chain and build each timeline (its case.feedback and case.sla topics are empty here);
- plain decode: a confluent-kafka DeserializingConsumer with confluent's AvroDeserializer reading the same records;
- plain bytes: a confluent-kafka Consumer reading the same records' bytes, decoding nothing.

Each rate is the topic's records over that read's time (assigned partitions from the start to the end offsets,
no group wait). Prints a table with the audit's ratio to each.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any

from confluent_kafka import Consumer, DeserializingConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from envgrid.audit.reader import Window
from envgrid.audit.run import Selection, Topics, audit, chain_bodies
from envgrid.connectors import history_chain
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.serde import EventCodec, avro_deserializer, registry_client
from envgrid.connectors.settings import ensure_cluster
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import make_producer
from tests.integration.pipeline_process import prepare
from tests.unit.pipeline.harness import HISTORY, InMemoryPipeline

CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.2, "DepartmentNotice": 0.1})


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=600, help="generated events through the in-memory pipeline")
    parser.add_argument("--copies", type=int, default=20, help="times its history is repeated under other case ids")
    args = parser.parse_args(argv)
    records = history_records(args.events, args.copies)
    cluster = ensure_cluster()
    prefix = f"benchaudit{time.strftime('%H%M%S')}"
    catalogue, codec = prepare(cluster, prefix)
    topic = catalogue.topic("case.history")
    produce(cluster, codec, topic, records)

    reader = EventCodec(registry_client(cluster), catalogue.event_type_of, auto_register=False)
    topics = Topics(topic, catalogue.topic("case.feedback"), catalogue.topic("case.sla"), ())
    consumer = Consumer(cluster.kafka_config({"group.id": f"auditor-{prefix}", "enable.auto.commit": False,
                                              "enable.partition.eof": True}))
    started = time.perf_counter()
    report = audit(consumer, reader.decode, topics, Selection(window=Window()), ends=LogEnds(cluster.kafka_config()),
                   chain_body=chain_bodies(reader))
    audit_s = time.perf_counter() - started
    consumer.close()
    assert report.history_read == len(records) and report.breaks == 0, (report.history_read, report.breaks)

    plain_bytes_s = _plain(Consumer(cluster.kafka_config({"group.id": f"{prefix}-bytes"})), topic, len(records))
    deserializing = DeserializingConsumer(cluster.kafka_config({
        "group.id": f"{prefix}-decode", "value.deserializer": avro_deserializer(registry_client(cluster))}))
    plain_decode_s = _plain(deserializing, topic, len(records))

    rates = {"audit": len(records) / audit_s, "audit read+decode": report.history_rate,
             "plain decode": len(records) / plain_decode_s, "plain bytes": len(records) / plain_bytes_s}
    table = Table(title=f"audit read of case.history: {len(records):,} records, {len(report.cases):,} cases "
                        f"({args.events:,} generated events ×{args.copies}); one local broker, shared cores",
                  title_justify="left")
    for column in ("read", "records/s", "audit / this"):
        table.add_column(column, justify="right" if column != "read" else "left")
    table.add_row("audit (read, decode, verify chains, build timelines)", f"{rates['audit']:,.0f}", "1.00")
    table.add_row("  of which read + decode", f"{rates['audit read+decode']:,.0f}", "")
    table.add_row("plain confluent-kafka + AvroDeserializer", f"{rates['plain decode']:,.0f}",
                  f"{rates['audit'] / rates['plain decode']:.2f}")
    table.add_row("plain confluent-kafka, bytes only", f"{rates['plain bytes']:,.0f}",
                  f"{rates['audit'] / rates['plain bytes']:.2f}")
    Console(width=120).print(table)
    return rates


def history_records(events: int, copies: int) -> list[dict[str, Any]]:
    """case.history of generated traffic through the in-memory pipeline, `copies` times, each copy re-linked."""
    pipeline = InMemoryPipeline()
    generated = list(generate(17, events, CONFIG))
    pipeline.answered(generated, 4)
    last = max(event.value["occurred_at"] for event in generated if event.value)
    for days in (1, 3, 10, 40):
        pipeline.tick(last + timedelta(days=days))
    once = [output.value for output in pipeline.sent if output.topic == HISTORY]
    records = []
    for copy in range(copies):
        last_hash: dict[str, str | None] = {}
        sent: dict[str, dict[str, Any]] = {}
        for value in once:
            renamed = _renamed(value, copy)
            if renamed["event_id"] in sent:  # a re-delivery in the traffic: the same record again
                records.append(sent[renamed["event_id"]])
                continue
            last_hash[renamed["case_id"]] = history_chain.link(renamed, last_hash.get(renamed["case_id"]))
            sent[renamed["event_id"]] = renamed
            records.append(renamed)
    return records


def produce(cluster, codec: EventCodec, topic: str, records: list[dict[str, Any]]) -> None:
    producer = make_producer(cluster, **{"linger.ms": 20})
    for value in records:
        while True:
            try:
                producer.produce(topic, codec.encode("CaseLifecycleEvent", value, topic), value["case_id"].encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(120) == 0


def _plain(consumer: Consumer | DeserializingConsumer, topic: str, expected: int) -> float:
    """Seconds to read `topic` whole from its assigned partitions' starts."""
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    started = time.perf_counter()
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    read, done = 0, {p for p, end in ends.items() if end == 0}
    while len(done) < len(partitions):
        if isinstance(consumer, DeserializingConsumer):
            message = consumer.poll(0.2)
            batch = [message] if message is not None else []
        else:
            batch = consumer.consume(5000, 0.2)  # short, as the audit's: it waits for a full batch
        for message in batch:
            if message.error():
                continue
            read += 1
            if message.offset() + 1 >= ends[message.partition()]:
                done.add(message.partition())
    seconds = time.perf_counter() - started
    consumer.close()
    assert read == expected, (read, expected)
    return seconds


def _renamed(value: dict[str, Any], copy: int) -> dict[str, Any]:
    case_id = value["case_id"]
    other = f"{case_id[:-3]}{copy:03X}"
    details = {k: v.replace(case_id, other) for k, v in value["details"].items()}
    return dict(value, case_id=other, event_id=value["event_id"].replace(case_id, other), details=details)


if __name__ == "__main__":
    main()
