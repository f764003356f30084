"""The audit on the real broker: generated traffic through the real worker, then `python -m envgrid.audit` as a
subprocess with the auditor's credentials (principal `auditor` on the local secured cluster). Its timelines match
case.history case by case, every chain verifies and every recorded decision is reproduced; on a copy of case.history
with one entry altered and another deleted it names the case and revision of each break."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish
from envgrid.streams.held_notices import HELD_NOTICE_WAIT
from tests.integration.pipeline_process import (
    WorkerProcess,
    grant_units,
    prepare,
    read_all,
    send_ticks,
    wait_until_drained,
)

EVENTS = 200
CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.6, "PatrolReport": 0.2, "DepartmentNotice": 0.2},
                         broken_share=0.01, duplicate_share=0.05)
REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def test_the_audit_replays_the_history_and_names_each_break_of_a_tampered_copy(cluster, unique_name, tmp_path):
    prefix = unique_name("audit")
    catalogue, codec = prepare(cluster, prefix)
    grant_units(prefix)  # the auditor reads this prefix's history, feedback, SLA and intake topics
    events = list(generate(seed=41, count=EVENTS, config=CONFIG))
    producer = make_producer(cluster)
    worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
    try:
        result = publish(producer, codec, events, intake_topics(catalogue), flush_timeout_s=300)
        assert not result.failed and not result.errors
        _settle(worker, cluster, catalogue, producer, codec, prefix, events)
    finally:
        worker.stop()
    history_topic = catalogue.topic("case.history")
    history = _by_case([value for _k, _e, value, _r in read_all(cluster, codec, [history_topic])[history_topic]])
    assert len(history) > 50

    audited, code = _audit(cluster, prefix, "--json")
    assert code == 0, audited
    report = json.loads(audited)
    assert {c["case_id"] for c in report["cases"]} == set(history)
    assert report["read"]["history_records"] == sum(len(v) for v in history.values())
    for case in report["cases"]:
        assert case["chain"] == {"intact": True, "redelivered": case["chain"]["redelivered"], "breaks": []}
        rows = [(r["revision"], r["event"]) for r in case["timeline"] if r["source"] == "history"]
        assert rows == [(v["revision"], v["kind"]) for v in _unique(history[case["case_id"]])], case["case_id"]
        assert case["decision"] is not None and case["decision"]["rule_id"] and case["source_event_id"]
    with_feedback = [c for c in report["cases"] if any(r["source"] == "feedback" for r in c["timeline"])]
    assert with_feedback and any(r["source"] == "sla" for c in report["cases"] for r in c["timeline"])

    grid = history[next(iter(history))][0]["case"]["grid_chain"][-2]  # a level-2 grid with cases
    expected = {c for c, values in history.items() if any(grid in (v["case"] or {}).get("grid_chain", ()) for v in values)}
    since = (datetime.now(UTC) - timedelta(hours=6)).isoformat()
    windowed, code = _audit(cluster, prefix, "--grid", grid, "--since", since, "--json")
    assert code == 0 and {c["case_id"] for c in json.loads(windowed)["cases"]} == expected, windowed[-2000:]
    before, code = _audit(cluster, prefix, "--until", "2001-01-01T00:00:00+08:00", "--json")
    assert code == 0 and json.loads(before)["read"]["history_records"] == 0  # offsets_for_times: nothing that early

    one = max(history, key=lambda c: len(history[c]))
    table, code = _audit(cluster, prefix, "--case", one, "--redecide", "--width", "200")
    assert code == 0, table
    assert f"case {one}" in table and "chain intact" in table and "records/s" in table
    assert "re-decided under as recorded (versions in force then): 1 reports, 0 route differently" in table

    copy_prefix = unique_name("tampered")
    copy_catalogue, _ = prepare(cluster, copy_prefix)
    grant_units(copy_prefix)
    altered_case, deleted_case = [c for c in sorted(history, key=lambda c: -len(_unique(history[c])))][:2]
    altered, deleted = _unique(history[altered_case])[1], _unique(history[deleted_case])[1]
    _copy(cluster, codec, history_topic, copy_catalogue.topic("case.history"), altered["event_id"], deleted["event_id"])
    output, code = _audit(cluster, copy_prefix, "--json")
    assert code == 1, output
    breaks = {c["case_id"]: c["chain"]["breaks"] for c in json.loads(output)["cases"] if c["chain"]["breaks"]}
    assert set(breaks) == {altered_case, deleted_case}, breaks
    assert f"({altered['event_id']}, revision {altered['revision']})" in breaks[altered_case][0]["problem"]
    after_deleted = _unique(history[deleted_case])[2]
    assert (breaks[deleted_case][0]["event_id"], breaks[deleted_case][0]["revision"]) == (
        after_deleted["event_id"], after_deleted["revision"])
    csv_out, code = _audit(cluster, copy_prefix, "--csv")
    assert code == 1 and csv_out.count(",break,") == sum(len(b) for b in breaks.values())
    print(f"\naudit: {len(history)} cases intact, {report['read']['records_per_second']:,.0f} history records/s; "
          f"tampered copy: breaks named in {sorted(breaks)}")


def _audit(cluster, prefix: str, *args: str) -> tuple[str, int]:
    """`python -m envgrid.audit` as the auditor (on the local secured cluster; else as the session's principal): its
    standard output, which is what a user pipes into another tool (JSON, CSV, the table), and its exit code."""
    env = _auditor(cluster).child_env(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-m", "envgrid.audit", "--topic-prefix", prefix, *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    sys.stderr.write(done.stderr)  # librdkafka's own log lines (a closing client's SASL notes): shown on failure
    return done.stdout, done.returncode


def _auditor(cluster):
    from envgrid.localcluster.cluster import LocalCluster

    local = LocalCluster()
    if local.status().get("security") != "sasl":
        return cluster
    return local.addresses("auditor") or cluster


def _copy(cluster, codec, source: str, target: str, alter: str, drop: str) -> None:
    """Every record of `source` to the same partition of `target`, with entry `alter`'s reason edited (and encoded
    again) and entry `drop` left out."""
    consumer = Consumer(cluster.kafka_config({"group.id": f"copy-{target}", "enable.auto.commit": False}))
    partitions = consumer.list_topics(source, timeout=10).topics[source].partitions
    producer = make_producer(cluster)
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(source, partition), timeout=10)
        consumer.assign([TopicPartition(source, partition, low)])
        position = low
        while position < high:
            for message in consumer.consume(1000, 0.5):
                position = message.offset() + 1
                _, value = codec.decode(message.value(), source)
                if value["event_id"] == drop:
                    continue
                data = message.value()
                if value["event_id"] == alter:
                    data = codec.encode("CaseLifecycleEvent", dict(value, reason=value["reason"] + " (edited)"), target)
                producer.produce(target, data, message.key(), partition=partition)
    consumer.close()
    assert producer.flush(60) == 0


def _by_case(values: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for value in values:
        grouped[value["case_id"]].append(value)
    return grouped


def _unique(values: list[dict]) -> list[dict]:
    """Entries once each (a worker re-sends what it had not committed)."""
    return list({v["event_id"]: v for v in values}.values())


def _settle(worker, cluster, catalogue, producer, codec, prefix, events) -> None:
    """Let the worker apply everything, then move the manual clock 40 days on (SLA warnings and breaches fire)
    and let it apply that too."""
    complaints = catalogue.intake("PetitionComplaint")
    inputs = [complaints, *sorted({intake_topics(catalogue).topic_of(e) for e in events} - {complaints}),
              catalogue.topic("internal.located"), catalogue.topic("internal.case-commands")]
    worker.wait_for(lambda: worker.consumed(complaints) > 0, 300, "the worker to consume")
    wait_until_drained(worker, cluster, prefix, catalogue, inputs)
    last = max(e.value["received_at"] for e in events if e.value)
    for days in (1, 5, 40):
        send_ticks(producer, codec, catalogue, last + HELD_NOTICE_WAIT + timedelta(days=days))
    wait_until_drained(worker, cluster, prefix, catalogue, [*inputs, catalogue.topic("internal.sla-ticks")])

