"""The command's refusals before it connects anywhere: exit code 2 and a message naming the file and what to do."""

from __future__ import annotations

import csv

from envgrid.connectors.importer.__main__ import main
from tests.unit.importer.importkit import EXAMPLE_MAPPING, GOOD, HEADER


def test_a_file_without_a_mapped_column_is_refused_listing_its_columns(tmp_path, capsys):
    export = tmp_path / "export.csv"
    with export.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER[:-1])  # no 紧急程度
        writer.writerow(GOOD[:-1])
    assert main([str(export), "--mapping", str(EXAMPLE_MAPPING)]) == 2
    error = capsys.readouterr().err
    assert "no column 紧急程度" in error and "export.csv" in error and "工单编号" in error
    assert not (tmp_path / "export.csv.checkpoint.json").exists()


def test_a_missing_file_or_an_unknown_type_is_refused(tmp_path, capsys):
    assert main([str(tmp_path / "none.csv"), "--mapping", str(EXAMPLE_MAPPING)]) == 2
    assert "none.csv: no such file" in capsys.readouterr().err
    (tmp_path / "export.xls").write_bytes(b"\xd0\xcf")
    assert main([str(tmp_path / "export.xls"), "--mapping", str(EXAMPLE_MAPPING)]) == 2
    assert ".xlsx" in capsys.readouterr().err


def test_a_bad_rate_is_refused(tmp_path, capsys):
    assert main([str(tmp_path / "x.csv"), "--mapping", str(EXAMPLE_MAPPING), "--rate=-3/s"]) == 2
    assert "rows per second" in capsys.readouterr().err
