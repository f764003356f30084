"""SLA verdicts are a function of the events, not of processing speed (issue 7, item 2), on the real broker.

The same traffic runs twice through a real worker on the manual clock: hotline complaints through a
simulated working day, each acknowledged in time, late, or never. Once the worker runs throughout; once
it is frozen (SIGSTOP) for two hours of pipeline time in the middle while complaints, acknowledgements and
clock ticks keep coming, then thawed to work off the backlog. The ticks are what the SLA ticker sends: the
clock held back by the oldest input still waiting and the allowed lateness (`envgrid.streams.watermark`). Both
runs must give the same warnings, breaches and escalations, read from `case.sla` and `case.history` with a
plain consumer.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta

import pytest
from confluent_kafka import Producer

from envgrid.connectors import records
from envgrid.domain.case_ids import case_id_for
from envgrid.domain.routing.context import load_routing_context
from envgrid.domain.sla.calendar import CHINA_TZ
from envgrid.domain.sla.watermark import watermark
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams.composition import load_pipeline_settings
from envgrid.streams.watermark import InputProgress, pipeline_progress
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

DAY = datetime(2026, 6, 2, 9, 0, tzinfo=CHINA_TZ)  # a Tuesday, a working day
STEP = timedelta(minutes=20)  # how often the clock ticks
END = DAY + timedelta(hours=12)
PAUSE = (DAY + timedelta(hours=2, minutes=30), DAY + timedelta(hours=4, minutes=30))  # two hours frozen


def _traffic() -> list[tuple[datetime, str, dict]]:
    """(event time, event type, record): 30 hotline complaints ten minutes apart from 09:00, each one
    acknowledged by its lead 40 minutes later (in time), five hours later (late), or never."""
    config = GeneratorConfig(start=DAY, kind_shares={"PetitionComplaint": 1.0, "PatrolReport": 0.0,
                                                     "DepartmentNotice": 0.0}, broken_share=0.0, duplicate_share=0.0)
    complaints = [e.value for e in generate(7, 60, config) if e.truth.valid and e.value][:30]
    routing = load_routing_context()
    traffic: list[tuple[datetime, str, dict]] = []
    for number, generated in enumerate(complaints):
        at = DAY + timedelta(minutes=10 * number)
        complaint = dict(generated, channel="HOTLINE_12345", occurred_at=at, received_at=at)
        traffic.append((at, "PetitionComplaint", complaint))
        lead = routing.decide(records.routing_input("PetitionComplaint", complaint)).lead_department
        delay = (timedelta(minutes=40), timedelta(hours=5), None)[number % 3]
        if delay is None or lead is None:
            continue
        answered = at + delay
        traffic.append((answered, "DepartmentNotice", {
            "event_id": f"ack-{complaint['event_id']}", "case_id": case_id_for(complaint["event_id"]),
            "kind": "ACKNOWLEDGE", "unit_kind": "DEPARTMENT", "unit_code": lead, "occurred_at": answered,
            "received_at": answered, "message": "签收", "reason": None, "suggested_department": None,
            "assisting_departments": [], "resolution": None, "order": None, "extension_days": None,
        }))
    return sorted(traffic, key=lambda item: item[0])


def _run(cluster, prefix: str, tmp_path, pause: bool) -> tuple[set, set]:
    catalogue, codec = prepare(cluster, prefix)
    lateness = load_pipeline_settings().allowed_lateness
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    progress = pipeline_progress(cluster, prefix, catalogue, codec.decode)
    worker = WorkerProcess(cluster, prefix, tmp_path / prefix).start()
    traffic, mark = _traffic(), None
    try:
        _until_ticks_are_taken(worker, catalogue, producer, codec)
        now, frozen = DAY, False
        while now <= END:
            for _at, event_name, value in [t for t in traffic if now - STEP < t[0] <= now]:
                topic = catalogue.input_topic(event_name, value)
                producer.produce(topic, codec.encode(event_name, value, topic), value.get("case_id", value["event_id"]).encode())
            assert producer.flush(60) == 0
            if pause and not frozen and now >= PAUSE[0]:
                os.killpg(worker.process.pid, signal.SIGSTOP)
                frozen = True
            if pause and frozen and now >= PAUSE[1]:
                os.killpg(worker.process.pid, signal.SIGCONT)
                pause = False
            mark = watermark(now, progress.waiting(patience=60), lateness, mark)
            send_ticks(producer, codec, catalogue, mark)
            now += STEP
        final = END + lateness  # judge every deadline up to END once the backlog is worked off
        deadline = time.monotonic() + 300
        while mark < END:
            assert time.monotonic() < deadline, f"the SLA clock stayed at {mark} (waiting inputs behind)"
            time.sleep(1)
            mark = watermark(final, progress.waiting(patience=60), lateness, mark)
            send_ticks(producer, codec, catalogue, mark)
        drained = InputProgress(cluster, prefix,
                                [catalogue.topic("internal.sla-ticks"), catalogue.topic("internal.case-commands")],
                                codec.decode)
        worker.wait_for(drained.caught_up, 300, "the case desk to take in the last ticks")
        drained.close()
    finally:
        progress.close()
        worker.stop()
    sla, history = catalogue.topic("case.sla"), catalogue.topic("case.history")
    topics = read_all(cluster, codec, [sla, history])
    verdicts = {(v["event_id"], v["kind"], v["milestone"], v["fraction"], v["deadline"], v["occurred_at"])
                for _, _, v, _ in topics.get(sla, [])}
    escalations = {(v["event_id"], v["kind"], v["from_state"], v["to_state"], v["revision"], v["reason"])
                   for _, _, v, _ in topics.get(history, []) if v["kind"] in ("escalated", "acknowledged")}
    return verdicts, escalations


def _until_ticks_are_taken(worker, catalogue, producer, codec) -> None:
    """A first round of ticks, again until the case desk takes one whole round (a worker that just started
    may still miss its tables' changelog topics in its metadata, and dead-letter what it consumes)."""
    ticks = catalogue.topic("internal.sla-ticks")
    partitions = catalogue.spec(ticks).partitions
    deadline = time.monotonic() + 180
    while True:
        send_ticks(producer, codec, catalogue, DAY - timedelta(hours=2))
        time.sleep(2)
        values = worker.metrics()
        if values.get(f"envgrid_events_consumed_total{{topic={ticks}}}", 0) - values.get("envgrid_dead_letters_total", 0) >= partitions:
            return
        assert time.monotonic() < deadline, f"the worker never took a round of ticks; see {worker.log}"


def test_a_worker_frozen_for_two_hours_of_pipeline_time_gives_the_same_verdicts(cluster, unique_name, tmp_path):
    straight = _run(cluster, unique_name("slaA"), tmp_path, pause=False)
    frozen = _run(cluster, unique_name("slaB"), tmp_path, pause=True)
    verdicts, escalations = straight
    breaches = [v for v in verdicts if v[1] == "BREACH"]
    warnings = [v for v in verdicts if v[1] == "WARNING"]
    # the traffic has all three outcomes: answered in time, late (breach, then acknowledged) and never
    assert breaches and warnings and any(e[1] == "escalated" for e in escalations)
    assert any(e[1] == "acknowledged" and e[2] == "escalated" for e in escalations), "a late answer after the breach"
    assert frozen[0] == verdicts, (sorted(frozen[0] ^ verdicts))[:10]
    assert frozen[1] == escalations, (sorted(frozen[1] ^ escalations))[:10]
