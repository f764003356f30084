"""BACKWARD_TRANSITIVE guard: current schemas read all history; breaking changes are caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envgrid.connectors import compat
from envgrid.connectors.contracts import EVENT_TYPES, load_event


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_every_current_schema_reads_all_its_history() -> None:
    assert compat.check_all() == []


@pytest.mark.parametrize("event_name", list(EVENT_TYPES))
def test_every_event_has_a_v1_snapshot(event_name: str) -> None:
    versions = compat.history(event_name)
    assert versions and versions[0][0] == 1


def test_history_is_up_to_date_with_the_current_schemas() -> None:
    assert compat.unsnapshotted() == [], "run `python -m envgrid.connectors.compat snapshot --all` and commit"


def test_new_required_field_without_default_is_a_break() -> None:
    changed = load_event("CaseFeedback").fresh_schema()
    changed["fields"].append({"name": "priority", "type": "int", "doc": "New, required."})
    problems = compat.check_event("CaseFeedback", changed)
    assert problems and problems[0].kind == "reader_field_missing_default_value"
    assert "priority" in problems[0].message and problems[0].writer_version == 1


def test_field_type_change_is_a_break() -> None:
    changed = load_event("SlaEvent").fresh_schema()
    _field(changed, "fraction")["type"] = "string"
    problems = compat.check_event("SlaEvent", changed)
    assert [(p.writer_version, p.kind) for p in problems] == [(v, "type_mismatch") for v, _ in compat.history("SlaEvent")]
    assert problems[0].location.startswith("fraction ")
    assert "reader type: string not compatible with writer type: double" in problems[0].message


def test_removed_enum_symbol_without_enum_default_is_a_break() -> None:
    changed = load_event("SlaEvent").fresh_schema()
    kind = _field(changed, "kind")["type"]
    kind["symbols"].remove("BREACH")
    del kind["default"]
    problems = compat.check_event("SlaEvent", changed)
    assert {p.kind for p in problems} == {"missing_enum_symbols"} and len(problems) == len(compat.history("SlaEvent"))
    assert "BREACH" in problems[0].message
    assert problems[0].location.startswith("kind.symbols ")


def test_removed_enum_symbol_is_read_as_the_enum_default() -> None:
    # Avro resolution: a writer symbol the reader lacks becomes the reader enum's default.
    changed = load_event("CaseFeedback").fresh_schema()
    _field(changed, "stage")["type"]["symbols"].remove("MERGED")
    assert compat.check_event("CaseFeedback", changed) == []


def test_adding_an_optional_field_is_accepted() -> None:
    changed = load_event("PatrolReport").fresh_schema()
    changed["fields"].append(
        {"name": "weather", "type": ["null", "string"], "default": None, "doc": "Weather on site."}
    )
    assert compat.check_event("PatrolReport", changed) == []


def test_an_incompatible_change_against_an_older_version_only_is_still_caught(tmp_path: Path) -> None:
    # Transitive: v1 had `channel_note` as a string, v2 dropped it (compatible); the current schema
    # re-adds it as an int with a default: fine against v2, but v1 data holds strings there.
    v1 = load_event("CaseFeedback").fresh_schema()
    v1["fields"].append({"name": "channel_note", "type": "string", "doc": "Old note."})
    v2 = load_event("CaseFeedback").fresh_schema()
    folder = tmp_path / "CaseFeedback"
    folder.mkdir()
    (folder / "v1.avsc").write_text(json.dumps(v1), encoding="utf-8")
    (folder / "v2.avsc").write_text(json.dumps(v2), encoding="utf-8")
    current = load_event("CaseFeedback").fresh_schema()
    current["fields"].append({"name": "channel_note", "type": "int", "default": 0, "doc": "Reused name."})
    assert compat.incompatibilities(current, v2) == []
    problems = compat.check_event("CaseFeedback", current, tmp_path)
    assert [(p.writer_version, p.kind) for p in problems] == [(1, "type_mismatch")]


def test_snapshot_writes_the_next_version_only_when_changed(tmp_path: Path) -> None:
    assert compat.snapshot("SlaEvent", tmp_path) == tmp_path / "SlaEvent" / "v1.avsc"
    assert compat.snapshot("SlaEvent", tmp_path) is None
    assert json.loads((tmp_path / "SlaEvent" / "v1.avsc").read_text(encoding="utf-8")) == load_event("SlaEvent").schema


def test_check_command_exits_non_zero_listing_incompatibilities(tmp_path: Path, monkeypatch, capsys) -> None:
    broken = load_event("SlaEvent").fresh_schema()
    _field(broken, "fraction")["type"] = "string"  # history says string; current says double
    (tmp_path / "SlaEvent").mkdir()
    (tmp_path / "SlaEvent" / "v1.avsc").write_text(json.dumps(broken), encoding="utf-8")
    monkeypatch.setattr(compat, "HISTORY_DIR", tmp_path)
    monkeypatch.setattr(compat.check_all, "__defaults__", (tmp_path,))
    monkeypatch.setattr(compat.unsnapshotted, "__defaults__", (tmp_path,))
    assert compat.main(["check"]) == 1
    assert "INCOMPATIBLE SlaEvent: cannot read v1 data: type_mismatch" in capsys.readouterr().out


def test_the_history_hash_chain_field_reads_every_earlier_history_entry() -> None:
    """CaseLifecycleEvent v5 added `previous_hash` (the hash chain) with a default: entries written with v1..v4
    read with it null; without the default it would break every one of them."""
    current = load_event("CaseLifecycleEvent").fresh_schema()
    assert _field(current, "previous_hash")["default"] is None
    assert [v for v, _ in compat.history("CaseLifecycleEvent")][-1] == 5
    assert compat.check_event("CaseLifecycleEvent") == []
    del _field(current, "previous_hash")["default"]
    problems = compat.check_event("CaseLifecycleEvent", current)
    assert [p.writer_version for p in problems] == [1, 2, 3, 4]
    assert {p.kind for p in problems} == {"reader_field_missing_default_value"}
