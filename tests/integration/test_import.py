"""The batch importer (issue 11, part 2) against the real secured broker and registry, as a user runs it.

A 100,000-row 12345 export (GB18030, the layout of config/import/wenzhou-12345.yaml, 3 % deliberately bad rows)
is imported with `python -m envgrid.connectors.importer` as the intake-gateway principal; the process is
SIGKILLed once its checkpoint has passed 30 %, and the same command resumes it. Read back with a plain consumer:
every valid row's event id is on the intake topic, a record twice only as an identical re-send of the tail that
was not acknowledged at the kill; every bad row is in the rejected-rows report once, with its reason; read = sent +
rejected. Importing the file again sends nothing (the checkpoint says it is done).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from envgrid import paths
from envgrid.connectors.importer.convert import event_id_for
from envgrid.connectors.importer.rejected import read_report
from envgrid.simulator.hotline_export import export_rows, write_csv
from tests.integration.pipeline_process import REPO, grant_units, prepare, read_raw

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROWS = 100_000
MAPPING = paths.CONFIG_DIR / "import" / "wenzhou-12345.yaml"
KILL_AFTER = 0.3


def test_a_killed_import_resumes_and_every_row_is_accounted_for_once(cluster, tmp_path):
    prefix = f"it.import.{int(time.time())}"
    catalogue, codec = prepare(cluster, prefix)
    grant_units(prefix)  # the intake-gateway may write this prefix's intake topics
    topic = catalogue.intake("PetitionComplaint")
    rows = list(export_rows(seed=11, count=ROWS, bad_share=0.03))
    export = tmp_path / "12345工单-2018-2021.csv"
    write_csv(export, rows, encoding="gb18030")
    checkpoint, rejected = tmp_path / "import.checkpoint.json", tmp_path / "rejected.csv"
    command = [sys.executable, "-m", "envgrid.connectors.importer", str(export), "--mapping", str(MAPPING),
               "--rate", "8000/s", "--checkpoint", str(checkpoint), "--rejected", str(rejected), "--prefix", prefix]
    env = _gateway_env(cluster)

    first = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    killed_at = _kill_when_past(first, checkpoint, int(ROWS * KILL_AFTER))
    assert killed_at is not None, f"the import ended before its checkpoint passed {KILL_AFTER:.0%}: " \
                                  f"{first.stdout.read().decode() if first.stdout else ''}"
    time.sleep(2)  # produce requests the killed process had already written to its socket land meanwhile
    ends_at_kill = _end_offsets(cluster, topic)

    resumed = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    summary = _summary(resumed.stdout)
    print(f"\nkilled with the checkpoint at row {killed_at:,} ({sum(ends_at_kill.values()):,} records on the topic); "
          f"resumed: {summary['rows_per_s']:,.0f} rows/s end to end over {summary['read'] - killed_at:,} rows "
          f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    valid = {event_id_for("wenzhou-12345", row.cells["工单编号"]) for row in rows if not row.bad}
    bad = {number: row.expected_reason for number, row in enumerate(rows, start=1) if row.bad}
    assert summary["finished"] and summary["resumed_from"] == killed_at
    assert summary["read"] == ROWS == summary["sent"] + summary["rejected_total"]
    assert summary["sent"] == len(valid) and summary["rejected"] == dict(sorted(Counter(bad.values()).items()))

    records = read_raw(cluster, [topic])[topic]
    by_id: dict[str, set[bytes]] = defaultdict(set)
    copies = Counter()
    for key, value, _headers in records:
        event_name, decoded = codec.decode(value, topic)
        assert event_name == "PetitionComplaint" and decoded["event_id"] == key.decode()
        by_id[key.decode()].add(value)
        copies[key.decode()] += 1
    assert set(by_id) == valid  # every valid row, nothing else
    assert all(len(values) == 1 for values in by_id.values())  # a second copy is byte for byte the first
    resent = sum(copies.values()) - len(copies)
    # The resumed run sends every valid row after the checkpoint again, none before it; the first run, idempotent,
    # wrote each of its records once: so the copies are exactly its records of rows after the checkpoint.
    valid_before_checkpoint = sum(1 for row in rows[:killed_at] if not row.bad)
    assert resent == sum(ends_at_kill.values()) - valid_before_checkpoint
    print(f"{len(records):,} records for {len(valid):,} valid rows: {resent:,} identical re-sends of the tail that "
          f"was not acknowledged at the kill")

    report = read_report(rejected)
    assert sorted(int(r["row"]) for r in report) == sorted(bad)  # each bad row once, though some were read twice
    assert all(r["reason"] == bad[int(r["row"])] for r in report)

    ends = _end_offsets(cluster, topic)
    again = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already imported" in again.stdout and _summary(again.stdout)["already_done"]
    assert _end_offsets(cluster, topic) == ends and sum(ends.values()) == len(records)


# --- helpers ---------------------------------------------------------------------------------------------


def _gateway_env(cluster) -> dict[str, str]:
    """The importer's environment: the cluster's addresses with the intake-gateway's credentials on the local
    secured cluster (an external cluster's settings as they are), and this checkout's sources first."""
    from envgrid.localcluster.cluster import LocalCluster

    gateway = LocalCluster().addresses("intake-gateway") if os.environ.get("ENVGRID_TEST_SESSION_CLUSTER") else None
    env = (gateway or cluster).child_env(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    return env


def _kill_when_past(process: subprocess.Popen, checkpoint: Path, row: int) -> int | None:
    """SIGKILL `process` as soon as its checkpoint is past `row`; the checkpoint's row then (None: it finished)."""
    while process.poll() is None:
        try:
            at = json.loads(checkpoint.read_text(encoding="utf-8"))["row"]
        except (OSError, ValueError, KeyError):
            at = 0
        if at >= row:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return int(json.loads(checkpoint.read_text(encoding="utf-8"))["row"])
        time.sleep(0.05)
    return None


def _summary(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("summary: ")]
    assert lines, stdout
    return json.loads(lines[-1].removeprefix("summary: "))


def _end_offsets(cluster, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(cluster.kafka_config({"group.id": f"ends-{time.time_ns()}", "enable.auto.commit": False}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()
