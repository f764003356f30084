"""The tables' codec (`envgrid.streams.state_codec`): every value the worker's services store survives a
write and a read unchanged; what it cannot write or read is refused with a message that says what to do."""

from __future__ import annotations

import dataclasses
import json
import pickle
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from envgrid.simulator.departments import respond
from envgrid.simulator.generator import generate
from envgrid.streams.held_notices import SourceRecord
from envgrid.streams.state_codec import FORMAT, TYPES, StateCodecError, decode_state, encode_state
from tests.integration.changelog_fixture import load_records
from tests.unit.pipeline.harness import InMemoryPipeline, as_input
from tests.unit.pipeline.test_held_notices import _notice, _routed_but_not_opened


def _busy_pipeline() -> InMemoryPipeline:
    """Generated traffic with department answers, a held notice, refusals and a month of ticks: every
    kind of value the tables hold."""
    pipeline = InMemoryPipeline()
    events = list(generate(seed=5, count=400))
    for event in events:
        if event.kind == "DepartmentNotice":
            if event.value is not None:
                pipeline.notice(event.value)
        else:
            pipeline.report(as_input(event))
    for output in list(pipeline.sent):
        if output.topic.startswith("envgrid.dept.") and output.value["target"]["role"] == "LEAD":
            for planned in respond(output.value)[:2]:
                pipeline.notice(planned.notice)
    last = max(e.value["received_at"] for e in events if e.value and "received_at" in e.value)
    for hours in range(0, 24 * 30, 8):
        pipeline.tick(last + timedelta(hours=hours))
    command, lead = _routed_but_not_opened(pipeline, seed=33)
    source = SourceRecord("intake.notices", 1, 9, b"k", b"\x00\x01 bytes", (("h", None),))
    pipeline.cases.on_notice(_notice(command.value["case_id"], lead, received_at=command.value["dispatched_at"]),
                             pipeline.state, 0, source=source)
    return pipeline


@pytest.fixture(scope="module")
def busy() -> InMemoryPipeline:
    return _busy_pipeline()


def _tables(pipeline: InMemoryPipeline) -> dict[str, dict]:
    state = pipeline.state
    return {"case-files": state.files, "sla-timers": state.timers, "sla-buckets": state.buckets,
            "sla-cursors": state.cursors, "refused-notices": state.refused, "held-notices": state.held,
            "incidents": pipeline.indexes}


def test_every_value_of_every_table_reads_back_equal(busy):
    tables = _tables(busy)
    for name, table in tables.items():
        assert table, f"the run left table {name} empty: the test would prove nothing for it"
        for key, value in table.items():
            written = encode_state(value)
            assert decode_state(written) == value, (name, key)
            assert b"pickle" not in written and written.startswith(b'{"format":1,')
    assert any(busy.state.held.values())  # a held notice, with its source bytes
    assert any(file.remembered for file in busy.state.files.values())  # remembered outputs for redeliveries
    assert any(isinstance(value, list) and "|sent|" in key for key, value in busy.state.cursors.items())


def test_a_case_desk_restored_from_written_state_answers_like_the_original(busy):
    """What recovery does: the tables rebuilt from their written values drive the same outputs."""
    restored = InMemoryPipeline()
    for name, table in _tables(restored).items():
        table.update({key: decode_state(encode_state(value)) for key, value in _tables(busy)[name].items()})
    case_id, file = next((cid, f) for cid, f in busy.state.files.items() if f.case.lead_department)
    later = max(timer.since for timer in busy.state.timers.values()) + timedelta(days=90)
    original, again = busy.tick(later), restored.tick(later)
    assert [(o.topic, o.key, o.value) for o in again.outputs] == [(o.topic, o.key, o.value) for o in original.outputs]
    assert restored.state.files[case_id].case == busy.state.files[case_id].case


def test_every_value_of_the_changelog_fixture_is_written_again_byte_for_byte():
    """The codec writes what the worker that captured the fixture wrote (tags, key order, separators), but for
    the fields added to a type since, with their defaults."""
    added = {"CaseFile": {"remembered": {"$tuple": []}, "history_hash": None}, "Case": {"ratings": {"$tuple": []}}}

    def with_added(value):
        if isinstance(value, list):
            return [with_added(item) for item in value]
        if not isinstance(value, dict):
            return value
        tag = value.get("$type")
        merged = {**{key: with_added(item) for key, item in value.items()}, **added.get(tag, {})}
        if tag not in added:
            return merged
        order = ["$type", *(f.name for f in dataclasses.fields(TYPES[tag]) if f.init)]  # in the type's field order
        return {key: merged[key] for key in order if key in merged}

    records = [record for record in load_records() if record.value is not None]
    assert len(records) > 30
    for record in records:
        expected = json.dumps(with_added(json.loads(record.value)), ensure_ascii=False, separators=(",", ":"))
        assert encode_state(decode_state(record.value)) == expected.encode("utf-8"), record.table


def test_plain_values_keep_their_types():
    value = {"at": datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))), "day": date(2027, 2, 6),
             "wait": timedelta(days=3, seconds=5, microseconds=7), "raw": b"\xff\x00", "pair": ("a", 1),
             "tags": frozenset({"x", "y"}), "seen": {1, 2}, 3: "int key", "$odd": "dollar key", "nan": float("inf"),
             "nested": [{"$type": "not a tag, a key"}]}
    assert decode_state(encode_state(value)) == value


def test_a_value_of_an_unlisted_type_is_refused_when_written():
    @dataclass(frozen=True)
    class Stranger:
        name: str

    with pytest.raises(StateCodecError, match="Stranger, which has no state tag"):
        encode_state({"who": Stranger("x")})


def test_a_pickle_from_an_older_release_is_refused_with_what_to_do():
    with pytest.raises(StateCodecError, match="--app-id"):
        decode_state(pickle.dumps({"a": 1}))


def test_a_newer_format_is_refused_and_an_unknown_tag_is_named():
    with pytest.raises(StateCodecError, match=f"newer envgrid; this release reads formats up to {FORMAT}"):
        decode_state(b'{"format": 99, "value": 1}')
    with pytest.raises(StateCodecError, match="'Gadget'"):
        decode_state(b'{"format": 1, "value": {"$type": "Gadget"}}')


def test_a_stored_dataclass_that_no_longer_fits_is_refused_with_its_name():
    with pytest.raises(StateCodecError, match="stored Refused does not fit"):
        decode_state(b'{"format": 1, "value": {"$type": "Refused", "stage": "APPLY", "colour": "red"}}')


def test_datetimes_stay_aware():
    at = datetime(2027, 1, 1, tzinfo=UTC)
    assert decode_state(encode_state(at)).tzinfo is not None

