"""The evaluation report command on the real broker: hand-made history (tests/unit/evaluation/traffic.py)
produced to case.history and case.sla of a fresh prefix, read back by `python -m envgrid.evaluation report`
as the auditor principal; the CSV holds the figures worked out by hand in tests/unit/evaluation/test_indicators.py;
then `watch` follows the same topics and its gauges show the year's figures."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Producer
from prometheus_client import REGISTRY

from envgrid.evaluation.watch import watch
from tests.integration.pipeline_process import grant_units, prepare
from tests.unit.evaluation.traffic import history

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]


def test_the_report_reads_the_history_on_the_broker_as_the_auditor(cluster, cluster_is_local, unique_name, tmp_path):
    prefix = unique_name("eval")
    catalogue, codec = prepare(cluster, prefix)
    grant_units(prefix)  # the auditor reads case.history and case.sla of this prefix
    producer = Producer(cluster.kafka_config())
    for record in history():
        name, topic = (("SlaEvent", "case.sla") if "milestone" in record and "fraction" in record
                       else ("CaseLifecycleEvent", "case.history"))
        topic = catalogue.topic(topic)
        producer.produce(topic, codec.encode(name, record, topic), record["case_id"].encode())
    assert producer.flush(30) == 0

    command = [sys.executable, "-m", "envgrid.evaluation", "report", "--period", "2027-Q1", "--out", str(tmp_path),
               "--topic-prefix", prefix, "--as-of", "2027-03-20T00:00:00+08:00"]
    if cluster_is_local:
        from envgrid.localcluster.cluster import LocalCluster

        command += ["--config", str(LocalCluster().credentials_dir() / "auditor.properties")]
    done = subprocess.run(command, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    with open(tmp_path / "evaluation-2027-Q1.csv", encoding="utf-8-sig", newline="") as file:
        rows = {(row["unit_kind"], row["unit_code"]): row for row in csv.DictReader(file)}
    epb = rows[("department", "epb")]
    assert (epb["cases"], epb["accepted"], epb["sla_warnings"], epb["sla_breaches"]) == ("4", "3", "1", "2")
    assert float(epb["response_rate"]) == 0.75 and float(epb["return_rate"]) == 0.25
    assert float(epb["on_time_rate"]) == pytest.approx(2 / 3, abs=1e-5)
    assert float(epb["average_handling_working_days"]) == 2.0
    assert rows[("grid", "3303")]["cases"] == "5" and float(rows[("grid", "3303")]["resolution_rate"]) == 0.5
    assert (tmp_path / "city-2027-Q1.html").is_file() and (tmp_path / "department-epb-2027-Q1.html").is_file()

    # The streaming evaluation over the same topics: its gauges for the year of the latest record (E, April)
    config = Path(command[command.index("--config") + 1]) if "--config" in command else None
    watch(config, prefix, port=0, every=1.0, stop_after=20.0)
    labels = {"window": "year", "unit_kind": "department", "unit": "epb"}
    assert REGISTRY.get_sample_value("envgrid_evaluation_count", {**labels, "indicator": "cases"}) == 5  # and E
    assert REGISTRY.get_sample_value("envgrid_evaluation_count", {**labels, "indicator": "sla_breaches"}) == 2
