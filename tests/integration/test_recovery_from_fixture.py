"""A worker of this release recovers its tables from the checked-in changelog fixture (written by a real
worker of state format 1; see tests/integration/changelog_fixture.py) and carries on where it stopped.

The fixture's records go into a fresh app's changelog topics, each on its own partition; the worker starts
with an empty state directory, so everything it knows comes from those records. Then, read back from the
topics as any unit would:
- case B, transferred to water before the capture, is acknowledged by water: the history continues at
  the next revision (case files);
- a repeat of case B's complaint merges into case B (the router's duplicate index);
- case C's complaint arrives: its notice, held since the capture, is applied (held notices);
- the wrong unit's notice, refused before the capture, is refused again with the same reason (remembered
  refusals);
- a tick months later breaches case A's resolve deadline (timers, deadline schedule and tick cursors).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from envgrid.domain.case_ids import case_id_for
from tests.integration.changelog_fixture import TABLES, A, C, complaint, load_facts, load_records, notice
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _load_changelogs(cluster: Any, app_id: str, partitions: int) -> int:
    admin = AdminClient(cluster.kafka_config())
    topics = [NewTopic(f"{app_id}-{table}-changelog", partitions, 1, config={"cleanup.policy": "compact"})
              for table in TABLES]
    for future in admin.create_topics(topics).values():
        future.result(60)
    producer = Producer(cluster.kafka_config({"enable.idempotence": True}))
    records = load_records()
    for record in records:
        assert record.partition < partitions, "the fixture was captured with more partitions than the catalogue has"
        producer.produce(f"{app_id}-{record.table}-changelog", record.value, record.key, partition=record.partition)
    assert producer.flush(60) == 0
    return len(records)


def test_a_worker_recovers_from_the_checked_in_changelog_and_carries_on(cluster, tmp_path):
    facts = load_facts()
    prefix = f"it.recover.{int(time.time())}"
    catalogue, codec = prepare(cluster, prefix)
    partitions = catalogue.spec(catalogue.topic("internal.case-commands")).partitions
    assert _load_changelogs(cluster, prefix, partitions) == len(load_records())
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    history, sla, deadletters = (catalogue.topic(name) for name in ("case.history", "case.sla", "deadletter"))
    cases = facts["cases"]

    def publish(event_name: str, value: dict[str, Any], key: str) -> None:
        topic = catalogue.input_topic(event_name, value)
        producer.produce(topic, codec.encode(event_name, value, topic), key.encode())
        assert producer.flush(30) == 0

    def read(topic: str) -> list[dict[str, Any]]:
        return [v for _, _, v, _ in read_all(cluster, codec, [topic]).get(topic, [])]

    def history_of(name: str) -> list[dict[str, Any]]:
        return [v for v in read(history) if v["case_id"] == cases[name]]

    worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
    try:
        b = complaint(2)
        publish("DepartmentNotice", notice(b, 30, "ACKNOWLEDGE", facts["lead_after_transfer"]), cases["B"])
        worker.wait_for(lambda: any(v["kind"] == "acknowledged" for v in history_of("B")), 240, "B acknowledged")
        [acknowledged] = [v for v in history_of("B") if v["kind"] == "acknowledged"]
        assert acknowledged["revision"] == facts["revisions"]["B"] + 1  # the history goes on, no gap, no restart

        # B is the zone's latest incident (B, 30 days after A, made the index forget A); before C, which
        # would make it forget B in turn
        repeat = dict(b, event_id="00000000-0000-4000-f000-00000000b001",
                      occurred_at=b["occurred_at"] + timedelta(hours=2), received_at=b["received_at"] + timedelta(hours=2))
        publish("PetitionComplaint", repeat, repeat["event_id"])
        worker.wait_for(lambda: any(v["kind"] == "merged" for v in history_of("B")), 120, "the repeat merged into B")
        assert case_id_for(repeat["event_id"]) not in {v["case_id"] for v in read(history)}  # no case of its own

        publish("PetitionComplaint", C, C["event_id"])
        worker.wait_for(lambda: any(v["cause_event_id"] == facts["held_notice"] for v in history_of("C")), 120,
                        "C opened and its held notice applied")
        assert [v["kind"] for v in history_of("C") if v["cause_event_id"] == facts["held_notice"]] == ["acknowledged"]

        refused_again = notice(A, 20, "ACKNOWLEDGE", "transport")
        assert refused_again["event_id"] == facts["refused_notice"]
        publish("DepartmentNotice", refused_again, cases["A"])
        worker.wait_for(lambda: sum(v["reason_code"] == "not_assigned" for v in read(deadletters)) >= 1, 120,
                        "the remembered refusal dead-lettered again")

        send_ticks(producer, codec, catalogue, A["received_at"] + timedelta(days=150))
        worker.wait_for(lambda: any(v["case_id"] == cases["A"] and v["kind"] == "BREACH" for v in read(sla)), 120,
                        "A's resolve deadline breached")
    finally:
        worker.stop()
    assert not [v for v in read(deadletters) if v["reason_code"] != "not_assigned"]
