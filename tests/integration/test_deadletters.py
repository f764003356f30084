"""Dead letters on the real broker: a notice that arrives before its case is dead-lettered with its
original bytes and intake position; once the case exists, re-injecting it applies it."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer

from connectors import records
from connectors.deadletters import main as deadletters_main
from connectors.samples import sample_events
from domain.case_ids import case_id_for
from domain.routing.context import load_routing_context
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def test_an_early_notice_is_dead_lettered_then_reinjected_and_applied(cluster, unique_name, tmp_path, monkeypatch):
    prefix = unique_name("dlq")
    catalogue, codec = prepare(cluster, prefix)
    complaint = sample_events()["PetitionComplaint"]
    case_id = case_id_for(complaint["event_id"])
    lead = load_routing_context().decide(records.routing_input("PetitionComplaint", complaint)).lead_department
    notice = dict(sample_events()["DepartmentNotice"], case_id=case_id, kind="ACKNOWLEDGE", unit_code=lead,
                  reason=None, suggested_department=None, occurred_at=complaint["received_at"],
                  received_at=complaint["received_at"])
    notices, complaints = catalogue.intake("DepartmentNotice"), catalogue.intake("PetitionComplaint")
    producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "partitioner": "murmur2_random"})
    notice_bytes = codec.encode("DepartmentNotice", notice, notices)
    worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
    try:
        producer.produce(notices, notice_bytes, case_id.encode())
        producer.flush()
        letters = _wait_for(lambda: read_all(cluster, codec, [catalogue.topic("deadletter")]).get(catalogue.topic("deadletter")))
        letter = letters[0][2]
        assert (letter["stage"], letter["reason_code"]) == ("APPLY", "unknown_case")
        assert letter["source_topic"] == notices and letter["original_value"] == notice_bytes
        assert letter["source_key"] == case_id.encode() and case_id in letter["error_message"]

        producer.produce(complaints, codec.encode("PetitionComplaint", complaint, complaints), complaint["event_id"].encode())
        producer.flush()
        history = catalogue.topic("case.history")
        _wait_for(lambda: read_all(cluster, codec, [history]).get(history))

        monkeypatch.setenv("ENVGRID_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
        monkeypatch.setenv("ENVGRID_SCHEMA_REGISTRY_URL", cluster.schema_registry_url)
        assert deadletters_main(["reinject", "--prefix", prefix, "--reason", "unknown_case"]) == 0

        def acknowledged():
            entries = read_all(cluster, codec, [history]).get(history, [])
            return [v for _, _, v, _ in entries if v["cause_event_id"] == notice["event_id"]]

        applied = _wait_for(acknowledged)
        assert applied[0]["kind"] == "acknowledged" and applied[0]["actor_unit"] == lead
    finally:
        worker.stop()


def _wait_for(fetch, timeout: float = 120.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(1.0)
    raise AssertionError(f"nothing after {timeout:.0f}s")
