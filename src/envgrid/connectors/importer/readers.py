"""Rows of an export file, one dict per row (column name -> cell), numbered from 1 (the first data row).

    with open_rows(Path("2018.csv"), mapping) as rows:
        rows.columns     # the header
        for number, row in rows: ...

CSV in UTF-8 (with or without BOM) or GBK/GB18030 (the usual Excel export in China): the mapping's `encoding`,
else UTF-8 when the file's head decodes as UTF-8, else GB18030 (a superset of GBK). JSONL: one object per line.
XLSX: openpyxl's read-only mode, streaming one row at a time; the first row is the header.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

FORMATS = ("csv", "jsonl", "xlsx")
_HEAD_BYTES = 1 << 20
#: The key of a JSONL row that could not be read as an object (rejected as `unreadable_row`).
UNREADABLE = "\0unreadable"


class InputFileError(ValueError):
    """The file cannot be read as an export (format, encoding, header); the message names the file."""


class Rows:
    """An open export file: `columns` and an iterator of (row number, row)."""

    def __init__(self, path: Path, columns: list[str], rows: Iterator[tuple[int, dict[str, Any]]],
                 closer: Any, total: int | None) -> None:
        self.path, self.columns, self._rows, self._closer, self.total = path, columns, rows, closer, total

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return self._rows

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._closer.close()


def file_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    kind = {"csv": "csv", "txt": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "xlsx": "xlsx", "xlsm": "xlsx"}.get(suffix)
    if kind is None:
        raise InputFileError(f"{path}: unknown file type {path.suffix!r}; the importer reads .csv, .jsonl and .xlsx")
    return kind


def open_rows(path: Path, encoding: str | None = None, sheet: str | None = None, count: bool = True) -> Rows:
    """The rows of `path` by its suffix; `count` also counts them first (for the progress bar's ETA)."""
    kind = file_format(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    if kind == "csv":
        return _csv_rows(path, encoding or detect_encoding(path), count)
    if kind == "jsonl":
        return _jsonl_rows(path, count)
    return _xlsx_rows(path, sheet)


def detect_encoding(path: Path) -> str:
    """`utf-8-sig` when the head of the file is valid UTF-8 (a BOM is dropped), else `gb18030`."""
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def cell_text(value: Any) -> str:
    """A cell as text, stripped; '' for an empty cell. Excel numbers that are whole print without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- formats ---------------------------------------------------------------------------------------------


def _csv_rows(path: Path, encoding: str, count: bool) -> Rows:
    total = _count_csv(path, encoding) if count else None
    stream = path.open("r", encoding=encoding, newline="")
    reader = csv.reader(stream)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        stream.close()
        raise InputFileError(f"{path}: empty file, no header row") from None
    except UnicodeDecodeError as error:
        stream.close()
        raise InputFileError(f"{path}: not {encoding}: {error}; set `encoding` in the mapping") from None
    _check_header(path, header)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for number, cells in enumerate(reader, start=1):
                if not any(cell.strip() for cell in cells):
                    yield number, {}  # an empty line is a row too, rejected as such: every row is accounted for
                    continue
                yield number, dict(zip(header, cells, strict=False))
        except UnicodeDecodeError as error:
            raise InputFileError(f"{path}: not {encoding} after line {reader.line_num}: {error}; set `encoding` "
                                 f"in the mapping") from None

    return Rows(path, header, rows(), stream, total)


def _count_csv(path: Path, encoding: str) -> int | None:
    try:
        with path.open("r", encoding=encoding, newline="") as stream:
            return max(sum(1 for _ in csv.reader(stream)) - 1, 0)
    except UnicodeDecodeError:
        return None  # reported with its line when the rows are read


def _jsonl_rows(path: Path, count: bool) -> Rows:
    total = None
    if count:
        with path.open("rb") as counting:
            total = sum(1 for line in counting if line.strip())
    stream: IO[str] = path.open("r", encoding="utf-8-sig")

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        number = 0
        for line in stream:
            if not line.strip():
                continue
            number += 1
            try:
                value = json.loads(line)
            except ValueError as error:
                yield number, {UNREADABLE: f"not a JSON object: {error}"}
                continue
            yield number, value if isinstance(value, dict) else {UNREADABLE: f"not a JSON object: {line[:80]!r}"}

    return Rows(path, [], rows(), stream, total)  # JSONL has no header: each row names its own keys


def _xlsx_rows(path: Path, sheet: str | None) -> Rows:
    import openpyxl  # only for Excel files

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001  openpyxl raises zipfile, KeyError, InvalidFileException, ...
        raise InputFileError(f"{path}: not a readable .xlsx workbook: {error}") from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise InputFileError(f"{path}: no worksheet {sheet!r}; worksheets: {', '.join(book.sheetnames)}")
    worksheet = book[sheet] if sheet is not None else book.worksheets[0]
    values = worksheet.iter_rows(values_only=True)
    try:
        header = [cell_text(cell) for cell in next(values)]
    except StopIteration:
        book.close()
        raise InputFileError(f"{path}: worksheet {worksheet.title!r} is empty, no header row") from None
    while header and not header[-1]:
        header.pop()
    _check_header(path, header)
    total = worksheet.max_row - 1 if isinstance(worksheet.max_row, int) and worksheet.max_row > 1 else None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, cells in enumerate(values, start=1):
            if not any(cell_text(cell) for cell in cells):
                yield number, {}
                continue
            yield number, {name: _excel_value(cell) for name, cell in zip(header, cells, strict=False) if name}

    return Rows(path, header, rows(), book, total)


def _excel_value(cell: Any) -> Any:
    """Excel dates stay datetimes (naive: the mapping's time zone applies); a date alone is midnight."""
    if isinstance(cell, datetime):
        return cell
    if isinstance(cell, date):
        return datetime.combine(cell, time())
    return cell


def _check_header(path: Path, header: list[str]) -> None:
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    if duplicates:
        raise InputFileError(f"{path}: the header names {', '.join(duplicates)} more than once; rename the columns")
