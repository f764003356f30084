"""The plain writer (connectors.plain_avro) writes fastavro's bytes for what it accepts, and refuses the rest."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envgrid.connectors.contracts import load_event
from envgrid.connectors.plain_avro import plain_writer, zigzag_long

SCHEMA = {
    "type": "record", "name": "Copy", "namespace": "t",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "contact", "type": ["null", "string"]},
        {"name": "reversed", "type": ["string", "null"]},
        {"name": "target", "type": {"type": "record", "name": "Target", "fields": [
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["DEPARTMENT", "GRID", "TRIAGE"]}},
            {"name": "code", "type": "string"}]}},
        {"name": "again", "type": "t.Kind"},
    ],
}
NAMED: dict[str, Any] = {}
PARSED = fastavro.parse_schema(SCHEMA, NAMED)
WRITE = plain_writer(PARSED, NAMED)
KINDS = st.sampled_from(["DEPARTMENT", "GRID", "TRIAGE"])
TEXT = st.text(max_size=120)  # lengths of 64 bytes and more take two bytes of length


def _fastavro(value: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, PARSED, value)
    return buffer.getvalue()


@given(id_=TEXT, contact=st.none() | TEXT, reversed_=st.none() | TEXT, kind=KINDS, code=TEXT, again=KINDS)
def test_what_it_accepts_it_writes_as_fastavro_does(id_, contact, reversed_, kind, code, again):
    assert WRITE is not None
    value = {"id": id_, "contact": contact, "reversed": reversed_, "target": {"kind": kind, "code": code},
             "again": again, "unread": object()}
    assert WRITE(value) == _fastavro(value)


ANYTHING = st.none() | st.integers() | st.floats() | st.binary(max_size=4) | st.text(st.characters(), max_size=4) | \
    st.sampled_from(["GRID", "\ud800"]) | st.dictionaries(st.sampled_from(["kind", "code"]), st.text(max_size=3))


@given(field=st.sampled_from(["id", "contact", "reversed", "target", "again", "target.kind", "target.code"]),
       replacement=ANYTHING | st.just("missing"))
def test_anything_else_it_refuses_or_writes_as_fastavro_does(field, replacement):
    value: dict[str, Any] = {"id": "x", "contact": None, "reversed": "y", "target": {"kind": "GRID", "code": "3303"},
                             "again": "TRIAGE"}
    outer, _, inner = field.partition(".")
    holder = dict(value[outer]) if inner else value
    holder[inner or outer] = replacement
    if replacement == "missing":
        del holder[inner or outer]
    if inner:
        value[outer] = holder
    assert WRITE is not None
    try:
        written = WRITE(value)
    except (TypeError, KeyError, ValueError):
        return
    assert written == _fastavro(value)


def test_schemas_with_anything_else_get_no_plain_writer():
    named: dict[str, Any] = {}
    assert plain_writer(fastavro.parse_schema({"type": "record", "name": "N", "fields": [
        {"name": "n", "type": "long"}]}, named), named) is None
    assert plain_writer(["null", "string", "long"], {}) is None
    assert plain_writer(["string", "string"], {}) is None
    parsed = load_event("CaseDispatched").parsed
    assert plain_writer(parsed, parsed["__named_schemas"]) is None  # timestamps, doubles, arrays


@pytest.mark.parametrize("number", [0, 1, 63, 64, 127, 128, 8191, 8192, 2**31, 2**62])
def test_zigzag_long_is_avros_long(number):
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, "long", number)
    assert zigzag_long(number) == buffer.getvalue()
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, "long", -number)
    assert zigzag_long(-number) == buffer.getvalue()
