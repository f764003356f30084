"""Event contracts: load an event's Avro schema with its shared named types inlined.

Every event's shape lives in `schemas/<Event>.avsc`. Shared named types (enums and records such as
`Severity` or `Location`) live one per file in `schemas/types/<Name>.avsc` and are referenced from the
events by name. Neither the schema registry nor the compatibility checker knows about those files, so
this module expands each event into ONE self-contained schema: the first occurrence of a named type is
replaced by its definition, later occurrences refer to it by full name (valid Avro: a name may be used
once it has been defined, depth first, in field order).

Pure: reads files, no network. Results are cached per (event, schemas directory).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastavro

from envgrid import paths

NAMESPACE = "cn.gov.wenzhou.envgrid"
SCHEMAS_DIR = paths.SCHEMAS_DIR

#: The one list of event types: event name -> its schema file, relative to `schemas/`.
EVENT_TYPES: Mapping[str, str] = {
    "PetitionComplaint": "PetitionComplaint.avsc",
    "PatrolReport": "PatrolReport.avsc",
    "DepartmentNotice": "DepartmentNotice.avsc",
    "CaseDispatched": "CaseDispatched.avsc",
    "CaseLifecycleEvent": "CaseLifecycleEvent.avsc",
    "CaseFeedback": "CaseFeedback.avsc",
    "SlaEvent": "SlaEvent.avsc",
    "DeadLetter": "DeadLetter.avsc",
    "ClockTick": "ClockTick.avsc",
    "CalendarPublished": "CalendarPublished.avsc",
    "ComplainantIdentityRecorded": "ComplainantIdentityRecorded.avsc",
    "SpotCheckDrawn": "SpotCheckDrawn.avsc",
}

PRIMITIVE_TYPES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})


class ContractError(ValueError):
    """An event schema cannot be loaded; the message names the file and what is wrong."""


@dataclass(frozen=True)
class EventContract:
    """One event type's expanded schema, ready for the registry, the checker and fastavro."""

    event_name: str
    full_name: str
    path: Path
    schema: dict[str, Any] = field(repr=False)
    parsed: Any = field(repr=False, compare=False)
    timestamp_fields: tuple[str, ...] = ()  # top-level timestamp-millis fields (tz-aware datetimes)

    @property
    def schema_str(self) -> str:
        """Compact JSON of the expanded schema (what is registered)."""
        return json.dumps(self.schema, ensure_ascii=False, separators=(",", ":"))

    def fresh_schema(self) -> dict[str, Any]:
        """A deep copy of the expanded schema, safe to modify (e.g. in tests of breaking changes)."""
        return copy.deepcopy(self.schema)


def load_event(event_name: str, schemas_dir: Path | str = SCHEMAS_DIR) -> EventContract:
    """Load the event `event_name` (a key of EVENT_TYPES) with its named types inlined."""
    if event_name not in EVENT_TYPES:
        known = ", ".join(EVENT_TYPES)
        raise ContractError(f"unknown event type {event_name!r}; known event types: {known}")
    return _load_cached(event_name, str(Path(schemas_dir).resolve()))


def load_all(schemas_dir: Path | str = SCHEMAS_DIR) -> dict[str, EventContract]:
    """Every event in EVENT_TYPES, by event name."""
    return {name: load_event(name, schemas_dir) for name in EVENT_TYPES}


def event_name_of(full_name: str) -> str | None:
    """Event name for a record full name (`cn.gov.wenzhou.envgrid.CaseFeedback` -> `CaseFeedback`)."""
    namespace, _, short = full_name.rpartition(".")
    if namespace == NAMESPACE and short in EVENT_TYPES:
        return short
    return None


def expand_schema_file(path: Path, types_dir: Path) -> dict[str, Any]:
    """Read the schema at `path` and inline every named type it references from `types_dir`."""
    raw = _read_json(path)
    if not isinstance(raw, dict) or raw.get("type") not in _NAMED_KINDS:
        raise ContractError(f"{path}: top level must be a named type (record, enum or fixed)")
    expander = _Expander(types_dir)
    expanded: dict[str, Any] = expander.expand(raw, namespace=raw.get("namespace", ""), where=str(path))
    return expanded


def parse_for_fastavro(schema: Mapping[str, Any], where: str) -> Any:
    """fastavro's parsed form of an expanded schema; errors name `where`."""
    try:
        return fastavro.parse_schema(copy.deepcopy(dict(schema)), _write_hint=True, _force=True)
    except Exception as error:  # fastavro raises several unrelated exception classes
        raise ContractError(f"{where}: not a valid Avro schema for fastavro: {error}") from error


