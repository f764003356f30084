"""The import loop against a fake producer: every row accounted for, the checkpoint only covers acknowledged rows,
a resumed run re-sends at most the unacknowledged tail (same ids, same bytes), a finished file sends nothing."""

from __future__ import annotations

from collections import Counter

from envgrid.connectors.importer.checkpoint import FileIdentity, load_checkpoint
from envgrid.connectors.importer.convert import Converter
from envgrid.connectors.importer.readers import open_rows
from envgrid.connectors.importer.rejected import RejectedReport, read_report
from envgrid.connectors.importer.run import Sink, import_rows
from envgrid.simulator.hotline_export import export_rows, write_csv
from tests.unit.importer.importkit import FakeProducer, example_mapping

TOPIC = "envgrid.intake.petition-complaints"


def run(tmp_path, export, producer, flush_timeout_s=0.05):
    checkpoint_path, report_path = tmp_path / "cp.json", tmp_path / "rejected.csv"
    checkpoint = load_checkpoint(checkpoint_path, export, FileIdentity.of(export), TOPIC)
    with open_rows(export) as rows:
        report = RejectedReport(report_path, rows.columns, checkpoint.row)
        try:
            summary = import_rows(rows, Converter(example_mapping()), Sink(producer, TOPIC, b"\0\0\0\0\1", report),
                                  checkpoint, checkpoint_path, total=rows.total, flush_timeout_s=flush_timeout_s)
        finally:
            report.close()
    return summary, load_checkpoint(checkpoint_path, export, FileIdentity.of(export), TOPIC), read_report(report_path)


def test_a_killed_import_resumes_and_accounts_for_every_row_once(tmp_path):
    expected = list(export_rows(seed=3, count=600, bad_share=0.1, pool=200))
    export = tmp_path / "export.csv"
    write_csv(export, expected)
    bad = {number for number, row in enumerate(expected, start=1) if row.bad}

    # The broker stops answering after the first 250 records: those after them are produced, never acknowledged.
    first = FakeProducer(acknowledge=lambda index: index < 250)
    summary, checkpoint, report = run(tmp_path, export, first)
    assert not summary.finished and not checkpoint.finished
    acknowledged = {key for _, key, _ in first.produced[:250]}
    assert checkpoint.row < 600 and checkpoint.sent == 250
    stopped_at = checkpoint.row
    assert checkpoint.sent + sum(checkpoint.rejected.values()) == checkpoint.row

    second = FakeProducer()
    resumed, checkpoint, report = run(tmp_path, export, second)
    assert resumed.finished and checkpoint.finished and resumed.resumed_from == stopped_at
    assert resumed.read == 600 == resumed.sent + sum(resumed.rejected.values())
    assert resumed.rejected == Counter(row.expected_reason for row in expected if row.bad)
    assert sorted(int(r["row"]) for r in report) == sorted(bad)  # each bad row once, though read twice
    # re-sent: only records never acknowledged, with the same key and bytes as the first time
    first_bytes = dict((key, value) for _, key, value in first.produced)
    resent = [(key, value) for _, key, value in second.produced if key in first_bytes]
    assert all(first_bytes[key] == value for key, value in resent)
    assert not {key for key, _ in resent} & acknowledged
    assert len({key for _, key, _ in (*first.produced, *second.produced)}) == 600 - len(bad) == resumed.sent

    third = FakeProducer()
    again, _, _ = run(tmp_path, export, third)
    assert again.already_done and third.produced == [] and again.sent == resumed.sent


def test_a_failed_delivery_stops_the_import_before_the_failed_row(tmp_path):
    export = tmp_path / "export.csv"
    write_csv(export, list(export_rows(seed=3, count=300, bad_share=0.0, pool=100)))
    producer = FakeProducer(fail=lambda index: index == 40)
    summary, checkpoint, _ = run(tmp_path, export, producer)
    assert not summary.finished and summary.failed == 1 and "TOPIC_AUTHORIZATION_FAILED" in summary.errors[0]
    assert checkpoint.row == 40 and checkpoint.sent == 40  # rows 1..40 acknowledged; row 41 failed
    assert len(producer.produced) < 300  # it stopped instead of failing every row
