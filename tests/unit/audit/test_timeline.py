"""Timelines from the in-memory pipeline's published records, and what the audit's outputs say of them."""

from __future__ import annotations

import csv
import io
import json

from envgrid.audit.reader import Window
from envgrid.audit.render import as_csv, as_dict, as_json, print_table
from envgrid.audit.run import Report, Selection
from envgrid.audit.timeline import build, provenance
from tests.unit.audit.traffic import feedback, history, sla


def _case_with_everything() -> str:
    with_sla, with_feedback = sla(), feedback()
    return max((c for c in history() if c in with_sla and c in with_feedback), key=lambda c: len(history()[c]))


def test_a_timeline_holds_every_revision_in_order_and_feedback_and_sla_signals_by_time() -> None:
    case_id = _case_with_everything()
    audit = build(case_id, history()[case_id], feedback()[case_id], sla()[case_id])
    sources = [row.source for row in audit.rows]
    assert sources.count("history") == _unique(history()[case_id])
    assert sources.count("feedback") == _unique(feedback()[case_id]) and sources.count("sla") == _unique(sla()[case_id])
    signals = [row.at for row in audit.rows if row.source != "history"]
    assert signals == sorted(signals)
    revisions = [row.revision for row in audit.rows if row.source == "history"]
    assert revisions[0] == 0 and revisions == sorted(revisions)
    assert audit.rows[0].event == "created" and audit.breaks == []


def _unique(published: list) -> int:
    """Records once each: the traffic re-delivers some (a repeated notice gets its outputs again)."""
    return len({p.value["event_id"] for p in published})


def test_the_opening_carries_the_routing_decision_with_its_provenance() -> None:
    case_id = _case_with_everything()
    audit = build(case_id, history()[case_id])
    assert audit.decision is not None and audit.source_event_id
    for name in ("registry_version", "rules_version", "rule_id", "resolution_path", "boundary_candidates"):
        assert name in audit.decision
    line = provenance(audit.decision)
    assert audit.decision["rule_id"] in line and audit.decision["registry_version"] in line
    assert line in audit.rows[0].reason


def test_selection_by_grid_and_department_reads_the_case_snapshots() -> None:
    case_id = _case_with_everything()
    entries = [p.value for p in history()[case_id]]
    snapshot = entries[0]["case"]
    assert Selection(grid=snapshot["grid_chain"][1]).matches(case_id, entries)
    assert Selection(grid="3303").matches(case_id, entries)
    assert not Selection(grid="999999").matches(case_id, entries)
    assert Selection(department=snapshot["lead_department"]).matches(case_id, entries)
    assert not Selection(department="nobody").matches(case_id, entries)
    assert Selection(case_id=case_id).matches(case_id, entries) and not Selection(case_id="x").matches(case_id, [])
    assert Selection(window=Window(0, 1)).matches(case_id, entries)


def test_json_and_csv_say_what_the_table_says() -> None:
    case_id = _case_with_everything()
    altered = list(history()[case_id])
    del altered[2]
    report = Report(cases=[build(case_id, history()[case_id], feedback()[case_id], sla()[case_id]),
                           build("other", altered)], history_read=10, history_seconds=0.5)
    document = json.loads(as_json(report))
    assert document["read"] == {"history_records": 10, "decoded": 0, "seconds": 0.5, "records_per_second": 20.0}
    assert document["cases"][0]["chain"]["intact"] and not document["cases"][1]["chain"]["intact"]
    assert document["cases"][1]["chain"]["breaks"][0]["revision"] == altered[2].value["revision"]
    assert len(document["cases"][0]["timeline"]) == len(report.cases[0].rows)
    rows = list(csv.DictReader(io.StringIO(as_csv(report))))
    assert len([r for r in rows if r["case_id"] == case_id]) == len(report.cases[0].rows)
    assert [r["source"] for r in rows if r["case_id"] == "other"][-1] == "break"
    from rich.console import Console

    console = Console(record=True, width=200)
    print_table(report, console)
    text = console.export_text()
    assert f"case {case_id}" in text and "chain intact" in text and "BREAK" in text and "20 records/s" in text
    assert as_dict(report)["redecided"] == []
