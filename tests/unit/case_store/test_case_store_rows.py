"""The case store's mapping from records to rows, in memory: generated traffic through the in-memory pipeline
(the composition the worker runs), the simulated departments answering, the clock moved on so deadlines fire;
then every history entry, feedback and SLA event mapped to rows and checked against what the case desk holds.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import psycopg
import pytest

from envgrid.connectors.case_store.migrate import MigrationError, migrations, pending
from envgrid.connectors.case_store.rows import COLUMNS, Batch
from envgrid.connectors.case_store.sink import Sink, SinkTopics, batch_of, next_offsets
from envgrid.connectors.serde import UndecodableRecord
from envgrid.domain.sla.retiming import projected_deadline
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from tests.unit.pipeline.harness import FEEDBACK, HISTORY, SLA, InMemoryPipeline

CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.2, "DepartmentNotice": 0.1})
TOPICS = SinkTopics(HISTORY, FEEDBACK, SLA)


@pytest.fixture(scope="module")
def run():
    pipeline = InMemoryPipeline()
    events = list(generate(11, 500, CONFIG))
    pipeline.answered(events, 4)
    last = max(event.value["occurred_at"] for event in events if event.value)
    for days in (1, 3, 10, 40):  # warnings, breaches and the escalations they cause
        pipeline.tick(last + timedelta(days=days))
    records = [(output.topic, output.value) for output in pipeline.sent if output.topic in TOPICS.all]
    return pipeline, events, records


def _batch(records) -> Batch:
    batch = Batch()
    add = {HISTORY: batch.add_history, FEEDBACK: batch.add_feedback, SLA: batch.add_sla}
    for topic, value in records:
        add[topic](value)
    return batch


def test_the_traffic_exercises_the_store(run):
    pipeline, _events, records = run
    kinds = {value["kind"] for topic, value in records if topic == HISTORY}
    assert {"created", "dispatched", "acknowledged", "transferred", "escalated", "resolved", "closed"} <= kinds, kinds
    assert sum(1 for topic, _ in records if topic == SLA) > 50
    assert sum(1 for topic, _ in records if topic == FEEDBACK) > 100
    assert len(pipeline.state.files) > 300


def test_every_history_entry_is_one_revision_row_with_its_fields(run):
    _pipeline, _events, records = run
    history = {value["event_id"]: value for topic, value in records if topic == HISTORY}
    rows = {row[0]: dict(zip(COLUMNS["case_revisions"], row, strict=True)) for row in _batch(records).table("case_revisions")}
    assert rows.keys() == history.keys()
    for event_id, value in history.items():
        row = rows[event_id]
        for column in ("case_id", "revision", "kind", "occurred_at", "from_state", "to_state", "cause_event_id",
                       "actor_unit", "reason"):
            assert row[column] == value[column], (event_id, column)
        assert json.loads(row["details"]) == value["details"]
        assert json.loads(row["snapshot"])["state"] == value["case"]["state"]


def test_the_current_view_is_the_case_as_the_case_desk_holds_it(run):
    pipeline, _events, records = run
    batch = _batch(records)
    cases = {row[0]: dict(zip(COLUMNS["cases"], row, strict=True)) for row in batch.table("cases")}
    deadlines = {(row[0], row[1]): dict(zip(COLUMNS["case_deadlines"], row, strict=True))
                 for row in batch.table("case_deadlines")}
    units = {(row[0], row[1]) for row in batch.table("case_units")}
    assert cases.keys() == pipeline.state.files.keys()
    worktime = pipeline.cases.tracker.worktime
    compared = 0
    for case_id, file in pipeline.state.files.items():
        case, row = file.case, cases[case_id]
        assert row["revision"] == case.version
        assert (row["state"], row["lead_department"], row["assisting_departments"], row["grid_chain"],
                row["handling_level"], row["handler_unit"], row["reports"]) == (
            str(case.state), case.lead_department, list(case.assisting_departments), list(case.grid_chain),
            case.handling_level, case.handler_unit, len(case.reports))
        assert {case.lead_department, *case.assisting_departments, *case.grid_chain} - {None} <= \
            {unit for (cid, unit) in units if cid == case_id}
        for key, timer in pipeline.state.timers.items():
            if timer.case_id != case_id or (case_id, str(timer.milestone)) not in deadlines:
                continue
            stored = deadlines[(case_id, str(timer.milestone))]
            if stored["revision"] == case.version and not timer.fired:
                due = projected_deadline(timer, worktime)
                assert (stored["clock"], stored["deadline"]) == (str(timer.state), due and due.at), key
                compared += 1
    assert compared > 50


def test_any_batching_redelivery_and_replay_give_the_same_rows(run):
    _pipeline, _events, records = run
    whole = _batch(records)
    rng = random.Random(3)
    for _round in range(3):
        store, position = Batch(), 0
        while position < len(records):
            size = rng.randint(1, 400)
            chunk = records[position:position + size]
            store.merge(_batch(chunk))
            if rng.random() < 0.3:  # a batch whose offsets were not committed is read again
                store.merge(_batch(chunk))
            position += size
        store.merge(_batch(records[: len(records) // 2]))  # a replay from the beginning, cut short
        assert store.rows == whole.rows


def test_no_personal_data_reaches_a_row(run):
    _pipeline, events, records = run
    personal = {value for event in events if event.kind == "PetitionComplaint" and event.value
                for value in (event.value.get("complainant") or {}).values() if value}
    assert len(personal) > 100
    batch = _batch(records)
    text = json.dumps({table: batch.table(table) for table in COLUMNS}, default=str, ensure_ascii=False)
    assert not [item for item in personal if item in text]


def test_an_entry_without_a_snapshot_keeps_its_history_only():
    old = {"event_id": "WZ-1:0:created", "case_id": "WZ-1", "occurred_at": None, "kind": "created", "from_state": None,
           "to_state": "received", "cause_event_id": "r1", "actor_unit": None, "reason": "", "details": {},
           "revision": None, "case": None}
    batch = Batch()
    batch.add_history(old)
    assert len(batch.table("case_revisions")) == 1 and len(batch) == 1


def test_undecodable_records_are_named_not_lost():
    def decode(value, topic):
        if value == b"bad":
            raise UndecodableRecord("not_confluent_framed", topic, "first byte is 0x62")
        return "CaseFeedback", json.loads(value)

    feedback = {"event_id": "f1", "case_id": "WZ-1", "occurred_at": None, "stage": "ACCEPTED", "audience": "COMPLAINANT",
                "recipient": "r1", "channel": "WEB", "message": "ok"}
    messages = [FakeMessage(FEEDBACK, 2, 7, b"bad"), FakeMessage(FEEDBACK, 2, 8, json.dumps(feedback).encode())]
    batch, skipped = batch_of(messages, decode, TOPICS)
    assert skipped == 1
    assert batch.table("skipped_records") == [(FEEDBACK, 2, 7, "not_confluent_framed: " + str(
        UndecodableRecord("not_confluent_framed", FEEDBACK, "first byte is 0x62")))]
    assert [row[0] for row in batch.table("case_feedback")] == ["f1"]


def test_offsets_are_committed_only_after_the_store_wrote_the_batch(monkeypatch):
    monkeypatch.setattr("envgrid.connectors.case_store.sink.BACKOFF", (0.0, 0.0))
    feedback = {"event_id": "f1", "case_id": "WZ-1", "occurred_at": None, "stage": "ACCEPTED", "audience": "COMPLAINANT",
                "recipient": "r1", "channel": "WEB", "message": "ok"}
    messages = [FakeMessage(FEEDBACK, 0, 4, b""), FakeMessage(SLA, 1, 9, b"x"), FakeMessage(FEEDBACK, 0, 5, b"")]
    events = []

    class Connection:
        def close(self):
            events.append("connection closed")

    class Store:
        calls = 0
        conn = Connection()

        def write(self, batch):
            Store.calls += 1
            if Store.calls == 1:
                events.append("write failed")
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            events.append(("written", len(batch)))
            return len(batch)

    class Consumer:
        def consume(self, count, timeout):
            return messages

        def commit(self, offsets, asynchronous):
            events.append(("committed", [(tp.topic, tp.partition, tp.offset) for tp in offsets]))

    def decode(value, topic):
        if topic == SLA:
            raise UndecodableRecord("unknown_schema_id", topic, "schema id 99 is not in the registry")
        return "CaseFeedback", dict(feedback, event_id=f"f{len(value)}")

    sink = Sink(Consumer(), decode, Store, TOPICS)
    assert sink.step() == 3
    assert events == ["write failed", "connection closed", ("written", 2),
                      ("committed", [(FEEDBACK, 0, 6), (SLA, 1, 10)])]
    assert next_offsets(messages) == next_offsets(list(reversed(messages)))
    assert (sink.progress.retries, sink.progress.skipped) == (1, 1)


def test_the_sink_subscribes_to_its_three_topics_and_reports_after_each_batch():
    calls = []

    class Consumer:
        def subscribe(self, topics):
            calls.append(("subscribe", topics))

        def consume(self, count, timeout):
            calls.append("consume")
            return []

    sink = Sink(Consumer(), lambda value, topic: ("", {}), lambda: None, TOPICS)
    sink.run(lambda: calls.count("consume") >= 2, lambda progress: calls.append("report"))
    assert calls == [("subscribe", [HISTORY, FEEDBACK, SLA]), "consume", "report", "consume", "report"]


def test_migrations_are_numbered_and_an_applied_one_never_changes(tmp_path):
    available = migrations()
    assert [m.version for m in available] == list(range(1, len(available) + 1)) and len(available) >= 2
    assert pending({}, available) == available
    assert pending({1: available[0].sha256}, available) == available[1:]
    with pytest.raises(MigrationError, match="changed after it was applied"):
        pending({1: "0" * 64}, available)
    with pytest.raises(MigrationError, match="does not know"):
        pending({m.version: m.sha256 for m in available} | {99: "x"}, available)
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    (tmp_path / "0003_third.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="0003_third.sql: version 3 where 2 was expected"):
        migrations(tmp_path)


class FakeMessage:
    def __init__(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        self._topic, self._partition, self._offset, self._value = topic, partition, offset, value

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def value(self):
        return self._value

    def error(self):
        return None
