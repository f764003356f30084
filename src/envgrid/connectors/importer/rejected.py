"""The rejected-rows report (CSV, UTF-8 with a BOM so Excel shows the Chinese): row number, reason, message,
then the row's original cells under the file's own column names (JSONL: one `original` column with the row as
JSON). A CSV or XLSX export's report can be corrected and imported again with the same mapping: the importer
reads only the mapped columns, and a row keeps its event id.

On resume the report is cut back to the rows the checkpoint covers, so every row appears at most once.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from envgrid.connectors.importer.readers import cell_text

FIXED = ("row", "reason", "message")
ORIGINAL = "original"


class RejectedReport:
    """Appends rejected rows; `sync()` makes what was written durable (before the checkpoint passes it)."""

    def __init__(self, path: Path, columns: Sequence[str], keep_through: int) -> None:
        """Open for a run that starts after row `keep_through`: earlier reports of later rows are dropped."""
        self.path = path
        self.columns = list(columns) or [ORIGINAL]
        kept = _kept_rows(path, keep_through)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.new")  # the report the checkpoint covers, replaced atomically
        with fresh.open("w", encoding="utf-8-sig", newline="") as stream:
            csv.writer(stream).writerows([[*FIXED, *self.columns], *kept])
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(fresh, path)
        self._stream: IO[str] = path.open("a", encoding="utf-8", newline="")
        self._writer = csv.writer(self._stream)
        self.written = len(kept)

    def add(self, row: int, reason: str, message: str, original: dict[str, Any]) -> None:
        if self.columns == [ORIGINAL]:
            cells = [json.dumps(original, ensure_ascii=False, default=str)]
        else:
            cells = [cell_text(original.get(name)) for name in self.columns]
        self._writer.writerow([row, reason, message, *cells])
        self.written += 1

    def sync(self) -> None:
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def close(self) -> None:
        self.sync()
        self._stream.close()


def read_report(path: Path) -> list[dict[str, str]]:
    """The report's rows as dicts (tests, and whoever checks a report by program)."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def _kept_rows(path: Path, keep_through: int) -> list[list[str]]:
    if keep_through <= 0 or not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))[1:]
    return [row for row in rows if row and row[0].isdigit() and int(row[0]) <= keep_through]
