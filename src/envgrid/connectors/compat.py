"""Schema evolution guard: every event schema must be BACKWARD_TRANSITIVE compatible with its history.

BACKWARD_TRANSITIVE means: a consumer built with the current schema (the *reader*) can read every record
ever written with any earlier version (the *writers*). That is what lets us deploy consumers first and
replay long-retention audit topics (case.history, intake) years later. The registry enforces the same
level per subject (see `envgrid.connectors.serde.register_all`); this check catches a break before it gets there.

Earlier versions are kept as expanded snapshots in `schemas/history/<Event>/v<N>.avsc` (N = 1, 2, ...).
The checker is the avro package's `ReaderWriterCompatibilityChecker` (the Java checker's port).
Two of its rules worth knowing when reading its verdicts:
- an enum that lost symbols still reads old data when the *reader's* enum declares a `default` symbol
  (the lost symbols resolve to it) — which is why every enum here has one;
- a new field without a `default` is the classic break (`reader_field_missing_default_value`).
It ignores logical types (timestamp-millis vs plain long) and docs.

    python -m envgrid.connectors.compat check [--require-snapshots]
    python -m envgrid.connectors.compat snapshot <Event>|--all
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from envgrid.connectors.contracts import EVENT_TYPES, SCHEMAS_DIR, ContractError, load_event

HISTORY_DIR = SCHEMAS_DIR / "history"
_VERSION_FILE = re.compile(r"^v(\d+)\.avsc$")


@dataclass(frozen=True)
class Incompatibility:
    """One reason the current schema cannot read data written with an earlier version."""

    event_name: str
    writer_version: int
    kind: str  # the checker's SchemaIncompatibilityType name, e.g. reader_field_missing_default_value
    location: str  # reader field path and checker location, e.g. `kind.symbols (/fields/3/type/symbols)`
    message: str

    def __str__(self) -> str:
        return f"{self.event_name}: cannot read v{self.writer_version} data: {self.kind} at {self.location}: {self.message}"


def incompatibilities(reader: Mapping[str, Any], writer: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, where, message) describing why `reader` cannot read data written with `writer`; [] if it can.

    The checker merges all findings of one pair into a single result (kinds, locations and messages
    as unordered sets), so this returns at most one summarising entry; `where` names the fields.
    """
    reader_schema = avro.schema.parse(json.dumps(reader))
    writer_schema = avro.schema.parse(json.dumps(writer))
    # A fresh checker each time: it memoises by object identity of the parsed schemas.
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader_schema, writer_schema)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    kinds = ",".join(dict.fromkeys(k.value for k in result.incompatibilities)) or "incompatible"
    where = ", ".join(sorted(_field_path(reader, loc) for loc in result.locations if loc != "/")) or "/"
    return [(kinds, where, "; ".join(sorted(result.messages)))]


def history(event_name: str, history_dir: Path = HISTORY_DIR) -> list[tuple[int, dict[str, Any]]]:
    """Earlier versions of `event_name` as (version, expanded schema), oldest first."""
    folder = history_dir / event_name
    versions = []
    for path in folder.glob("v*.avsc") if folder.is_dir() else []:
        match = _VERSION_FILE.match(path.name)
        if not match:
            raise ContractError(f"{path}: history files must be named v<N>.avsc")
        try:
            versions.append((int(match.group(1)), json.loads(path.read_text(encoding="utf-8"))))
        except json.JSONDecodeError as error:
            raise ContractError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    return sorted(versions, key=lambda item: item[0])


def check_event(
    event_name: str, current: Mapping[str, Any] | None = None, history_dir: Path = HISTORY_DIR
) -> list[Incompatibility]:
    """Check `current` (default: the schema in `schemas/`) against every snapshot of `event_name`."""
    reader = current if current is not None else load_event(event_name).schema
    found = []
    for version, writer in history(event_name, history_dir):
        for kind, location, message in incompatibilities(reader, writer):
            found.append(Incompatibility(event_name, version, kind, location, message))
    return found


def check_all(history_dir: Path = HISTORY_DIR) -> list[Incompatibility]:
    """Incompatibilities of every event in EVENT_TYPES (empty when all is well)."""
    return [problem for name in EVENT_TYPES for problem in check_event(name, history_dir=history_dir)]


def unsnapshotted(history_dir: Path = HISTORY_DIR) -> list[str]:
    """Events whose current schema differs from their latest snapshot (or that have none)."""
    return [name for name in EVENT_TYPES if _latest(name, history_dir) != load_event(name).schema]


def snapshot(event_name: str, history_dir: Path = HISTORY_DIR) -> Path | None:
    """Write the current schema as the next version when it differs from the latest; return its path.

    Refuses (ContractError) when the current schema is incompatible with the history: a snapshot is
    a promise that data written with it can be read from now on.
    """
    current = load_event(event_name).schema
    versions = history(event_name, history_dir)
    if versions and versions[-1][1] == current:
        return None
    problems = check_event(event_name, current, history_dir)
    if problems:
        raise ContractError("; ".join(str(p) for p in problems))
    next_version = versions[-1][0] + 1 if versions else 1
    path = history_dir / event_name / f"v{next_version}.avsc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envgrid.connectors.compat", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check_cmd = commands.add_parser("check", help="check every schema against its history (BACKWARD_TRANSITIVE)")
    check_cmd.add_argument("--require-snapshots", action="store_true", help="fail when a changed schema has no snapshot")
    snap_cmd = commands.add_parser("snapshot", help="add the next history version of an event when it changed")
    snap_cmd.add_argument("event", nargs="?", choices=list(EVENT_TYPES))
    snap_cmd.add_argument("--all", action="store_true", help="snapshot every event that changed")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _run_check(args.require_snapshots)
        if not args.all and not args.event:
            parser.error("snapshot needs an event name or --all")
        for name in EVENT_TYPES if args.all else [args.event]:
            written = snapshot(name)
            print(f"{name}: wrote {written.relative_to(SCHEMAS_DIR.parent)}" if written else f"{name}: unchanged")
        return 0
    except ContractError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run_check(require_snapshots: bool) -> int:
    problems = check_all()
    for problem in problems:
        print(f"INCOMPATIBLE {problem}")
    pending = unsnapshotted()
    for name in pending:
        print(f"note: {name} differs from its latest snapshot; run `python -m envgrid.connectors.compat snapshot {name}`")
    failed = bool(problems) or (require_snapshots and bool(pending))
    print(f"{len(EVENT_TYPES)} event schemas checked BACKWARD_TRANSITIVE: {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


def _field_path(schema: Mapping[str, Any], location: str) -> str:
    """`/fields/3/type/fields/0/type` -> `location.longitude (/fields/3/...)`: field names a person can find."""
    names, node, tokens = [], schema, location.strip("/").split("/")
    for index, token in enumerate(tokens):
        if token == "fields" and isinstance(node, dict) and index + 1 < len(tokens) and tokens[index + 1].isdigit():
            fields = node.get("fields", [])
            position = int(tokens[index + 1])
            node = fields[position] if position < len(fields) else {}
            names.append(str(node.get("name", "?")))
        elif token == "type" and isinstance(node, dict) and isinstance(node.get("type"), (dict, list)):
            node = node["type"]
        elif token in ("items", "values") and isinstance(node, dict):
            node = node.get(token, {})
        elif token == "symbols":
            names.append("symbols")
    return f"{'.'.join(names) or '(top level)'} ({location})"


def _latest(event_name: str, history_dir: Path) -> dict[str, Any] | None:
    versions = history(event_name, history_dir)
    return versions[-1][1] if versions else None


if __name__ == "__main__":
    sys.exit(main())
