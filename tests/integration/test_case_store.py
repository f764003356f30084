"""The case store on the real broker and real PostgreSQL: generated traffic through the worker, the sink as its own
process (the `case-store` principal), the store compared with case.history, case.feedback and case.sla case by
case — 0 differences after the first half, 0 after the second half during which the sink was SIGKILLed
mid-stream and restarted, and an unchanged store after a second sink replayed every topic from the beginning.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish
from envgrid.streams.held_notices import HELD_NOTICE_WAIT
from envgrid.streams.watermark import InputProgress
from tests.integration.case_store_process import (
    SinkProcess,
    case_store_admin_dsn,
    count,
    differences,
    dump,
    fresh_database,
    sink_cluster,
    wait_until,
)
from tests.integration.pipeline_process import (
    WorkerProcess,
    grant_units,
    prepare,
    read_all,
    send_ticks,
    wait_until_drained,
)

EVENTS = 300
CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.6, "PatrolReport": 0.2, "DepartmentNotice": 0.2},
                         broken_share=0.01, duplicate_share=0.05)
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def test_the_store_matches_the_case_topics_across_a_sink_kill_and_a_replay(cluster, cluster_is_local, unique_name,
                                                                         tmp_path):
    prefix = unique_name("store")
    catalogue, codec = prepare(cluster, prefix)
    grant_units(prefix)  # the case-store principal reads its three topics of this prefix
    dsn = fresh_database(case_store_admin_dsn(cluster_is_local), prefix)
    events = list(generate(seed=31, count=EVENTS, config=CONFIG))
    first, second = events[: EVENTS // 2], events[EVENTS // 2:]
    producer, topics = make_producer(cluster), intake_topics(catalogue)
    outputs = [catalogue.topic(name) for name in ("case.history", "case.feedback", "case.sla")]
    group = f"case-store-{prefix}"
    worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
    sink = SinkProcess(sink_cluster(cluster), prefix, dsn, group).start()
    try:
        _publish(producer, codec, first, topics)
        _settle(worker, cluster, catalogue, producer, codec, prefix, first)
        _caught_up(cluster, group, outputs, sink)
        _compare(cluster, codec, outputs, dsn, "after the first half")

        before = count(dsn, "case_revisions")
        _publish(producer, codec, second, topics)
        wait_until(lambda: count(dsn, "case_revisions") > before + 60, 300, "the sink to store part of the second half",
                   sink)
        sink.kill()
        killed_at = count(dsn, "case_revisions")
        sink.start()
        _settle(worker, cluster, catalogue, producer, codec, prefix, events)
        _caught_up(cluster, group, outputs, sink)
        _compare(cluster, codec, outputs, dsn, f"after a SIGKILL at {killed_at} revisions and a restart")

        stored = dump(dsn)
        sink.stop()
        replay = SinkProcess(sink_cluster(cluster), prefix, dsn, f"{group}-replay").start()
        try:
            _caught_up(cluster, f"{group}-replay", outputs, replay)
        finally:
            replay.stop()
        assert dump(dsn) == stored, "replaying every topic from the beginning changed the store"
        print(f"\ncase store: {len(stored['cases'])} cases, {len(stored['case_revisions'])} revisions, "
              f"{len(stored['case_feedback'])} feedback, {len(stored['case_sla_events'])} SLA events; sink killed at "
              f"{killed_at} revisions; 0 differences, replay left it unchanged")
    finally:
        sink.stop()
        worker.stop()


def _publish(producer, codec, events, topics) -> None:
    result = publish(producer, codec, events, topics, flush_timeout_s=300)
    assert not result.failed and not result.errors, f"publishing failed: {result.failed} {result.errors}"


def _settle(worker, cluster, catalogue, producer, codec, prefix, events) -> None:
    """Let the worker apply everything, then move the manual clock 40 days on (held notices refused, SLA warnings
    and breaches fired, breaches escalated) and let it apply that too."""
    complaints = catalogue.intake("PetitionComplaint")
    inputs = [complaints, *sorted({intake_topics(catalogue).topic_of(e) for e in events} - {complaints}),
              catalogue.topic("internal.located"), catalogue.topic("internal.case-commands")]
    ticks = [catalogue.topic("internal.sla-ticks")]
    worker.wait_for(lambda: worker.consumed(complaints) > 0, 300, "the worker to consume")
    wait_until_drained(worker, cluster, prefix, catalogue, inputs)
    last = max(e.value["received_at"] for e in events if e.value)
    for days in (1, 5, 40):
        send_ticks(producer, codec, catalogue, last + HELD_NOTICE_WAIT + timedelta(days=days))
    wait_until_drained(worker, cluster, prefix, catalogue, inputs + ticks)



def _caught_up(cluster, group, topics, sink) -> None:
    """Until the sink's group has committed the end of the three topics (which the drained worker no longer
    writes to), twice in a row."""
    progress = InputProgress(cluster, group, topics, lambda value, topic: ("", {}))
    streak = [0]

    def caught_up() -> bool:
        streak[0] = streak[0] + 1 if progress.caught_up() else 0
        return streak[0] >= 2

    try:
        wait_until(caught_up, 180, f"the sink's group {group} to catch up", sink)
    finally:
        progress.close()
    time.sleep(0.2)


def _compare(cluster, codec, outputs, dsn, when: str) -> None:
    read = read_all(cluster, codec, outputs)
    history, feedback, sla = ([value for _key, _event, value, _raw in read.get(topic, [])] for topic in outputs)
    assert len({v["case_id"] for v in history}) > 50 and feedback and sla, "too little traffic to compare"
    found = differences(dsn, history, feedback, sla)
    assert not found, f"{len(found)} differences {when}:\n" + "\n".join(found[:30])
