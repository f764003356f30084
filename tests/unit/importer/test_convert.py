"""Rows of each format become the same PetitionComplaint; bad rows are rejected with the pipeline's reasons."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import fastavro
import pytest

from envgrid.connectors.contracts import load_event
from envgrid.connectors.importer.convert import Complaint, Converter, Rejection, event_id_for
from envgrid.connectors.importer.readers import InputFileError, detect_encoding, open_rows
from envgrid.domain.registry import CHINA_TIME
from tests.unit.importer.importkit import BAD_TIME, GOOD, HEADER, UNLISTED, example_mapping


def write_csv(path, rows, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def write_xlsx(path, rows):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        cells = list(row)
        if cells[1] == GOOD[1]:  # Excel keeps times as dates and phone numbers as numbers
            cells[1] = datetime(2018, 6, 1, 10, 0)
            cells[9] = int(cells[9])
        sheet.append(cells)
    book.save(path)
    return path


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(dict(zip(HEADER, row, strict=True)), ensure_ascii=False) + "\n"
                            for row in rows), encoding="utf-8")
    return path


def convert_file(path, encoding=None):
    converter = Converter(example_mapping())
    with open_rows(path, encoding) as rows:
        return [converter.convert(number, row) for number, row in rows], rows


WRITERS = {"utf-8.csv": write_csv, "gbk.csv": lambda p, r: write_csv(p, r, "gbk"), "x.jsonl": write_jsonl,
           "x.xlsx": write_xlsx}


@pytest.mark.parametrize("name", WRITERS)
def test_each_format_gives_the_same_complaint(tmp_path, name):
    results, rows = convert_file(WRITERS[name](tmp_path / name, [GOOD, BAD_TIME, UNLISTED]))
    good, bad_time, unlisted = results
    assert isinstance(good, Complaint) and good.row == 1
    value = good.value
    assert value["event_id"] == event_id_for("wenzhou-12345", "WZ2018060100000001")
    assert value["occurred_at"] == datetime(2018, 6, 1, 10, 0, tzinfo=CHINA_TIME)
    assert value["received_at"] == datetime(2018, 6, 1, 10, 5, tzinfo=CHINA_TIME)
    assert value["channel"] == "HOTLINE_12369" and value["channel_reference"] == "WZ2018060100000001"
    assert value["category"] == "construction_dust" and value["severity"] == "HIGH"
    assert value["description"] == "工地扬尘\n工地夜间施工扬尘很大"
    assert value["location"]["address"] == "温州市鹿城区五马街道解放街12号" and value["location"]["longitude"] is None
    assert value["complainant"] == {"name": "王芳", "phone": "13812345678", "id_number": None}
    assert fastavro.schemaless_reader(io.BytesIO(good.body), load_event("PetitionComplaint").parsed) == value
    assert isinstance(bad_time, Rejection) and bad_time.reason == "bad_time" and "来电时间" in bad_time.message
    assert isinstance(unlisted, Rejection) and unlisted.reason == "unknown_category" and "其他环境问题" in unlisted.message
    assert bad_time.row == 2 and unlisted.row == 3


def test_gbk_is_recognised_and_utf8_preferred(tmp_path):
    assert detect_encoding(write_csv(tmp_path / "gbk.csv", [GOOD], "gbk")) == "gb18030"
    assert detect_encoding(write_csv(tmp_path / "utf.csv", [GOOD])) == "utf-8-sig"


def test_a_mis_declared_encoding_is_an_error_naming_the_file(tmp_path):
    path = write_csv(tmp_path / "gbk.csv", [GOOD] * 3, "gbk")
    with pytest.raises(InputFileError, match="gbk.csv"):
        convert_file(path, encoding="utf-8")


@pytest.mark.parametrize(("change", "reason"), [
    ({"来电时间": "2015-06-01 09:00:00", "登记时间": ""}, "time_out_of_window"),
    ({"来电时间": "2018-06-01 10:00:00", "登记时间": "2018-05-01 10:00:00"}, "time_out_of_window"),
    ({"诉求标题": "", "诉求内容": ""}, "missing_value"),
    ({"事发地址": ""}, "missing_value"),
    ({"诉求内容": "很" * 8_001}, "field_too_long"),
    ({"工单编号": "W" * 129}, "field_too_long"),
    ({"来源渠道": "电报"}, "unknown_value"),
])
def test_rows_break_the_pipelines_own_contract(change, reason):
    row = dict(zip(HEADER, GOOD, strict=True)) | change
    result = Converter(example_mapping()).convert(7, row)
    assert isinstance(result, Rejection) and result.reason == reason and result.message.startswith("row 7: ")
    assert result.original == row


def test_an_empty_or_unreadable_row_is_rejected_not_skipped(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(dict(zip(HEADER, GOOD, strict=True)), ensure_ascii=False) + "\n[1, 2]\n{}\n",
                    encoding="utf-8")
    results, _ = convert_file(path)
    assert [getattr(r, "reason", None) for r in results] == [None, "unreadable_row", "empty_row"]


def test_event_ids_are_deterministic():
    assert event_id_for("s", "1") == event_id_for("s", "1") != event_id_for("s", "2") != event_id_for("t", "2")
    row = dict(zip(HEADER, GOOD, strict=True))
    assert event_id_for("s", None, row) == event_id_for("s", "", dict(reversed(row.items())))
    assert event_id_for("s", None, row) != event_id_for("s", None, row | {"诉求内容": "别的"})
    # pinned: a changed namespace or name layout would make a re-import create every record anew
    assert event_id_for("wenzhou-12345", "WZ1") == "726a8e11-82b0-5f14-a96f-43bdbde2e4b0"


def test_a_repeated_record_number_is_rejected_naming_the_first_row():
    converter = Converter(example_mapping())
    row = dict(zip(HEADER, GOOD, strict=True))
    assert isinstance(converter.convert(1, row), Complaint)
    again = converter.convert(2, row | {"诉求内容": "另一件事"})
    assert isinstance(again, Rejection) and again.reason == "duplicate_record_number" and "also row 1's" in again.message
    resumed = Converter(example_mapping())
    resumed.remember(1, row)  # a resumed import notes the rows it skips
    assert resumed.convert(2, row).reason == "duplicate_record_number"