# --- helpers -------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _load_cached(event_name: str, schemas_dir: str) -> EventContract:
    base = Path(schemas_dir)
    path = base / EVENT_TYPES[event_name]
    schema = expand_schema_file(path, base / "types")
    full_name = _full_name(schema["name"], schema.get("namespace", ""))
    if full_name != f"{NAMESPACE}.{event_name}":
        raise ContractError(
            f"{path}: record is named {full_name!r}, expected {NAMESPACE}.{event_name} "
            f"(EVENT_TYPES in connectors/contracts.py names this file for {event_name})"
        )
    parsed = parse_for_fastavro(schema, str(path))
    return EventContract(event_name, full_name, path, schema, parsed, _timestamp_fields(schema))


def _timestamp_fields(schema: dict[str, Any]) -> tuple[str, ...]:
    def is_timestamp(node: Any) -> bool:
        if isinstance(node, list):
            return any(is_timestamp(branch) for branch in node)
        return isinstance(node, dict) and node.get("logicalType") == "timestamp-millis"

    return tuple(f["name"] for f in schema.get("fields", []) if is_timestamp(f["type"]))


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"{path}: schema file not found") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ContractError(f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None


def _full_name(name: str, namespace: str) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


class _Expander:
    """Depth-first inliner; remembers which full names are already defined in this expansion."""

    def __init__(self, types_dir: Path) -> None:
        self.types_dir = types_dir
        self.defined: set[str] = set()
        self.loading: list[str] = []

    def expand(self, node: Any, namespace: str, where: str) -> Any:
        if isinstance(node, str):
            return self._reference(node, namespace, where)
        if isinstance(node, list):
            return [self.expand(branch, namespace, where) for branch in node]
        if not isinstance(node, dict) or "type" not in node:
            raise ContractError(f"{where}: not an Avro type: {json.dumps(node, ensure_ascii=False)[:120]}")
        kind = node["type"]
        out = dict(node)
        if kind in _NAMED_KINDS:
            if "name" not in node:
                raise ContractError(f"{where}: a {kind} has no name")
            namespace = node.get("namespace", namespace)
            full = _full_name(node["name"], namespace)
            if "." in node["name"]:
                namespace = node["name"].rpartition(".")[0]
            if full in self.defined:
                raise ContractError(f"{where}: named type {full} is defined twice")
            self.defined.add(full)
            if kind in ("record", "error"):
                out["fields"] = [self._field(f, namespace, f"{where} › {node['name']}") for f in node.get("fields", [])]
            return out
        if kind == "array":
            out["items"] = self.expand(node["items"], namespace, where)
        elif kind == "map":
            out["values"] = self.expand(node["values"], namespace, where)
        elif isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind not in PRIMITIVE_TYPES):
            # {"type": "Severity"} or {"type": {...}}: a wrapped reference or nested type
            expanded = self.expand(kind, namespace, where)
            return expanded if len(node) == 1 else {**out, "type": expanded}
        return out

    def _field(self, fld: Any, namespace: str, where: str) -> dict[str, Any]:
        if not isinstance(fld, dict) or "name" not in fld or "type" not in fld:
            raise ContractError(f"{where}: every field needs a name and a type, got {fld!r}")
        return {**fld, "type": self.expand(fld["type"], namespace, f"{where}.{fld['name']}")}

    def _reference(self, name: str, namespace: str, where: str) -> Any:
        if name in PRIMITIVE_TYPES:
            return name
        full = _full_name(name, namespace)
        if full in self.defined:
            return full
        short = full.rpartition(".")[2]
        path = self.types_dir / f"{short}.avsc"
        if not path.exists():
            raise ContractError(
                f"{where}: type {name!r} ({full}) is neither primitive, defined earlier, nor a file {path}"
            )
        if full in self.loading:
            raise ContractError(f"{path}: circular reference {' -> '.join(self.loading + [full])}")
        raw = _read_json(path)
        declared = _full_name(raw.get("name", ""), raw.get("namespace", "")) if isinstance(raw, dict) else ""
        if declared != full:
            raise ContractError(f"{path}: declares {declared or 'no name'!r} but is referenced as {full} from {where}")
        self.loading.append(full)
        try:
            return self.expand(raw, raw.get("namespace", namespace), str(path))
        finally:
            self.loading.pop()
