"""One export row -> one PetitionComplaint value (Avro-encoded, checked as the router checks it) or a Rejection.

Pure: no Kafka, no clock. The checks are the pipeline's own: the input contract
(`envgrid.domain.intake_contract.check_report`, with the grid registry's first version as the earliest time,
and `check_size` on the framed record), a category the rules know, and the Avro schema of PetitionComplaint
(the body is written here, with fastavro, and sent as it is). A row that passes would not be refused at the
router's validation stage; one that does not is reported, with its reason, never sent.

Event ids are deterministic (`event_id_for`): importing the same row again gives the same id and the same
content, which the router treats as a redelivery.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import fastavro

from envgrid import paths
from envgrid.connectors.contracts import load_event
from envgrid.connectors.importer.mapping import Mapping, ValueColumn
from envgrid.connectors.importer.readers import UNREADABLE, cell_text
from envgrid.connectors.wire import HEADER_SIZE
from envgrid.domain.config_errors import read_yaml
from envgrid.domain.intake_contract import check_report, check_size
from envgrid.domain.registry import CHINA_TIME
from envgrid.domain.rules.categories import category_codes

EVENT_NAME = "PetitionComplaint"
#: Namespace of imported event ids: uuid5(IMPORT_NAMESPACE, "<source system>\x1f<record number>"). Never change it:
#: the same row must keep its id across importer versions.
IMPORT_NAMESPACE = uuid.UUID("5d0f7a52-6c1e-5b7e-9a43-0e2c8f1d6b11")

# The importer's own reasons; the input contract's codes (`intake_contract.Reason`) are used as they are.
EMPTY_ROW = "empty_row"
UNREADABLE_ROW = "unreadable_row"
MISSING_VALUE = "missing_value"
BAD_TIME = "bad_time"
BAD_COORDINATES = "bad_coordinates"
UNKNOWN_CATEGORY = "unknown_category"
UNKNOWN_VALUE = "unknown_value"
NOT_ENCODABLE = "not_encodable"
DUPLICATE_RECORD_NUMBER = "duplicate_record_number"


@dataclass(frozen=True)
class Complaint:
    """A row ready to send: `body` is the Avro body (the record's value is the registry header + body)."""

    row: int
    event_id: str
    value: dict[str, Any]
    body: bytes


@dataclass(frozen=True)
class Rejection:
    row: int
    reason: str
    message: str
    original: dict[str, Any]


def event_id_for(source_system: str, record_number: str | None, row: dict[str, Any] | None = None) -> str:
    """uuid5 of the source system and its record number; without a number, of the row's content (its cells as
    text, by column name), so the same row imported twice has the same id either way."""
    if record_number:
        name = f"{source_system}\x1f{record_number}"
    else:
        content = json.dumps({k: cell_text(v) for k, v in (row or {}).items()}, sort_keys=True, ensure_ascii=False)
        name = f"{source_system}\x1frow\x1f{hashlib.sha256(content.encode('utf-8')).hexdigest()}"
    return str(uuid.uuid5(IMPORT_NAMESPACE, name))


class Converter:
    """`convert(number, row)` for one mapping. `earliest`: the grid registry's first version (default: read from
    config/registry), as the router's contract check uses it."""

    def __init__(self, mapping: Mapping, earliest: datetime | None = None) -> None:
        self.mapping = mapping
        self.earliest = earliest or earliest_registry_time()
        self.categories = frozenset(category_codes())
        self._schema = load_event(EVENT_NAME).parsed
        self._numbers: dict[str, int] = {}  # record number -> the first row that had it

    def convert(self, number: int, row: dict[str, Any]) -> Complaint | Rejection:
        first = self.remember(number, row)
        if first != number:
            return Rejection(number, DUPLICATE_RECORD_NUMBER,
                             f"row {number}: {self.mapping.record_number} {self._record_number(row)!r} is also row "
                             f"{first}'s; one number would be one event id for two complaints (the router keeps the "
                             f"first); give the row its own number, or drop it if it repeats row {first}", row)
        try:
            value = self._value(row)
        except _Bad as bad:
            return Rejection(number, bad.reason, f"row {number}: {bad}", row)
        event_id = value["event_id"]
        breach = check_report(value, self.earliest)
        if breach is not None:
            return Rejection(number, str(breach.reason), f"row {number}: {breach.message}", row)
        body = io.BytesIO()
        try:
            fastavro.schemaless_writer(body, self._schema, value)
        except Exception as error:  # noqa: BLE001  fastavro raises TypeError, ValueError, KeyError, ...
            return Rejection(number, NOT_ENCODABLE, f"row {number}: event {event_id} does not fit the {EVENT_NAME} "
                                                    f"schema: {error}", row)
        encoded = body.getvalue()
        breach = check_size(HEADER_SIZE + len(encoded), "the intake topic")
        if breach is not None:
            return Rejection(number, str(breach.reason), f"row {number}: {breach.message}", row)
        return Complaint(number, event_id, value, encoded)

    def remember(self, number: int, row: dict[str, Any]) -> int:
        """Note the row's record number (rows a resumed import skips are noted too, so a repeat is found either
        way); the first row that had it."""
        record_number = self._record_number(row)
        return self._numbers.setdefault(record_number, number) if record_number else number

    def _record_number(self, row: dict[str, Any]) -> str:
        return cell_text(row.get(self.mapping.record_number)) if self.mapping.record_number else ""

    def _value(self, row: dict[str, Any]) -> dict[str, Any]:
        if not row:
            raise _Bad(EMPTY_ROW, "the row is empty")
        if UNREADABLE in row:
            raise _Bad(UNREADABLE_ROW, str(row[UNREADABLE]))
        m = self.mapping
        occurred = self._time(row, m.occurred_at)
        received = self._time(row, m.received_at) if m.received_at and cell_text(row.get(m.received_at)) else occurred
        description = "\n".join(text for text in (cell_text(row.get(c)) for c in m.description) if text)
        if not description:
            raise _Bad(MISSING_VALUE, f"{'/'.join(m.description)} is empty; a complaint needs its text")
        category = _translated(row, m.category, "category")
        if category not in self.categories:
            raise _Bad(UNKNOWN_CATEGORY, f"{m.category.column} {cell_text(row.get(m.category.column or ''))!r} is "
                                         f"neither a category code nor in the mapping's category values ({m.path})")
        record_number = self._record_number(row)
        name, phone = (cell_text(row.get(c)) if c else "" for c in (m.complainant_name, m.complainant_phone))
        return {
            "event_id": event_id_for(m.source_system, record_number, row),
            "occurred_at": occurred,
            "received_at": received,
            "channel": _translated(row, m.channel, "channel") or "OTHER",
            "channel_reference": record_number or None,
            "category": category,
            "severity": _translated(row, m.severity, "severity") or "MEDIUM",
            "description": description,
            "location": self._location(row),
            "complainant": {"name": name or None, "phone": phone or None, "id_number": None} if name or phone else None,
            "key_entity": (cell_text(row.get(m.key_entity)) or None) if m.key_entity else None,
            "suspected_crime": False,
            "cross_district": False,
            "attachments": [],
        }

    def _time(self, row: dict[str, Any], column: str) -> datetime:
        cell = row.get(column)
        if isinstance(cell, datetime):
            moment = cell
        else:
            text = cell_text(cell)
            if not text:
                raise _Bad(MISSING_VALUE, f"{column} is empty")
            parsed = _parse_time(text, self.mapping.time_formats)
            if parsed is None:
                raise _Bad(BAD_TIME, f"{column} {text!r} is not a time in a known format "
                                     f"(ISO 8601 or {', '.join(self.mapping.time_formats)}; set `time_formats`)")
            moment = parsed
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.mapping.timezone)

    def _location(self, row: dict[str, Any]) -> dict[str, Any]:
        m = self.mapping
        address = "".join(cell_text(row.get(c)) for c in m.address) or None
        longitude = latitude = None
        if m.longitude and m.latitude:
            lon_text, lat_text = cell_text(row.get(m.longitude)), cell_text(row.get(m.latitude))
            if lon_text or lat_text:
                try:
                    longitude, latitude = float(lon_text), float(lat_text)
                except ValueError:
                    raise _Bad(BAD_COORDINATES, f"{m.longitude}/{m.latitude} {lon_text!r}/{lat_text!r} are not "
                                                f"numbers") from None
                if not (math.isfinite(longitude) and math.isfinite(latitude)):
                    raise _Bad(BAD_COORDINATES, f"{m.longitude}/{m.latitude} are not finite")
        if address is None and longitude is None:
            raise _Bad(MISSING_VALUE, "neither an address nor coordinates; the router could not find the grid")
        return {"longitude": longitude, "latitude": latitude, "datum": m.datum, "address": address}


@lru_cache(maxsize=1)
def earliest_registry_time() -> datetime:
    """The first grid registry version's start (00:00 China time of its `valid_from`), from config/registry
    without loading the geometry: earlier times are refused by the input contract."""
    starts = []
    for path in sorted(paths.REGISTRY_DIR.glob("*.yaml")):
        valid_from = read_yaml(path).get("valid_from")
        starts.append(datetime(valid_from.year, valid_from.month, valid_from.day, tzinfo=CHINA_TIME))
    return min(starts)


# --- helpers ---------------------------------------------------------------------------------------------


class _Bad(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _translated(row: dict[str, Any], column: ValueColumn, field: str) -> str | None:
    text = cell_text(row.get(column.column)) if column.column else ""
    if not text:
        return column.default
    if text in column.values:
        return column.values[text]
    if field == "category" or text in column.values.values():
        return column.values.get(text, text)  # a code already (checked by the caller for categories)
    raise _Bad(UNKNOWN_VALUE, f"{field} column {column.column} has {text!r}, not in the mapping's values "
                              f"({', '.join(column.values)})")


def _parse_time(text: str, formats: tuple[str, ...]) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None
