"""Avro binary of the plainest schemas (strings, nulls, enums, records of them) in a few lines of Python. Pure.

fastavro's writer is fast per field but costs microseconds per call (schema checks, buffers). For a record part
of a string or two (the id, target and contact of a dispatch copy, written once per copy) that call is most of
the work; `plain_writer` returns a function that writes such a schema directly. It accepts only exactly `str`
for strings and `dict` for records, and raises on anything else (a missing field included, which fastavro
would fill with its default): the caller then writes the value with fastavro, which gives the answer or the
error. For what it accepts, the bytes are fastavro's (the property tests compare them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Writer = Callable[[Any], bytes]


def plain_writer(schema: Any, named: Mapping[str, Any]) -> Writer | None:
    """A writer of values of the parsed `schema` (names resolved in `named`), or None when the schema holds
    anything but strings, nulls (in unions with a string), enums and records of these."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if schema == "string":
        return _string
    if isinstance(schema, list):
        return _null_or_string(schema)
    if isinstance(schema, dict) and schema.get("type") == "enum":
        return _enum(schema["symbols"])
    if isinstance(schema, dict) and schema.get("type") == "record":
        writers = [(field["name"], plain_writer(field["type"], named)) for field in schema["fields"]]
        if any(writer is None for _, writer in writers):
            return None
        return _record([(name, writer) for name, writer in writers if writer is not None])
    return None


def zigzag_long(number: int) -> bytes:
    """Avro's `long`: zig-zag, then 7 bits a byte, least significant first."""
    number = (number << 1) ^ (number >> 63)
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _string(value: Any) -> bytes:
    if type(value) is not str:
        raise TypeError(f"{type(value).__name__} is not a str")
    data = value.encode("utf-8")
    return (bytes((2 * len(data),)) if len(data) < 64 else zigzag_long(len(data))) + data


def _null_or_string(branches: list[Any]) -> Writer | None:
    if not all(isinstance(b, str) for b in branches) or not set(branches) <= {"null", "string"} \
            or len(set(branches)) != len(branches):
        return None
    null = zigzag_long(branches.index("null")) if "null" in branches else None
    string = zigzag_long(branches.index("string")) if "string" in branches else None

    def write(value: Any) -> bytes:
        if value is None and null is not None:
            return null
        if string is None:
            raise TypeError(f"{type(value).__name__} fits no branch of {branches}")
        return string + _string(value)

    return write


def _enum(symbols: list[str]) -> Writer:
    indexes = {symbol: zigzag_long(index) for index, symbol in enumerate(symbols)}

    def write(value: Any) -> bytes:
        if type(value) is not str:
            raise TypeError(f"{type(value).__name__} is not a str")
        return indexes[value]  # KeyError: not a symbol

    return write


def _record(fields: list[tuple[str, Writer]]) -> Writer:
    def write(value: Any) -> bytes:
        if type(value) is not dict:
            raise TypeError(f"{type(value).__name__} is not a dict")
        return b"".join([writer(value[name]) for name, writer in fields])  # KeyError: a field left out

    return write
