"""Confluent wire format, pure: the 5-byte header plus a schemaless Avro body, read and written with fastavro.

    byte 0      magic byte 0
    bytes 1..4  schema id, big-endian unsigned
    bytes 5..   Avro binary of ONE record, written with the schema of that id (no container header)

This is exactly what confluent-kafka's AvroSerializer produces (with its default
`prefix_schema_id_serializer`), but without its per-call overhead (subject strategy, rule execution,
schema-cache lookups keyed by schema text): the stream processors' hot loop frames bytes here with parsed
schemas cached by id. No network: whoever holds the registry client (envgrid.connectors.serde) supplies the ids
and schemas. Every failure to read is an `UndecodableRecord` with a stable reason code.
"""

from __future__ import annotations

import io
import re
import struct
from typing import Any

import fastavro
from fastavro.validation import validate

MAGIC_BYTE = 0
HEADER = struct.Struct(">bI")
HEADER_SIZE = HEADER.size  # 5

NOT_CONFLUENT_FRAMED = "not_confluent_framed"
UNKNOWN_SCHEMA_ID = "unknown_schema_id"
AVRO_DECODE_ERROR = "avro_decode_error"
WRONG_EVENT_TYPE = "wrong_event_type"
REASON_CODES = (NOT_CONFLUENT_FRAMED, UNKNOWN_SCHEMA_ID, AVRO_DECODE_ERROR, WRONG_EVENT_TYPE)


class UndecodableRecord(Exception):
    """A record value that cannot be turned into an event; dead-letter it with `reason` as reason code.

    `reason` is one of REASON_CODES; the message names the topic and what is wrong. Registry outages are
    NOT reported as this (the record is fine, the registry is not): they raise the registry's own error.
    """

    def __init__(self, reason: str, topic: str, detail: str, schema_id: int | None = None) -> None:
        self.reason = reason
        self.topic = topic
        self.detail = detail
        self.schema_id = schema_id
        super().__init__(f"{topic}: undecodable record value ({reason}): {detail}")


class EventEncodingError(ValueError):
    """A value dict that does not fit its event schema; the message names the event, topic and fields."""


def frame(schema_id: int, parsed_schema: Any, value: dict[str, Any], *, event_name: str = "", topic: str = "") -> bytes:
    """Header + schemaless Avro body of `value`; byte-identical to confluent's AvroSerializer output."""
    buffer = io.BytesIO()
    buffer.write(header(schema_id))
    try:
        fastavro.schemaless_writer(buffer, parsed_schema, value)
    except Exception as error:  # fastavro raises TypeError, ValueError, AttributeError, KeyError, ...
        raise EventEncodingError(_encoding_problem(parsed_schema, value, event_name, topic, error)) from error
    return buffer.getvalue()


def header(schema_id: int) -> bytes:
    """The 5 bytes before every body: the magic byte and the schema id."""
    return HEADER.pack(MAGIC_BYTE, schema_id)


def split_frame(data: bytes | None, topic: str) -> tuple[int, memoryview]:
    """(schema id, Avro body) of a framed value; UndecodableRecord(not_confluent_framed) otherwise."""
    if data is None:
        raise UndecodableRecord(NOT_CONFLUENT_FRAMED, topic, "value is null (a tombstone?); events are never null")
    if len(data) < HEADER_SIZE:
        raise UndecodableRecord(
            NOT_CONFLUENT_FRAMED, topic, f"value has {len(data)} bytes, fewer than the 5-byte Confluent header"
        )
    magic, schema_id = HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        preview = bytes(data[:8]).hex(" ")
        raise UndecodableRecord(
            NOT_CONFLUENT_FRAMED, topic, f"first byte is {magic & 0xFF:#04x}, not the Confluent magic byte 0x00 "
            f"(starts {preview}); produced without the schema-registry serializer?"
        )
    return schema_id, memoryview(data)[HEADER_SIZE:]


def read_body(
    body: bytes | memoryview, writer_schema: Any, reader_schema: Any | None, *, topic: str, schema_id: int
) -> dict[str, Any]:
    """Decode one record body written with `writer_schema`, resolved to `reader_schema` (None: same).

    The whole body must be consumed: trailing bytes mean the frame is corrupt or the id is wrong.
    """
    stream = io.BytesIO(body)
    try:
        value = fastavro.schemaless_reader(stream, writer_schema, reader_schema)
    except Exception as error:  # EOFError on truncation; ValueError, IndexError, UnicodeDecodeError on garbage
        raise UndecodableRecord(
            AVRO_DECODE_ERROR, topic,
            f"Avro body ({len(body)} bytes) does not decode with schema id {schema_id}: "
            f"{type(error).__name__}: {stable_message(str(error)) or 'truncated'}",
            schema_id,
        ) from error
    unread = len(body) - stream.tell()
    if unread:
        raise UndecodableRecord(
            AVRO_DECODE_ERROR, topic,
            f"{unread} bytes left over after decoding a record with schema id {schema_id} (corrupt frame?)",
            schema_id,
        )
    if not isinstance(value, dict):
        raise UndecodableRecord(WRONG_EVENT_TYPE, topic, f"schema id {schema_id} is not a record schema", schema_id)
    return value


def record_name(parsed_schema: Any) -> str | None:
    """Full name of a parsed record schema, None for anything else."""
    if isinstance(parsed_schema, dict) and parsed_schema.get("type") == "record":
        return str(parsed_schema.get("name"))
    return None


def _encoding_problem(parsed_schema: Any, value: Any, event_name: str, topic: str, error: Exception) -> str:
    what = f"{event_name or record_name(parsed_schema)} value for {topic or 'no topic'}"
    try:
        validate(value, parsed_schema, raise_errors=True)
    except Exception as validation_error:  # noqa: BLE001 - hostile values may raise more than ValidationError; each is a refusal
        problems = getattr(validation_error, "errors", None) or [str(validation_error)]
        return f"{what} does not fit its schema: " + "; ".join(str(p) for p in problems)
    return f"{what} cannot be encoded: {type(error).__name__}: {stable_message(str(error))}"


_OBJECT_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def stable_message(message: str) -> str:
    """An error message without object addresses (fastavro names its BytesIO): the same bad record must
    give the same message in every process, because a dead letter re-sent after a restart must be
    identical to the first."""
    return _OBJECT_ADDRESS.sub("", message)
