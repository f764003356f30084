"""Nothing lost, nothing doubled — on the real broker, with the real worker process killed mid-stream.

20,000 generated events (complaints, patrol reports, department notices; with repeat reports and broken
input) go through the worker in two halves. After the first half the accounting must hold; during the
second half the worker is SIGKILLed and restarted. Every input must then be accounted for exactly once:
a report opened a case (and reached every topic its decision names), was merged into a case, or was
dead-lettered; a notice was applied (it appears in a case history) or was dead-lettered (a notice that
overtook the report opening its case is held until the case opens; once each half is in, the test moves
the manual clock past the wait, so a notice whose case never opened is refused). Outputs re-sent
after the restart carry the same event ids (at-least-once, idempotent by id) and the same content.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from envgrid.connectors import records
from envgrid.domain.routing.context import load_routing_context
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish, record_value
from envgrid.streams.held_notices import HELD_NOTICE_WAIT
from envgrid.streams.watermark import progress_of
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks

EVENTS = int(os.environ.get("ENVGRID_CONSERVATION_EVENTS", "20000"))
CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.62, "PatrolReport": 0.22, "DepartmentNotice": 0.16},
                         broken_share=0.02, duplicate_share=0.05)
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]


def test_every_input_is_accounted_for_exactly_once_across_a_kill(cluster, unique_name, tmp_path):
    prefix = unique_name("cons")
    catalogue, codec = prepare(cluster, prefix)
    events = list(generate(seed=20_000, count=EVENTS, config=CONFIG))
    first, second = events[: EVENTS // 2], events[EVENTS // 2:]
    producer = make_producer(cluster)
    topics = intake_topics(catalogue)
    complaints = catalogue.intake("PetitionComplaint")

    def inputs_of(published: list) -> list[str]:
        """The input topics this traffic uses: the report topics and the notice topics of the units that answer."""
        return [complaints, *sorted({topics.topic_of(event) for event in published} - {complaints})]

    internal = [catalogue.topic("internal.located"), catalogue.topic("internal.case-commands")]
    ticks = [catalogue.topic("internal.sla-ticks")]
    worker = WorkerProcess(cluster, prefix, tmp_path / "state", loglevel="info").start()
    try:
        _publish_all(producer, codec, first, topics)
        _drain(worker, cluster, prefix, catalogue, inputs_of(first) + internal)
        _tick_past_held_notices(producer, codec, catalogue, first)
        _drain(worker, cluster, prefix, catalogue, inputs_of(first) + internal + ticks)
        _account(cluster, catalogue, codec, first)

        before = worker.consumed(complaints)
        second_complaints = sum(1 for event in second if event.kind == "PetitionComplaint")
        _publish_all(producer, codec, second, topics)
        worker.wait_for(lambda: worker.consumed(complaints) > before + 0.3 * second_complaints, 600, "mid-stream")
        worker.kill()
        worker.start()
        _drain(worker, cluster, prefix, catalogue, inputs_of(events) + internal)
        _tick_past_held_notices(producer, codec, catalogue, events)
        _drain(worker, cluster, prefix, catalogue, inputs_of(events) + internal + ticks)
        _account(cluster, catalogue, codec, events)
    finally:
        worker.stop()


def _publish_all(producer, codec, events, topics) -> None:
    """Publish and insist the broker took every record: an input never delivered cannot be accounted for."""
    result = publish(producer, codec, events, topics, flush_timeout_s=600)
    assert not result.failed and not result.errors, f"publishing failed: {result.failed} {result.errors}"
    assert sum(result.delivered.values()) == len(events), result.delivered


def _tick_past_held_notices(producer, codec, catalogue, events) -> None:
    """The worker runs on a manual clock: move pipeline time past the wait of every notice published so
    far, so a notice whose case never opened (its report merged or dead-lettered) is refused, not held."""
    received = [event.value["received_at"] for event in events if event.kind == "DepartmentNotice" and event.value]
    send_ticks(producer, codec, catalogue, max(received) + HELD_NOTICE_WAIT + timedelta(minutes=1))


def _drain(worker: WorkerProcess, cluster, app_id: str, catalogue, topics: list[str]) -> None:
    """Until the pipeline's groups have committed everything of `topics`, three checks in a row, once this worker process
    consumes: it has read the complaints (always, the first topic) and the internal hops. A notice topic whose
    few records were all committed before a kill is never read again by the restarted process, so only the
    committed offsets speak for those."""
    seen = [topics[0], *(t for t in topics if ".internal." in t)]
    worker.wait_for(lambda: all(worker.consumed(t) > 0 for t in seen), 600, f"the worker to consume {seen}")
    streak = [0]

    progress = progress_of(cluster, app_id, catalogue, topics, lambda value, topic: ("", {}))

    def drained() -> bool:
        streak[0] = streak[0] + 1 if progress.caught_up() else 0
        return streak[0] >= 3

    def lag() -> str:
        try:
            behind = progress.behind()
        except Exception as error:  # noqa: BLE001 - the report of a failure must not hide it
            return f"lag unknown: {error}"
        return "behind (topic, partition, committed, end): " + repr(behind) + "\nconsumed: " + repr(
            {t: worker.consumed(t) for t in topics})

    try:
        worker.wait_for(drained, 900, "the worker to drain its inputs", lag)
    finally:
        progress.close()


def _account(cluster, catalogue, codec, events) -> None:
    dispatch_topics = ([s.name for s in catalogue.by_template("dept.{department}.cases")]
                       + [s.name for s in catalogue.by_template("grid.{grid}.cases")] + [catalogue.topic("triage.cases")])
    history, dead = catalogue.topic("case.history"), catalogue.topic("deadletter")
    read = read_all(cluster, codec, dispatch_topics + [history, dead])

    seen_ids: dict[str, dict] = {}
    resent = 0
    opened: dict[str, set[str]] = defaultdict(set)  # report id -> topics of its first dispatch
    for topic in dispatch_topics:
        for _key, _event, value, _raw in read.get(topic, []):
            resent += _same_or_new(seen_ids, value)
            if value["revision"] == 0:
                opened[value["source_event_id"]].add(topic)
    merged, applied = set(), set()
    revisions: dict[str, set[int]] = defaultdict(set)  # case id -> revisions in its history
    for _key, _event, value, _raw in read.get(history, []):
        resent += _same_or_new(seen_ids, value)
        (merged if value["kind"] == "merged" else applied).add(value["cause_event_id"])
        revisions[value["case_id"]].add(value["revision"])
    # No history gap: every case's revisions are contiguous from its opening (0), and every revision that
    # reached a department's or grid's topic has its history.
    for case_id, seen in revisions.items():
        assert seen == set(range(max(seen) + 1)), f"case {case_id}: history revisions {sorted(seen)} have a gap"
    for topic in dispatch_topics:
        for _key, _event, value, _raw in read.get(topic, []):
            assert value["revision"] in revisions[value["case_id"]], \
                f"case {value['case_id']} revision {value['revision']} reached {topic} but is not in case.history"
    dead_ids, dead_bytes = Counter(), Counter()
    for _key, _event, value, _raw in read.get(dead, []):
        if _same_or_new(seen_ids, value):
            resent += 1
            continue
        dead_ids[value["original_event_id"]] += 1
        dead_bytes[value["original_value"]] += 1
    # At-least-once: a rebalance or a restart may re-send an output; it carries the same id and content.

    context = load_routing_context()
    verdicts = Counter()
    for event in events:
        event_id = event.truth.event_id
        topic = intake_topics(catalogue).topic_of(event)
        raw = record_value(codec, event, topic) if event.raw is not None else None
        outcomes = set()
        if event_id in opened:
            outcomes.add("opened")
        if event_id in merged:
            outcomes.add("merged")
        if event.kind == "DepartmentNotice" and event_id in applied:
            outcomes.add("applied")
        if dead_ids[event_id] or (raw is not None and dead_bytes[raw]):
            outcomes.add("dead_letter")
        assert len(outcomes) == 1, f"event {event_id} ({event.kind}, {event.truth}) accounted as {outcomes or 'nothing'}"
        verdict = outcomes.pop()
        verdicts[(event.kind, verdict)] += 1
        if verdict == "opened":
            decision = context.decide(records.routing_input(event.kind, event.value))
            expected = {catalogue.topic_for((t.kind, t.code)) for t in decision.targets}
            assert opened[event_id] == expected, f"case of {event_id} reached {opened[event_id]}, decision says {expected}"
        if event.truth.broken in ("invalid_avro", "missing_fields", "unknown_category"):
            assert verdict == "dead_letter", f"broken {event.truth.broken} event {event_id} was {verdict}"
    assert sum(verdicts.values()) == len(events)
    assert verdicts[("PetitionComplaint", "merged")] > 0 and verdicts[("PetitionComplaint", "dead_letter")] > 0
    # Notices overtake the reports that open their cases (the router lags under a backlog); held until
    # the case opens, most apply. The rest are the generator's deliberately invalid steps.
    assert verdicts[("DepartmentNotice", "applied")] > 2 * verdicts[("DepartmentNotice", "dead_letter")], verdicts
    print(f"\naccounted {len(events)} inputs: {dict(sorted(verdicts.items()))}; outputs re-sent after restart: {resent}")


def _same_or_new(seen: dict[str, dict], value: dict) -> int:
    """1 when `value` was already read under its event id (a re-send), which must then be identical."""
    previous = seen.get(value["event_id"])
    if previous is None:
        seen[value["event_id"]] = value
        return 0
    assert _comparable(previous) == _comparable(value), f"event id {value['event_id']} re-sent with other content"
    return 1


def _comparable(value: dict) -> dict:
    return {k: v for k, v in value.items() if k not in ("failed_at",)}
