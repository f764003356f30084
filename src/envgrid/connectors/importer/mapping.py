"""The column-mapping file (YAML): which column of a hotline export holds which field of a PetitionComplaint.

    mapping = load_mapping(Path("src/envgrid/config/import/wenzhou-12345.yaml"))
    mapping.columns()          # every column the file must have (checked against its header at the start)

An example with every key, commented: `config/import/wenzhou-12345.yaml`. Errors name the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from envgrid.domain.config_errors import ConfigError, read_yaml
from envgrid.domain.rules.categories import category_codes

CHANNELS = ("HOTLINE_12345", "HOTLINE_12369", "WEB", "LETTER", "VISIT", "OTHER")
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
DATUMS = ("WGS84", "GCJ02", "BD09")
DEFAULT_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                        "%Y-%m-%dT%H:%M:%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y%m%d%H%M%S")


@dataclass(frozen=True)
class ValueColumn:
    """A column whose cell values are translated (Chinese category or channel names to codes); `default` is
    taken when the column is absent from the mapping or the cell is empty."""

    column: str | None
    values: dict[str, str] = field(default_factory=dict)
    default: str | None = None


@dataclass(frozen=True)
class Mapping:
    """One export layout. Column names are the file's header cells (for JSONL: the object's keys)."""

    path: Path
    source_system: str  # goes into every event id: two systems may reuse the same record numbers
    occurred_at: str
    received_at: str | None
    description: tuple[str, ...]  # joined by a line break, empty cells left out
    category: ValueColumn
    channel: ValueColumn
    severity: ValueColumn
    record_number: str | None
    address: tuple[str, ...]  # joined without a separator (province, district, street, ... columns)
    longitude: str | None
    latitude: str | None
    datum: str
    complainant_name: str | None
    complainant_phone: str | None
    key_entity: str | None
    timezone: ZoneInfo
    time_formats: tuple[str, ...]
    sheet: str | None  # XLSX: the worksheet (default: the first)
    encoding: str | None  # CSV: utf-8 | gb18030 | ... (default: utf-8, else GB18030 when the head is not UTF-8)

    def columns(self) -> list[str]:
        """Every column the mapping reads, in a stable order, once each."""
        named = [self.occurred_at, self.received_at, *self.description, self.category.column, self.channel.column,
                 self.severity.column, self.record_number, *self.address, self.longitude, self.latitude,
                 self.complainant_name, self.complainant_phone, self.key_entity]
        return list(dict.fromkeys(c for c in named if c))


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; ConfigError naming the file and the key when it is wrong."""
    document = read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError(path, "(file)", "expected a mapping of keys (see config/import/wenzhou-12345.yaml)")
    entries = _Entries(path, document)
    columns = entries.section("columns")
    mapping = Mapping(
        path=path,
        source_system=entries.text(document, "source_system", required=True) or "",
        occurred_at=entries.text(columns, "occurred_at", required=True) or "",
        received_at=entries.text(columns, "received_at"),
        description=entries.names(columns, "description", required=True),
        category=entries.value_column(columns, "category", category_codes(), required=True),
        channel=entries.value_column(columns, "channel", CHANNELS),
        severity=entries.value_column(columns, "severity", SEVERITIES),
        record_number=entries.text(columns, "record_number"),
        address=entries.names(columns, "address"),
        longitude=entries.text(columns, "longitude"),
        latitude=entries.text(columns, "latitude"),
        datum=entries.choice(document, "datum", DATUMS, "WGS84"),
        complainant_name=entries.text(columns, "complainant_name"),
        complainant_phone=entries.text(columns, "complainant_phone"),
        key_entity=entries.text(columns, "key_entity"),
        timezone=entries.zone(document),
        time_formats=entries.names(document, "time_formats") or DEFAULT_TIME_FORMATS,
        sheet=entries.text(document, "sheet"),
        encoding=entries.text(document, "encoding"),
    )
    if (mapping.longitude is None) != (mapping.latitude is None):
        raise ConfigError(path, "columns.longitude/latitude", "give both coordinate columns or neither")
    if not mapping.address and mapping.longitude is None:
        raise ConfigError(path, "columns.address", "give an address column or coordinate columns: the router needs "
                                                   "one of them to find the grid")
    return mapping


# --- helpers ---------------------------------------------------------------------------------------------


class _Entries:
    """Typed reads of the document's keys, each failing with the file and the key's path."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path, self.document = path, document

    def section(self, key: str) -> dict[str, Any]:
        value = self.document.get(key)
        if not isinstance(value, dict):
            raise ConfigError(self.path, key, "expected a mapping of PetitionComplaint fields to column names")
        known = {"occurred_at", "received_at", "description", "category", "channel", "severity", "record_number",
                 "address", "longitude", "latitude", "complainant_name", "complainant_phone", "key_entity"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ConfigError(self.path, f"{key}.{unknown[0]}", f"not a mapped field; known: {', '.join(sorted(known))}")
        return value

    def text(self, where: dict[str, Any], key: str, required: bool = False) -> str | None:
        value = where.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise ConfigError(self.path, key, "is required")
            return None
        if not isinstance(value, (str, int)):
            raise ConfigError(self.path, key, f"expected a column name, not {value!r}")
        return str(value).strip()

    def names(self, where: dict[str, Any], key: str, required: bool = False) -> tuple[str, ...]:
        value = where.get(key)
        if isinstance(value, str):
            value = [value]
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(self.path, key, "expected a column name or a non-empty list of them")
        return tuple(v.strip() for v in value)

    def choice(self, where: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
        value = where.get(key, default)
        if value not in allowed:
            raise ConfigError(self.path, key, f"{value!r} is not one of {', '.join(allowed)}")
        return str(value)

    def zone(self, where: dict[str, Any]) -> ZoneInfo:
        name = where.get("timezone", "Asia/Shanghai")
        try:
            return ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(self.path, "timezone", f"{name!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None

    def value_column(self, where: dict[str, Any], key: str, allowed: tuple[str, ...] | None,
                     required: bool = False) -> ValueColumn:
        """`key: 列名`, or `key: {column: 列名, values: {中文: CODE}, default: CODE}`."""
        value = where.get(key)
        if value is None:
            if required:
                raise ConfigError(self.path, f"columns.{key}", "is required")
            return ValueColumn(None)
        if isinstance(value, str):
            value = {"column": value}
        if not isinstance(value, dict):
            raise ConfigError(self.path, f"columns.{key}", "expected a column name or {column, values, default}")
        column = value.get("column")
        values = value.get("values") or {}
        default = value.get("default")
        if column is not None and not isinstance(column, str):
            raise ConfigError(self.path, f"columns.{key}.column", f"expected a column name, not {column!r}")
        if column is None and default is None:
            raise ConfigError(self.path, f"columns.{key}", "give a column, a default, or both")
        if not isinstance(values, dict):
            raise ConfigError(self.path, f"columns.{key}.values", "expected a mapping of cell values to codes")
        codes = {str(k).strip(): str(v) for k, v in values.items()}
        for cell, code in [*codes.items(), *([("default", str(default))] if default is not None else [])]:
            if allowed is not None and code not in allowed:
                raise ConfigError(self.path, f"columns.{key}.values.{cell}", f"{code!r} is not one of {', '.join(allowed)}")
        return ValueColumn(column, codes, None if default is None else str(default))
