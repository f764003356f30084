"""Versioned schema migrations: plain numbered SQL files (`migrations/NNNN_name.sql`), applied in order.

`case_store.schema_version` holds one row per applied file (version, name, SHA-256, when). `migrate` applies
every file whose version is not there yet, in order, in one transaction together with their rows (all or none),
under an advisory lock so that two sinks starting at once do not both apply them. A file that was applied and has
changed since is refused: a migration, once applied somewhere, is never edited; add the next one instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SCHEMA = "case_store"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x656E7667  # pg_advisory_xact_lock key of the migrator ("envg")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file in version order; a stray file or a gap in the numbers is an error naming it."""
    found: list[Migration] = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: a migration is named NNNN_lower_case_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path, path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, 1):
        if migration.version != expected:
            raise MigrationError(f"{migration.path}: version {migration.version} where {expected} was expected "
                                 f"(migrations are numbered 0001, 0002, ... without gaps)")
    return found


def pending(applied: dict[int, str], available: list[Migration]) -> list[Migration]:
    """The migrations still to apply, given version -> SHA-256 of those applied; an applied file that changed
    since, or an applied version this release does not know, is an error."""
    known = {m.version: m for m in available}
    for version, digest in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(f"the database has schema version {version}, which this release does not know "
                                 f"(its newest is {max(known, default=0)}): run a newer envgrid against it")
        if migration.sha256 != digest:
            raise MigrationError(f"{migration.path} was changed after it was applied (version {version}); never edit "
                                 f"an applied migration, add the next one instead")
    return [m for m in available if m.version not in applied]


def migrate(conn: Any, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply what is pending on the psycopg connection `conn`; returns what was applied (oldest first)."""
    available = migrations(directory)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (
            version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())""")
        applied = dict(conn.execute(f"SELECT version, sha256 FROM {SCHEMA}.schema_version").fetchall())
        todo = pending(applied, available)
        for migration in todo:
            try:
                conn.execute(migration.sql)
            except Exception as error:
                raise MigrationError(f"{migration.path} failed: {error}") from error
            conn.execute(f"INSERT INTO {SCHEMA}.schema_version (version, name, sha256) VALUES (%s, %s, %s)",
                         (migration.version, migration.name, migration.sha256))
    return todo


def current_version(conn: Any) -> int:
    """The newest applied version (0 for a database never migrated)."""
    exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()[0]
    if exists is None:
        return 0
    return int(conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version").fetchone()[0])
