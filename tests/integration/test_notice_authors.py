"""On the real worker: a notice is applied only when it comes in on its own unit's topic; one claiming
another unit is dead-lettered as `forged_unit` and the case is unchanged (read back with a plain consumer on
`case.history` and `deadletter`)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import Producer

from envgrid.domain.case_ids import case_id_for
from tests.integration.changelog_fixture import LEAD, complaint, notice
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def test_a_forged_notice_is_refused_and_the_real_one_applies(cluster, tmp_path):
    prefix = f"it.authors.{int(time.time())}"
    catalogue, codec = prepare(cluster, prefix)
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    history, deadletters = catalogue.topic("case.history"), catalogue.topic("deadletter")
    case = complaint(7)
    case_id = case_id_for(case["event_id"])

    def produce(topic: str, event_name: str, value: dict[str, Any], key: str) -> None:
        producer.produce(topic, codec.encode(event_name, value, topic), key.encode())
        assert producer.flush(30) == 0

    def kinds() -> list[str]:
        return [v["kind"] for _, _, v, _ in read_all(cluster, codec, [history]).get(history, []) if v["case_id"] == case_id]

    def refusals() -> list[dict[str, Any]]:
        return [v for _, _, v, _ in read_all(cluster, codec, [deadletters]).get(deadletters, [])]

    worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
    try:
        produce(catalogue.intake("PetitionComplaint"), "PetitionComplaint", case, case["event_id"])
        worker.wait_for(lambda: "dispatched" in kinds(), 180, "the case opened")
        forged = notice(case, 10, "ACKNOWLEDGE", LEAD)  # claims the lead, housing ...
        produce(catalogue.notice_topic("DEPARTMENT", "epb"), "DepartmentNotice", forged, case_id)  # ... as epb
        city = notice(case, 12, "RESULT", "3303", message="已办结")  # claims the city grid ...
        produce(catalogue.notice_topic("GRID", "330302"), "DepartmentNotice", city, case_id)  # ... as a district
        worker.wait_for(lambda: len([r for r in refusals() if r["reason_code"] == "forged_unit"]) == 2, 120,
                        "both forgeries dead-lettered")
        assert kinds() == ["created", "dispatched"]  # neither touched the case
        letters = {r["source_topic"] for r in refusals()}
        assert letters == {catalogue.notice_topic("DEPARTMENT", "epb"), catalogue.notice_topic("GRID", "330302")}

        real = dict(notice(case, 20, "ACKNOWLEDGE", LEAD), event_id="real-ack")
        produce(catalogue.notice_topic("DEPARTMENT", LEAD), "DepartmentNotice", real, case_id)
        worker.wait_for(lambda: "acknowledged" in kinds(), 120, "the lead's own acknowledgement applied")
    finally:
        worker.stop()
