"""The conservation traffic's helpers, shared by the tests that run it through real worker processes
(test_conservation.py: one worker killed mid-stream; test_three_brokers.py: a broker and a worker of three
killed on a 3-node cluster): publish, tick past held notices, drain a consumer group, account every input.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta

from envgrid.connectors import records
from envgrid.domain.routing.context import load_routing_context
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, publish, record_value
from envgrid.streams.held_notices import HELD_NOTICE_WAIT
from envgrid.streams.watermark import progress_of
from tests.integration.pipeline_process import WorkerProcess, read_all, send_ticks

CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.62, "PatrolReport": 0.22, "DepartmentNotice": 0.16},
                         broken_share=0.02, duplicate_share=0.05)


def inputs_of(catalogue, published: list) -> list[str]:
    """The input topics this traffic uses: the report topics and the notice topics of the units that answer."""
    complaints = catalogue.intake("PetitionComplaint")
    return [complaints, *sorted({intake_topics(catalogue).topic_of(event) for event in published} - {complaints})]


def internal_topics(catalogue) -> list[str]:
    return [catalogue.topic("internal.located"), catalogue.topic("internal.case-commands")]


def wait_for(workers: Sequence[WorkerProcess], predicate: Callable[[], bool], timeout: float, what: str,
             explain: Callable[[], str] = lambda: "") -> None:
    """Poll `predicate` while every worker runs; on timeout fail with `explain()` and the workers' logs."""
    deadline = time.monotonic() + timeout
    while not predicate():
        for worker in workers:
            assert worker.process is not None and worker.process.poll() is None, \
                f"worker died; see {worker.log}\n{worker.log_tail()}"
        assert time.monotonic() < deadline, (f"timed out after {timeout:.0f}s waiting for {what}\n{explain()}\n"
                                             + "\n".join(worker.log_tail(30) for worker in workers))
        time.sleep(0.5)


def publish_all(producer, codec, events, topics) -> None:
    """Publish and insist the broker took every record: an input never delivered cannot be accounted for."""
    result = publish(producer, codec, events, topics, flush_timeout_s=600)
    assert not result.failed and not result.errors, f"publishing failed: {result.failed} {result.errors}"
    assert sum(result.delivered.values()) == len(events), result.delivered


def tick_past_held_notices(producer, codec, catalogue, events) -> None:
    """The worker runs on a manual clock: move pipeline time past the wait of every notice published so
    far, so a notice whose case never opened (its report merged or dead-lettered) is refused, not held."""
    received = [event.value["received_at"] for event in events if event.kind == "DepartmentNotice" and event.value]
    send_ticks(producer, codec, catalogue, max(received) + HELD_NOTICE_WAIT + timedelta(minutes=1))


def drain(workers: WorkerProcess | Sequence[WorkerProcess], cluster, app_id: str, catalogue, topics: list[str],
          progress=None) -> None:
    """Until the pipeline's groups (the router's and the case desk's) have committed everything of `topics`, three checks in a row, once its worker processes
    consume: together they have read the complaints (always, the first topic) and the internal hops. A notice
    topic whose few records were all committed before a kill is never read again by a restarted process, so
    only the committed offsets speak for those. `progress` (caught_up(), behind(), close()) replaces the
    envgrid.streams.watermark reader made here, e.g. by one whose clients run in another process."""
    workers = [workers] if isinstance(workers, WorkerProcess) else list(workers)
    seen = [topics[0], *(t for t in topics if ".internal." in t)]
    wait_for(workers, lambda: all(sum(w.consumed(t) for w in workers) > 0 for t in seen), 600,
             f"the workers to consume {seen}")
    streak = [0]

    if progress is None:
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
            {t: sum(w.consumed(t) for w in workers) for t in topics})

    try:
        wait_for(workers, drained, 900, "the workers to drain their inputs", lag)
    finally:
        progress.close()


def account(cluster, catalogue, codec, events) -> None:
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
    why_dead: dict[str, list[str]] = defaultdict(list)  # original event id -> what each dead letter says
    for _key, _event, value, _raw in read.get(dead, []):
        if _same_or_new(seen_ids, value):
            resent += 1
            continue
        dead_ids[value["original_event_id"]] += 1
        dead_bytes[value["original_value"]] += 1
        why_dead[value["original_event_id"]].append(
            f"{value['processor']}/{value['stage']}/{value['reason_code']} from {value['source_topic']}"
            f"[{value['source_partition']}]@{value['source_offset']}: {value['error_message']}")
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
        assert len(outcomes) == 1, (f"event {event_id} ({event.kind}, {event.truth}) accounted as {outcomes or 'nothing'}"
                                    + "".join(f"\n  dead letter: {why}" for why in why_dead[event_id]))
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
