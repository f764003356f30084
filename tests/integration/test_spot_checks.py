"""双随机 draws and quarterly supervision in the real worker (issue 12, parts 3 and 4).

A district's draw is published with `envgrid.spotcheck.topic.publish` (one copy per partition of
internal.spot-check-draws) and read back from the district's topic grid.330302.cases with a plain
confluent-kafka consumer, as the case desk relayed it. The SLA ticks then cross into 2027-Q2, which raises one
supervision task per (upper, lower) pair. One spot-check task is closed by its lead department's result notice
and one supervision task by its upper grid's, both through the notice topics and the running pipeline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from confluent_kafka import Producer

from envgrid.connectors.samples import sample_events
from envgrid.connectors.task_records import draw_record
from envgrid.domain.departments import department_codes
from envgrid.domain.registry import load_registry_set
from envgrid.domain.sla.calendar import CHINA_TZ
from envgrid.domain.tasks.quarters import Quarter
from envgrid.domain.tasks.spotcheck import draw
from envgrid.domain.tasks.spotcheck_lists import load_entities, load_inspectors
from envgrid.domain.tasks.spotcheck_rules import load_draw_rules
from envgrid.spotcheck.cli import main as spotcheck
from envgrid.spotcheck.topic import publish
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PAIRS = 15 + 191  # the city and its level-2 grids, the level-2 grids and their townships (registry 2019)
SUPERVISION_CASE = "SUP-2027Q2-330302-330302006"  # 鹿城区 checks 五马街道

def cst(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=CHINA_TZ)

def test_a_published_draw_reaches_the_grid_s_topic_and_its_task_and_a_supervision_task_close_by_result(
        cluster, tmp_path, capsys):
    prefix = f"it.spotcheck.{int(time.time())}"
    catalogue, codec = prepare(cluster, prefix)
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    history, grid_topic = catalogue.topic("case.history"), catalogue.topic_for(("grid", "330302"))
    registry = load_registry_set()
    drawn = draw("330302", Quarter(2027, 2), "福彩3D 2027086: 317", load_entities(registry),
                 load_inspectors(registry, tuple(department_codes())), load_draw_rules(), registry)
    record = draw_record(drawn, cst(4, 1, 9))
    inspection = drawn.inspections[0]
    lead = inspection.inspectors[0].department

    def read(topic: str) -> list[tuple[str, dict[str, Any]]]:
        return [(event, value) for _, event, value, _ in read_all(cluster, codec, [topic]).get(topic, [])]

    def kinds(case_id: str) -> list[str]:
        return [v["kind"] for _, v in read(history) if v["case_id"] == case_id]

    def notify(case_id: str, kind: str, unit_kind: str, unit: str, at: datetime, text: str = "") -> None:
        value = dict(sample_events()["DepartmentNotice"], event_id=f"{case_id}:{kind}", case_id=case_id, kind=kind,
                     unit_kind=unit_kind, unit_code=unit, occurred_at=at, received_at=at, message=text or kind,
                     resolution=text or None, suggested_department=None, reason=None)
        topic = catalogue.input_topic("DepartmentNotice", value)
        producer.produce(topic, codec.encode("DepartmentNotice", value, topic), case_id.encode())
        assert producer.flush(30) == 0

    worker = WorkerProcess(cluster, prefix, tmp_path / "worker").start()
    try:
        send_ticks(producer, codec, catalogue, cst(3, 31, 20))  # the first tick sets each partition's clocks
        assert publish([record], producer, codec, catalogue) == catalogue.spec(
            catalogue.topic("internal.case-commands")).partitions
        _wait_for(lambda: any(event == "SpotCheckDrawn" for event, _ in read(grid_topic)), "the draw on the grid's topic")
        _wait_for(lambda: "dispatched" in kinds(inspection.case_id), "the first inspection's task dispatched")
        assert spotcheck(["verify", "--from-topic", "--prefix", prefix]) == 0  # re-run from the published copy
        capsys.readouterr()
        assert spotcheck(["draw", "--period", "2027-Q3", "--published-value", "next", "--grid", "330302", "--json",
                          "--publish", "--prefix", prefix, "--at", "2027-07-01T09:00:00+08:00"]) == 0
        q3 = json.loads(capsys.readouterr().out)
        assert q3["inputs"]["previous_draw_id"] == drawn.draw_id  # the previous draw, found on the topic
        assert spotcheck(["verify", "--from-topic", "--prefix", prefix]) == 0  # Q3's needs Q2's, read from the topic

        send_ticks(producer, codec, catalogue, cst(4, 1, 8))  # into 2027-Q2: the quarter's supervision tasks
        _wait_for(lambda: len({v["case_id"] for _, v in read(history) if v["case_id"].startswith("SUP-2027Q2-")
                               and v["kind"] == "dispatched"}) == PAIRS, "every supervision task dispatched", 240)

        notify(inspection.case_id, "ACKNOWLEDGE", "DEPARTMENT", lead, cst(4, 1, 10))
        notify(inspection.case_id, "RESULT", "DEPARTMENT", lead, cst(4, 8, 15), "现场检查：废水处理设施正常运行")
        notify(SUPERVISION_CASE, "ACKNOWLEDGE", "GRID", "330302", cst(4, 2, 9))
        notify(SUPERVISION_CASE, "RESULT", "GRID", "330302", cst(4, 20, 16), "督查完成：台账、巡查记录齐全")
        _wait_for(lambda: "resolved" in kinds(inspection.case_id) and "resolved" in kinds(SUPERVISION_CASE),
                  "both tasks resolved by their result notices")
        send_ticks(producer, codec, catalogue, cst(4, 1, 9))  # a tick seen again raises nothing new
        time.sleep(5)
    finally:
        worker.stop()

    relayed = [value for event, value in read(grid_topic) if event == "SpotCheckDrawn"]
    assert sorted(r["event_id"] for r in relayed) == sorted([drawn.draw_id, q3["event_id"]])  # once each, by partition 0
    q2 = next(r for r in relayed if r["event_id"] == drawn.draw_id)
    assert q2["seed"] == drawn.seed and [i["case_id"] for i in q2["inspections"]] == [i.case_id for i in drawn.inspections]
    created = [v["case_id"] for _, v in read(history) if v["kind"] == "created"]
    assert len(created) == len(set(created)) == PAIRS + len(drawn.inspections) + len(q3["inspections"])  # once each
    resolved = next(v for _, v in read(history) if v["case_id"] == SUPERVISION_CASE and v["kind"] == "resolved")
    assert resolved["case"]["channel"] == "supervision" and resolved["case"]["handling_grid"] == "330302"
    task = next(v for _, v in read(history) if v["case_id"] == inspection.case_id and v["kind"] == "resolved")
    assert task["case"]["lead_department"] == lead and task["case"]["channel"] == "spot_check"
    copies = [v for event, v in read(catalogue.topic_for(("department", lead))) if v["case_id"] == inspection.case_id]
    assert copies and copies[0]["source_kind"] == "SPOT_CHECK" and copies[0]["target"]["role"] == "LEAD"

def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)

