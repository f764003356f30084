"""A record schema cut into consecutive parts, so that parts many values share are encoded once. Pure.

Avro's binary form of a record is the concatenation of its fields' forms, in schema order, with nothing
between them. A record schema cut into runs of consecutive fields (each run a record schema of its own)
therefore writes, run after run, exactly the bytes the whole schema writes. Used where many records differ
in a few fields only: the router's dispatch copies of one case differ in their id, target and contact.

Named types: a part may refer by name to an enum or record that an earlier part defines (e.g. a later field
typed `cn.gov.wenzhou.envgrid.TargetKind`). Every part is parsed with the definitions, taken from the whole
schema, of the names it refers to, so such a reference means what it means in the whole record.
A part of strings, enums and the like is written without fastavro (`envgrid.connectors.plain_avro`).
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import fastavro

from envgrid.connectors.plain_avro import Writer, plain_writer
from envgrid.connectors.wire import record_name


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per part of a cut
class Part:
    """Consecutive fields of a record and the schema that writes exactly them (a record of those fields)."""

    fields: tuple[str, ...]
    schema: Any = None  # fastavro's parsed form
    plain: Writer | None = None  # for a part of strings, enums and the like: faster than a call to fastavro

    def encode(self, value: dict[str, Any]) -> bytes:
        """Avro of this part's fields of `value` (the whole record's dict: other keys are not read)."""
        if self.plain is not None:
            try:
                return self.plain(value)
            except (TypeError, KeyError, ValueError):  # not plain after all: fastavro writes it, or says why not
                pass
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self.schema, value)
        return buffer.getvalue()


def cut_record(parsed_schema: Any, cut_around: Collection[str]) -> tuple[Part, ...]:
    """The record's fields in parts: each field of `cut_around` alone (next to another such field, in one part
    with it), every run of other fields between them as one part. Their encodings, concatenated in order,
    are the record's encoding. ValueError for a schema that is not a record."""
    name = record_name(parsed_schema)
    if name is None:
        raise ValueError(f"only a record schema can be cut into parts, not {str(parsed_schema)[:80]}")
    fields = parsed_schema["fields"]
    unknown = set(cut_around) - {f["name"] for f in fields}
    if unknown:
        raise ValueError(f"{name} has no field {', '.join(sorted(unknown))} to cut around")
    runs: list[list[dict[str, Any]]] = []
    for field in fields:
        alone = field["name"] in cut_around
        if runs and (runs[-1][0]["name"] in cut_around) == alone:
            runs[-1].append(field)
        else:
            runs.append([field])
    named = dict(parsed_schema.get("__named_schemas") or _named_types(parsed_schema))
    return tuple(_part(name, number, run, named) for number, run in enumerate(runs))


def _part(record: str, number: int, fields: list[dict[str, Any]], named: dict[str, Any]) -> Part:
    namespace, _, short = record.rpartition(".")
    schema = {"type": "record", "name": f"{short}_part{number}", "namespace": namespace,
              "fields": [_unparsed(field) for field in fields]}
    referenced = _referenced(schema, named)
    parsed = fastavro.parse_schema(schema, dict(referenced), _write_hint=True, _force=True)
    return Part(tuple(field["name"] for field in fields), parsed, plain_writer(parsed, referenced))


def _referenced(node: Any, named: dict[str, Any], found: dict[str, Any] | None = None) -> dict[str, Any]:
    """The named types `node` refers to by name, with those they refer to in turn. Only these go with a part:
    fastavro copies a schema's named types on every write, and a part is written for every record."""
    found = {} if found is None else found
    if isinstance(node, str):
        if node in named and node not in found:
            found[node] = named[node]
            _referenced(named[node], named, found)
    elif isinstance(node, list):
        for branch in node:
            _referenced(branch, named, found)
    elif isinstance(node, dict):
        for key in ("type", "items", "values"):
            _referenced(node.get(key), named, found)
        for field in node.get("fields") or ():
            _referenced(field["type"], named, found)
    return found


def _unparsed(field: dict[str, Any]) -> dict[str, Any]:
    """A parsed field without fastavro's own markers, ready to be parsed again inside a part."""
    return {key: value for key, value in field.items() if not key.startswith("__")}


def _named_types(parsed_schema: Any) -> dict[str, Any]:
    named: dict[str, Any] = {}
    fastavro.parse_schema(parsed_schema, named, _write_hint=True, _force=True)
    return named
