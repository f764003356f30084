"""A record schema cut into parts writes, part after part, the bytes of the whole record (connectors.record_parts)."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envgrid.connectors.contracts import EVENT_TYPES, load_event, parse_for_fastavro
from envgrid.connectors.record_parts import cut_record
from envgrid.connectors.samples import sample_events

# A later field refers by name to types an earlier field defines, in a part of its own once cut around `cut`.
NAMED_LATER = {
    "type": "record", "name": "Outer", "namespace": "t",
    "fields": [
        {"name": "first", "type": {"type": "record", "name": "Point", "fields": [
            {"name": "mode", "type": {"type": "enum", "name": "Mode", "symbols": ["A", "B", "C"]}},
            {"name": "x", "type": "double"}]}},
        {"name": "cut", "type": "string"},
        {"name": "mode_again", "type": "t.Mode"},
        {"name": "points", "type": {"type": "array", "items": "t.Point"}},
        {"name": "maybe", "type": ["null", "Point"], "default": None},
    ],
}
NAMED_LATER_VALUE = {"first": {"mode": "B", "x": 1.5}, "cut": "here", "mode_again": "C",
                     "points": [{"mode": "A", "x": -2.0}], "maybe": {"mode": "C", "x": 0.25}}


def _whole(parsed: Any, value: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, value)
    return buffer.getvalue()


def test_a_part_resolves_the_named_types_an_earlier_part_defines():
    parsed = parse_for_fastavro(NAMED_LATER, "test schema")
    parts = cut_record(parsed, {"cut"})
    assert [p.fields for p in parts] == [("first",), ("cut",), ("mode_again", "points", "maybe")]
    assert b"".join(p.encode(NAMED_LATER_VALUE) for p in parts) == _whole(parsed, NAMED_LATER_VALUE)
    assert parts[2].encode(NAMED_LATER_VALUE) != parts[2].encode(dict(NAMED_LATER_VALUE, mode_again="A"))


def test_fields_to_cut_around_stay_alone_or_together_when_adjacent():
    parsed = load_event("CaseDispatched").parsed
    parts = cut_record(parsed, {"event_id", "complainant_contact", "target"})
    assert [p.fields[0] for p in parts] == ["event_id", "case_id", "complainant_contact", "decision"]
    assert parts[2].fields == ("complainant_contact", "target")
    assert [f for p in parts for f in p.fields] == [f["name"] for f in parsed["fields"]]
    assert [p.plain is not None for p in parts] == [True, False, True, False]  # written per copy: no fastavro call


def test_a_plain_part_that_meets_a_value_it_does_not_take_is_written_by_fastavro():
    parsed = load_event("CaseDispatched").parsed
    contact_and_target = cut_record(parsed, {"event_id", "complainant_contact", "target"})[2]
    target = {"kind": "GRID", "code": "330302", "role": "OWNING_GRID"}
    without_contact = {"target": target}  # fastavro writes the field's default, null
    assert contact_and_target.encode(without_contact) == contact_and_target.encode({"complainant_contact": None,
                                                                                     "target": target})
    with pytest.raises(ValueError, match="BOSS"):
        contact_and_target.encode({"complainant_contact": None, "target": dict(target, role="BOSS")})


def test_cutting_around_a_field_the_record_lacks_is_an_error_naming_it():
    with pytest.raises(ValueError, match="CaseDispatched has no field nonsense"):
        cut_record(load_event("CaseDispatched").parsed, {"event_id", "nonsense"})
    with pytest.raises(ValueError, match="only a record schema"):
        cut_record("string", {"x"})


@given(event_name=st.sampled_from(sorted(EVENT_TYPES)), data=st.data())
def test_the_parts_of_any_cut_of_every_event_write_the_whole_record(event_name, data):
    contract = load_event(event_name)
    names = [f["name"] for f in contract.parsed["fields"]]
    around = data.draw(st.sets(st.sampled_from(names)), label="cut around")
    value = sample_events()[event_name]
    parts = cut_record(contract.parsed, around)
    assert b"".join(p.encode(value) for p in parts) == _whole(contract.parsed, value)
