"""The case store's sink against a plain COPY of the same rows, in the same run, on the local broker and PostgreSQL.

`python -m bench.case_store_bench [--events 600] [--copies 20] [--batch 5000]`. The records are real pipeline
output: generated traffic through the in-memory pipeline (the worker's composition), the simulated departments
answering, the clock moved on so deadlines fire; their case.history, case.feedback and case.sla records are
repeated `--copies` times under other case ids, encoded through the registry and produced to a fresh topic
prefix. Then, each into a fresh database of the same schema:

- sink: the sink's loop (`Sink`, the code `python -m envgrid.connectors.case_store run` runs), timed over the steps
  that stored records (not the wait for the group's first assignment): consume, decode, map, COPY into staging,
  upsert, commit offsets;
- store only: the same records already decoded in memory, mapped and written in batches of `--batch` (no Kafka);
- plain COPY: the rows the store ends up holding, COPYed straight into its tables in one transaction (no
  staging, no conflict handling, no Kafka) — the most PostgreSQL takes in.

Rows are the rows the store holds at the end (every table); each figure is those rows over its time.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any

import psycopg
from confluent_kafka import Consumer
from psycopg.conninfo import make_conninfo

from envgrid.connectors.case_store.rows import COLUMNS, Batch
from envgrid.connectors.case_store.sink import Sink, SinkTopics
from envgrid.connectors.case_store.store import TABLES, CaseStore, connect, copy_rows
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.connectors.settings import ensure_case_store, ensure_cluster
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import make_producer
from tests.integration.pipeline_process import prepare
from tests.unit.pipeline.harness import FEEDBACK, HISTORY, SLA, InMemoryPipeline

CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.2, "DepartmentNotice": 0.1})
LOGICAL = {HISTORY: "case.history", FEEDBACK: "case.feedback", SLA: "case.sla"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=600, help="generated events through the in-memory pipeline")
    parser.add_argument("--copies", type=int, default=20, help="times its output is repeated under other case ids")
    parser.add_argument("--batch", type=int, default=5000, help="records per sink transaction")
    args = parser.parse_args(argv)
    records = _records(args.events, args.copies)
    cluster, admin_dsn = ensure_cluster(), ensure_case_store()
    stamp = time.strftime("%H%M%S")
    prefix = f"benchstore{stamp}"
    catalogue, codec = prepare(cluster, prefix)
    topics = SinkTopics.of(catalogue)
    _produce(cluster, codec, catalogue, records)

    sink_dsn = _database(admin_dsn, f"bench_sink_{stamp}")
    consumer = Consumer(cluster.kafka_config({"group.id": f"{prefix}-sink", "enable.auto.commit": False,
                                              "auto.offset.reset": "earliest"}))
    reader = EventCodec(registry_client(cluster), catalogue.event_type_of, auto_register=False)
    sink = Sink(consumer, reader.decode, lambda: CaseStore(connect(sink_dsn, autocommit=True)), topics, args.batch)
    consumer.subscribe(topics.all)
    sink_s = 0.0  # the steps that stored records: not the wait for the group's first assignment
    while sink.progress.records < len(records):
        started = time.perf_counter()
        if sink.step():
            sink_s += time.perf_counter() - started
    consumer.close()
    held = _rows(sink_dsn)

    memory_dsn = _database(admin_dsn, f"bench_memory_{stamp}")
    store = CaseStore(connect(memory_dsn, autocommit=True))
    add = {HISTORY: Batch.add_history, FEEDBACK: Batch.add_feedback, SLA: Batch.add_sla}
    started = time.perf_counter()
    for start in range(0, len(records), args.batch):
        batch = Batch()
        for topic, value in records[start:start + args.batch]:
            add[topic](batch, value)
        store.write(batch)
    memory_s = time.perf_counter() - started

    whole = Batch()
    for topic, value in records:
        add[topic](whole, value)
    copy_dsn = _database(admin_dsn, f"bench_copy_{stamp}")
    with connect(copy_dsn) as conn:
        CaseStore(conn)  # the schema
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            for table in TABLES:
                copy_rows(cur, psycopg.sql.Identifier("case_store", table), COLUMNS[table], whole.table(table))
        copy_s = time.perf_counter() - started
    assert _rows(copy_dsn) == _rows(memory_dsn) == held, "the three stores differ"

    copy_rate = held / copy_s
    print(f"case store: {len(records):,} records ({args.events:,} generated events' case.history, case.feedback and "
          f"case.sla ×{args.copies}) -> {held:,} rows in {len(TABLES)} tables; one broker, PostgreSQL "
          f"{_version(copy_dsn)}, 2 shared cores")
    print(f"  sink (consume, decode, map, COPY to staging, upsert, commit; batches of {args.batch:,}): "
          f"{held / sink_s:,.0f} rows/s ({len(records) / sink_s:,.0f} records/s)")
    print(f"  store only (the same records in memory, mapped and upserted): {held / memory_s:,.0f} rows/s")
    print(f"  plain COPY of the same rows into empty tables: {copy_rate:,.0f} rows/s")
    print(f"  sink / plain COPY: {held / sink_s / copy_rate:.2f}; store only / plain COPY: "
          f"{held / memory_s / copy_rate:.2f}")


def _records(events: int, copies: int) -> list[tuple[str, dict[str, Any]]]:
    """The case topics' records of generated traffic through the in-memory pipeline, `copies` times."""
    pipeline = InMemoryPipeline()
    generated = list(generate(17, events, CONFIG))
    pipeline.answered(generated, 4)
    last = max(event.value["occurred_at"] for event in generated if event.value)
    for days in (1, 3, 10, 40):
        pipeline.tick(last + timedelta(days=days))
    once = [(output.topic, output.value) for output in pipeline.sent if output.topic in LOGICAL]
    return [(topic, _renamed(value, copy)) for copy in range(copies) for topic, value in once]


def _renamed(value: dict[str, Any], copy: int) -> dict[str, Any]:
    if copy == 0:
        return value
    case_id = value["case_id"]
    other = f"{case_id[:-3]}{copy:03X}"
    return dict(value, case_id=other, event_id=value["event_id"].replace(case_id, other))


def _produce(cluster, codec, catalogue, records) -> None:
    producer = make_producer(cluster, **{"linger.ms": 20})
    for topic, value in records:
        target = catalogue.topic(LOGICAL[topic])
        event = {"case.history": "CaseLifecycleEvent", "case.feedback": "CaseFeedback", "case.sla": "SlaEvent"}[LOGICAL[topic]]
        while True:
            try:
                producer.produce(target, codec.encode(event, value, target), value["case_id"].encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(120) == 0


def _database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(admin_dsn, dbname=name)


def _rows(dsn: str) -> int:
    with connect(dsn) as conn:
        return sum(CaseStore(conn, apply_migrations=False).counts().values())


def _version(dsn: str) -> str:
    with connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else "?"


if __name__ == "__main__":
    main()
