"""The rejected-rows report: row, reason, message and the original cells; cut back to the checkpoint on resume."""

from __future__ import annotations

import csv

from envgrid.connectors.importer.rejected import RejectedReport, read_report


def test_the_report_keeps_the_original_cells_under_their_column_names(tmp_path):
    path = tmp_path / "rejected.csv"
    report = RejectedReport(path, ["工单编号", "来电时间"], keep_through=0)
    report.add(4, "bad_time", "row 4: 来电时间 '2018年13月' is not a time", {"工单编号": "WZ4", "来电时间": "2018年13月"})
    report.close()
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8
    assert read_report(path) == [{"row": "4", "reason": "bad_time", "message": "row 4: 来电时间 '2018年13月' is not a time",
                                  "工单编号": "WZ4", "来电时间": "2018年13月"}]


def test_jsonl_rows_are_kept_as_json(tmp_path):
    path = tmp_path / "rejected.csv"
    report = RejectedReport(path, [], keep_through=0)
    report.add(1, "empty_row", "row 1: the row is empty", {})
    report.close()
    assert read_report(path) == [{"row": "1", "reason": "empty_row", "message": "row 1: the row is empty",
                                  "original": "{}"}]


def test_a_resumed_report_drops_the_rows_after_the_checkpoint(tmp_path):
    path = tmp_path / "rejected.csv"
    report = RejectedReport(path, ["a"], keep_through=0)
    for row in (2, 5, 9):
        report.add(row, "empty_row", f"row {row}", {})
    report.close()
    resumed = RejectedReport(path, ["a"], keep_through=5)  # rows 6.. are read and reported again
    resumed.add(9, "empty_row", "row 9", {})
    resumed.close()
    assert [r["row"] for r in read_report(path)] == ["2", "5", "9"]
    with path.open(encoding="utf-8-sig", newline="") as stream:
        assert next(csv.reader(stream)) == ["row", "reason", "message", "a"]
