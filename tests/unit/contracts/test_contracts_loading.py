"""Loading event schemas: named types inlined once, lint rules every contract must follow."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest

from envgrid.connectors.contracts import EVENT_TYPES, NAMESPACE, ContractError, event_name_of, load_all, load_event
from envgrid.connectors.samples import sample_events

TIME_FIELD_SUFFIXES = ("_at",)
TIME_FIELD_NAMES = {"deadline"}


def _named_types(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _named_types(item)
    elif isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed"):
            yield node
        for key in ("type", "items", "values", "fields"):
            if key in node:
                yield from _named_types(node[key])


def _fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for named in _named_types(schema):
        for fld in named.get("fields", []):
            yield f"{named['name']}.{fld['name']}", fld


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_every_event_loads_with_named_types_defined_once(event_name: str) -> None:
    contract = load_event(event_name)
    assert contract.full_name == f"{NAMESPACE}.{event_name}"
    names = [f"{t.get('namespace', NAMESPACE)}.{t['name']}" for t in _named_types(contract.schema)]
    assert len(names) == len(set(names)), f"named type defined twice in {event_name}"
    assert event_name_of(contract.full_name) == event_name


def test_later_references_use_the_full_name() -> None:
    schema = load_event("CaseDispatched").schema
    by_name = {f["name"]: f for f in schema["fields"]}
    assert by_name["channel"]["type"]["type"] == "enum"  # first use: defined inline
    chain_items = by_name["decision"]["type"]["fields"][0]["type"]["items"]
    assert chain_items["name"] == "GridRef"
    location_datum = by_name["location"]["type"]["fields"][2]["type"]
    assert location_datum["name"] == "CoordinateDatum"


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_every_field_has_a_doc(event_name: str) -> None:
    missing = [path for path, fld in _fields(load_event(event_name).schema) if not fld.get("doc", "").strip()]
    assert not missing, f"{event_name}: fields without doc: {missing}"


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_every_named_type_has_the_project_namespace(event_name: str) -> None:
    for named in _named_types(load_event(event_name).schema):
        assert named.get("namespace") == NAMESPACE, f"{event_name}: {named['name']} has no namespace {NAMESPACE}"
        assert named.get("doc"), f"{event_name}: {named['name']} has no doc"


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_timestamps_use_logical_types(event_name: str) -> None:
    for path, fld in _fields(load_event(event_name).schema):
        name = fld["name"]
        if name.endswith(TIME_FIELD_SUFFIXES) or name in TIME_FIELD_NAMES:
            branches = fld["type"] if isinstance(fld["type"], list) else [fld["type"]]
            timed = [b for b in branches if isinstance(b, dict) and b.get("logicalType") == "timestamp-millis"]
            assert timed and timed[0]["type"] == "long", f"{path} must be a long with logicalType timestamp-millis"


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_enums_declare_a_default_symbol_so_new_symbols_stay_readable(event_name: str) -> None:
    for named in _named_types(load_event(event_name).schema):
        if named["type"] == "enum":
            assert named.get("default") in named["symbols"], f"{named['name']} needs an enum default"


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_sample_values_round_trip_through_fastavro(event_name: str) -> None:
    contract = load_event(event_name)
    value = sample_events()[event_name]
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, contract.parsed, value)
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, contract.parsed, contract.parsed) == value


def test_load_all_names_every_event() -> None:
    assert set(load_all()) == set(EVENT_TYPES) and len(EVENT_TYPES) == 12


def _copy_schemas(tmp_path: Path) -> Path:
    source = load_event("PetitionComplaint").path.parent
    (tmp_path / "types").mkdir()
    for path in source.glob("*.avsc"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for path in (source / "types").glob("*.avsc"):
        (tmp_path / "types" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_unknown_type_error_names_the_file_field_and_type(tmp_path: Path) -> None:
    schemas = _copy_schemas(tmp_path)
    (schemas / "types" / "Severity.avsc").unlink()
    with pytest.raises(ContractError) as error:
        load_event("PetitionComplaint", schemas)
    message = str(error.value)
    assert "PetitionComplaint.avsc" in message and "severity" in message and "Severity" in message


def test_invalid_json_error_names_file_and_line(tmp_path: Path) -> None:
    schemas = _copy_schemas(tmp_path)
    (schemas / "types" / "Channel.avsc").write_text('{\n  "type": "enum",\n  "name": \n}', encoding="utf-8")
    with pytest.raises(ContractError, match=r"Channel\.avsc: invalid JSON at line 4"):
        load_event("CaseFeedback", schemas)


def test_type_file_declaring_another_name_is_refused(tmp_path: Path) -> None:
    schemas = _copy_schemas(tmp_path)
    wrong = json.loads((schemas / "types" / "Severity.avsc").read_text(encoding="utf-8"))
    wrong["name"] = "Gravity"
    (schemas / "types" / "Severity.avsc").write_text(json.dumps(wrong), encoding="utf-8")
    with pytest.raises(ContractError, match=r"Severity\.avsc: declares .*Gravity"):
        load_event("PatrolReport", schemas)


def test_unknown_event_name_lists_the_known_ones() -> None:
    with pytest.raises(ContractError, match="known event types: PetitionComplaint"):
        load_event("Complaint")
