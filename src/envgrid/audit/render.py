"""The audit's three outputs: a table for a person at a terminal (rich), JSON and CSV for tools."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from envgrid.audit.run import Report
from envgrid.audit.timeline import provenance

EXAMPLES = 5  # differences shown per re-decision
CSV_COLUMNS = ("case_id", "at", "source", "revision", "event", "unit", "reason")


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "read": {"history_records": report.history_read, "decoded": report.history_decoded,
                 "seconds": round(report.history_seconds, 3),
                 "records_per_second": round(report.history_rate, 1)},
        "cases": [{
            "case_id": case.case_id, "source_event_id": case.source_event_id, "decision": case.decision,
            "chain": {"intact": not case.breaks, "redelivered": case.redelivered,
                      "breaks": [{"revision": b.revision, "event_id": b.event_id, "offset": b.offset,
                                  "problem": b.problem} for b in case.breaks]},
            "timeline": [{"at": row.at.isoformat(), "source": row.source, "revision": row.revision,
                          "event": row.event, "unit": row.unit, "reason": row.reason} for row in case.rows],
        } for case in report.cases],
        "redecided": [{
            "versions": r.label, "decided": r.decided, "missing_reports": r.missing,
            "differ": len(r.differences), "route_differently": len(r.rerouted), "by_field": dict(r.counts()),
            "examples": [{"case_id": d.case_id, "source_event_id": d.source_event_id, "fields": list(d.fields),
                          "recorded": {f: d.recorded.get(f) for f in d.fields if f != "error"},
                          "redecided": {f: d.redecided.get(f) for f in d.fields} if d.redecided else d.error}
                         for d in r.examples(EXAMPLES)],
        } for r in report.redecided],
    }


def as_json(report: Report) -> str:
    return json.dumps(as_dict(report), ensure_ascii=False, indent=2)


def as_csv(report: Report) -> str:
    """One line per timeline row; a chain break is a row of source `break`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for case in report.cases:
        for row in case.rows:
            writer.writerow([case.case_id, row.at.isoformat(), row.source, "" if row.revision is None else row.revision,
                             row.event, row.unit, row.reason])
        for found in case.breaks:
            writer.writerow([case.case_id, "", "break", found.revision, found.event_id, "", found.problem])
    return out.getvalue()


def print_table(report: Report, console: Console) -> None:
    for case in report.cases:
        chain = "[green]chain intact[/]" if not case.breaks else f"[red]{len(case.breaks)} break(s)[/]"
        title = f"case {case.case_id} — {chain}"
        if case.decision:
            title += f"\nrouted: {provenance(case.decision)}"
        table = Table(title=title, title_justify="left", show_lines=False)
        for column in ("time", "rev", "event", "unit", "reason"):
            table.add_column(column, overflow="fold", max_width=90 if column == "reason" else None)
        for row in case.rows:
            table.add_row(row.at.isoformat(timespec="seconds"), "" if row.revision is None else str(row.revision),
                          row.event, row.unit, row.reason)
        console.print(table)
        for found in case.breaks:
            console.print(f"[red]BREAK[/] {found}")
    for result in report.redecided:
        missing = f", {len(result.missing)} reports not found" if result.missing else ""
        console.print(f"re-decided under {result.label}: {result.decided} reports, {len(result.rerouted)} route "
                      f"differently, {len(result.differences) - len(result.rerouted)} differ in provenance only{missing}"
                      + (f" (by field: {dict(result.counts())})" if result.differences else ""))
        for difference in result.examples(EXAMPLES):
            fresh = difference.redecided or {}
            changes = "; ".join(f"{f}: {difference.recorded.get(f)!r} -> {fresh.get(f, difference.error)!r}"
                                for f in difference.fields if f != "reason")
            console.print(f"  case {difference.case_id} (report {difference.source_event_id}): {changes or 'reason'}")
    console.print(f"{len(report.cases)} case(s), {report.breaks} chain break(s); read {report.history_read:,} "
                  f"case.history records in {report.history_seconds:.2f} s ({report.history_rate:,.0f} records/s), "
                  f"{report.history_decoded:,} of them decoded")
