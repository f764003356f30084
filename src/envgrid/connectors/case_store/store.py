"""The case store in PostgreSQL (psycopg 3): one transaction per batch, each table written by COPY into a
temporary staging table and one INSERT ... SELECT ... ON CONFLICT from it.

The conflict rules are the batch's (`rows.Batch`): an event row is inserted once (`DO NOTHING`), a case's view
and its deadlines are replaced only by a newer revision, a unit's first revision only by an earlier one. So a
batch written twice, or an older record after a newer one, changes nothing. The sink commits its Kafka offsets
only after `write` returned, i.e. after the transaction committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from .migrate import SCHEMA, migrate
from .rows import COLUMNS, FIRST, KEYS, NEWEST, Batch, Row

#: the order tables are written in (none refers to another; this order keeps lock order the same everywhere)
TABLES = ("case_revisions", "cases", "case_deadlines", "case_units", "case_feedback", "case_sla_events",
          "skipped_records")


def connect(dsn: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection for the sink or a reader; `application_name` says who it is in pg_stat_activity."""
    kwargs.setdefault("application_name", "envgrid-case-store")
    return psycopg.connect(dsn, **kwargs)


class CaseStore:
    """Writes batches of rows; reads what tests, benchmarks and `status` ask."""

    def __init__(self, conn: psycopg.Connection[Any], *, apply_migrations: bool = True) -> None:
        self.conn = conn
        if apply_migrations:
            migrate(conn)
        self._staged = False

    def write(self, batch: Batch) -> int:
        """Write `batch` in one transaction; returns the rows inserted or updated."""
        if not len(batch):
            return 0
        self._stage()
        changed = 0
        with self.conn.transaction(), self.conn.cursor() as cur:
            for table in TABLES:
                rows = batch.table(table)
                if rows:
                    copy_rows(cur, f"stage_{table}", COLUMNS[table], rows)
                    cur.execute(_upsert(table))
                    changed += max(cur.rowcount, 0)
        return changed

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        counts = {}
        with self.conn.cursor() as cur:
            for table in TABLES:
                row = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(_table(table))).fetchone()
                counts[table] = int(row[0]) if row else 0
        return counts

    def _stage(self) -> None:
        """Temporary staging tables, one per table, emptied at every commit; made once per connection."""
        if self._staged:
            return
        with self.conn.transaction():
            for table in TABLES:
                self.conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS").format(
                    sql.Identifier(f"stage_{table}"), _table(table)))
        self._staged = True


def copy_rows(cur: psycopg.Cursor[Any], table: str | sql.Composable, columns: Iterable[str], rows: Iterable[Row]) -> None:
    """COPY `rows` into `table` (a name, or a composed qualified name) in the text format."""
    target = sql.Identifier(table) if isinstance(table, str) else table
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(target, sql.SQL(", ").join(map(sql.Identifier, columns)))
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _upsert(table: str) -> sql.Composed:
    columns, keys = COLUMNS[table], KEYS[table]
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    head = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) ").format(
        _table(table), names, names, sql.Identifier(f"stage_{table}"), sql.SQL(", ").join(map(sql.Identifier, keys)))
    if table in NEWEST or table in FIRST:
        column, compare = (NEWEST[table], "<") if table in NEWEST else (FIRST[table], ">")
        updates = sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                                     for c in columns if c not in keys)
        return head + sql.SQL("DO UPDATE SET {} WHERE {}.{} {} EXCLUDED.{}").format(
            updates, _table(table), sql.Identifier(column), sql.SQL(compare), sql.Identifier(column))
    return head + sql.SQL("DO NOTHING")


def _table(table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table))
