"""Early notices and dead letters on the real broker. A notice that arrives before its case is held and
applied when the case opens. One whose case does not open within the wait is dead-lettered with its
original bytes and intake position; once the case exists, re-injecting it applies it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from confluent_kafka import Producer

from envgrid.connectors import records
from envgrid.connectors.deadletters import main as deadletters_main
from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.domain.routing.context import load_routing_context
from envgrid.streams.held_notices import HELD_NOTICE_WAIT
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _complaint_and_notice(number: int) -> tuple[dict, dict, str]:
    """A complaint and its lead's acknowledgement; complaints of different numbers are weeks apart, so the
    router does not merge one into the other as a repeat report."""
    sample = sample_events()["PetitionComplaint"]
    weeks = timedelta(weeks=2 * number)
    complaint = dict(sample, event_id=f"00000000-0000-4000-8000-00000000000{number}",
                     occurred_at=sample["occurred_at"] + weeks, received_at=sample["received_at"] + weeks)
    case_id = case_id_for(complaint["event_id"])
    lead = load_routing_context().decide(records.routing_input("PetitionComplaint", complaint)).lead_department
    notice = dict(sample_events()["DepartmentNotice"], event_id=f"00000000-0000-4000-9000-00000000000{number}",
                  case_id=case_id, kind="ACKNOWLEDGE", unit_code=lead, reason=None, suggested_department=None,
                  occurred_at=complaint["received_at"], received_at=complaint["received_at"])
    return complaint, notice, lead


def test_early_notices_are_held_until_their_case_opens_or_dead_lettered_then_reinjected(
        cluster, unique_name, tmp_path, monkeypatch):
    prefix = unique_name("dlq")
    catalogue, codec = prepare(cluster, prefix)
    complaints = catalogue.intake("PetitionComplaint")
    history, dead = catalogue.topic("case.history"), catalogue.topic("deadletter")
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    opened_later, opens_soon = _complaint_and_notice(1), _complaint_and_notice(2)

    def notice_topic(notice: dict) -> str:
        return catalogue.input_topic("DepartmentNotice", notice)

    def publish(topic: str, event_name: str, value: dict, key: str) -> bytes:
        raw = codec.encode(event_name, value, topic)
        producer.produce(topic, raw, key.encode())
        producer.flush()
        return raw

    def applied(notice: dict) -> list[dict]:
        entries = read_all(cluster, codec, [history]).get(history, [])
        return [v for _, _, v, _ in entries if v["cause_event_id"] == notice["event_id"]]

    worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
    try:
        late_bytes = publish(notice_topic(opened_later[1]), "DepartmentNotice", opened_later[1], opened_later[1]["case_id"])
        publish(notice_topic(opens_soon[1]), "DepartmentNotice", opens_soon[1], opens_soon[1]["case_id"])
        worker.wait_for(lambda: worker.consumed(catalogue.topic("internal.case-commands")) >= 2, 120, "both notices")
        publish(complaints, "PetitionComplaint", opens_soon[0], opens_soon[0]["event_id"])
        held_then_applied = _wait_for(lambda: applied(opens_soon[1]))
        assert held_then_applied[0]["kind"] == "acknowledged" and held_then_applied[0]["actor_unit"] == opens_soon[2]
        assert not read_all(cluster, codec, [dead]).get(dead)  # held, not refused

        send_ticks(producer, codec, catalogue, opened_later[1]["received_at"] + HELD_NOTICE_WAIT + timedelta(minutes=1))
        letters = _wait_for(lambda: read_all(cluster, codec, [dead]).get(dead))
        [letter] = [value for _, _, value, _ in letters]
        assert (letter["stage"], letter["reason_code"]) == ("APPLY", "unknown_case")
        assert letter["source_topic"] == notice_topic(opened_later[1]) and letter["original_value"] == late_bytes
        assert letter["source_key"] == opened_later[1]["case_id"].encode()
        assert opened_later[1]["case_id"] in letter["error_message"]

        publish(complaints, "PetitionComplaint", opened_later[0], opened_later[0]["event_id"])
        _wait_for(lambda: [v for _, _, v, _ in read_all(cluster, codec, [history]).get(history, [])
                           if v["case_id"] == opened_later[1]["case_id"]])
        monkeypatch.setenv("ENVGRID_BOOTSTRAP_SERVERS", cluster.bootstrap_servers)
        monkeypatch.setenv("ENVGRID_SCHEMA_REGISTRY_URL", cluster.schema_registry_url)
        assert deadletters_main(["reinject", "--prefix", prefix, "--reason", "unknown_case"]) == 0
        reinjected = _wait_for(lambda: applied(opened_later[1]))
        assert reinjected[0]["kind"] == "acknowledged" and reinjected[0]["actor_unit"] == opened_later[2]
    finally:
        worker.stop()


def _wait_for(fetch, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(1.0)
    raise AssertionError(f"nothing after {timeout:.0f}s")
