"""A holiday schedule published with `envgrid.connectors.calendar` re-times open deadlines in the real worker
(issue 13, part 3), read back with a plain consumer from `case.history` and `case.sla`.

Two petitions run under the provisional 2027 until Sun 14 Feb 2027: A (accepted Tue 1 Dec 2026, 60 working
days) has its 80 % warning at 24:00 Fri 12 Feb, E (opened Mon 18 Jan 2027, never accepted, 15 working days
to decide) has breached at 24:00 Fri 12 Feb and was escalated. Then a made-up official 2027 is published
(Spring Festival Thu 4 - Fri 12 Feb, make-up workdays Sun 31 Jan and Sat 20 Feb; hand counts in
tests/unit/pipeline/test_calendar_retiming.py): A's deadline moves from 24:00 Tue 2 Mar to 24:00 Wed 3 Mar,
E's from 24:00 Fri 12 Feb to 24:00 Tue 16 Feb; A's warning and E's breach are withdrawn, E stays escalated.
Publishing the same file again re-times nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Producer

from envgrid.connectors.calendar import publish
from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.domain.sla.calendar import CHINA_TZ
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks
from tests.unit.sla.calendar_fixtures import OFFICIAL_2027_YAML

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def cst(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CHINA_TZ)


CLOCK = cst(2027, 2, 14, 10)
A_OLD, A_NEW, E_OLD, E_NEW = cst(2027, 3, 3), cst(2027, 3, 4), cst(2027, 2, 13), cst(2027, 2, 17)


def test_a_published_schedule_moves_open_deadlines_withdraws_what_is_no_longer_due_and_once_only(
        cluster, tmp_path):
    prefix = f"it.calendar.{int(time.time())}"
    catalogue, codec = prepare(cluster, prefix)
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    history, sla, calendar = (catalogue.topic(n) for n in ("case.history", "case.sla", "internal.calendar"))
    year_file = tmp_path / "2027.yaml"
    year_file.write_text(OFFICIAL_2027_YAML, encoding="utf-8")

    def send(event_name: str, value: dict[str, Any], key: str) -> None:
        topic = catalogue.input_topic(event_name, value)
        producer.produce(topic, codec.encode(event_name, value, topic), key.encode())
        assert producer.flush(30) == 0

    def read(topic: str) -> list[dict[str, Any]]:
        return [v for _, _, v, _ in read_all(cluster, codec, [topic]).get(topic, [])]

    sample = sample_events()["PetitionComplaint"]
    opened = {"A": cst(2026, 12, 1, 10), "E": cst(2027, 1, 18, 10)}
    cases = {name: case_id_for(f"00000000-0000-4000-c000-{n:012d}") for n, name in enumerate(opened, start=1)}
    worker = WorkerProcess(cluster, prefix, tmp_path / "worker").start()
    try:
        send_ticks(producer, codec, catalogue, cst(2026, 11, 30))  # the first tick sets each partition's cursor
        for number, at in enumerate(opened.values(), start=1):
            send("PetitionComplaint", dict(sample, event_id=f"00000000-0000-4000-c000-{number:012d}", channel="LETTER",
                                           occurred_at=at, received_at=at), f"c{number}")
        _wait_for(lambda: {v["case_id"] for v in read(history) if v["kind"] == "dispatched"} >= set(cases.values()),
                  "both petitions dispatched")
        at = opened["A"]
        send("DepartmentNotice", dict(sample_events()["DepartmentNotice"], event_id="ack-A", case_id=cases["A"],
                                      kind="ACKNOWLEDGE", unit_code="housing", occurred_at=at, received_at=at,
                                      message="受理"), cases["A"])
        _wait_for(lambda: any(v["case_id"] == cases["A"] and v["kind"] == "acknowledged" for v in read(history)),
                  "A accepted")
        send_ticks(producer, codec, catalogue, CLOCK)
        _wait_for(lambda: any(v["case_id"] == cases["E"] and v["kind"] == "escalated" for v in read(history))
                  and any(v["case_id"] == cases["A"] and v["fraction"] == 0.8 for v in read(sla)),
                  "A's 80 % warning and E's breach under the provisional 2027")

        publication, copies = publish(year_file, producer, codec, catalogue, CLOCK)
        assert copies == catalogue.spec(calendar).partitions == catalogue.spec(catalogue.topic("internal.case-commands")).partitions
        _wait_for(lambda: len([v for v in read(sla) if v["kind"] == "WITHDRAWN" and v["case_id"] in cases.values()]) >= 2,
                  "two withdrawals")
        _wait_for(lambda: len([v for v in read(history) if v["kind"] == "deadline_retimed" and v["case_id"] in cases.values()])
                  >= 2, "two re-timings")
        worker.wait_for(lambda: worker.consumed(calendar) >= copies, 60, "every copy of the calendar applied")

        publish(year_file, producer, codec, catalogue, CLOCK + timedelta(hours=1))  # the same version again
        worker.wait_for(lambda: worker.consumed(calendar) >= 2 * copies, 60, "the second publication consumed")
        gauge = worker.metrics().get("envgrid_sla_deadlines_on_unofficial_calendar{basis=cn_provisional}")
    finally:
        worker.stop()

    # the tick into 2027 also opens the quarter's supervision tasks (SUP-…), whose deadlines move too: look at A and E
    ours = [v for v in read(history) if v["case_id"] in cases.values()]
    retimed = {v["case_id"]: v for v in ours if v["kind"] == "deadline_retimed"}
    assert len([v for v in ours if v["kind"] == "deadline_retimed"]) == 2  # nothing from the second one
    moved = {name: (datetime.fromisoformat(retimed[case]["details"]["old_deadline"]),
                    datetime.fromisoformat(retimed[case]["details"]["new_deadline"])) for name, case in cases.items()}
    assert moved == {"A": (A_OLD, A_NEW), "E": (E_OLD, E_NEW)}
    assert all(v["details"]["calendar_version"] == publication.version.id for v in retimed.values())
    assert "the escalation the breach caused stands" in retimed[cases["E"]]["reason"]
    every_retiming = [v["case_id"] for v in read(history) if v["kind"] == "deadline_retimed"]
    assert len(every_retiming) == len(set(every_retiming)), "a case re-timed twice by one calendar version"
    withdrawn = sorted((v["case_id"], v["milestone"], v["fraction"]) for v in read(sla)
                       if v["kind"] == "WITHDRAWN" and v["case_id"] in cases.values())
    assert withdrawn == sorted([(cases["A"], "resolve", 0.8), (cases["E"], "accept_decision", 1.0)])
    for case_id in cases.values():
        revisions = {v["revision"] for v in read(history) if v["case_id"] == case_id}
        assert sorted(revisions) == list(range(max(revisions) + 1)), revisions
    assert gauge == 0.0  # both deadlines rest on the official 2027 now


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)
