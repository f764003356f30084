"""Dead letters: a record that cannot be decoded, validated or applied goes to the dead-letter topic with
its original bytes, where it came from and why — never silently dropped."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from envgrid.connectors.deadletters import REINJECTION_HEADER
from envgrid.domain.intake_contract import DEAD_LETTER_PREFIX_BYTES
from envgrid.streams import metrics

Send = Callable[[str, bytes, bytes], Awaitable[Any]]  # (topic, key, value) -> awaitable


class DeadLetterSink:
    """Builds DeadLetter records (schemas/DeadLetter.avsc) and sends them keyed by source topic."""

    def __init__(
        self, topic: str, encode: Callable[[str, dict[str, Any], str], bytes], send: Send | None, processor: str
    ) -> None:
        """`send` None: a sink for a synchronous caller, which sends each `letter` itself."""
        self.topic = topic
        self._encode = encode
        self._send = send
        self.processor = processor

    def record_for(self, message: Any, stage: str, reason_code: str, error_class: str, error_message: str,
                   original_event_id: str | None = None, failed_at: datetime | None = None) -> dict[str, Any]:
        raw_headers = _headers_of(message) or []
        source = _forwarded_source(raw_headers) or (message.topic, int(message.partition), int(message.offset))
        headers = [{"key": k, "value": v} for k, v in raw_headers if k not in SOURCE_HEADERS]
        original = _as_bytes(message.value)
        return {
            "event_id": f"dl:{source[0]}:{source[1]}:{source[2]}",
            "failed_at": failed_at or datetime.now(UTC),
            "stage": stage,
            "reason_code": reason_code,
            "error_class": error_class,
            "error_message": error_message,
            "processor": self.processor,
            "source_topic": source[0],
            "source_partition": source[1],
            "source_offset": source[2],
            "source_key": _as_bytes(message.key),
            # an oversized original keeps a bounded prefix (the letter stays far below the broker's limit),
            # with the whole value's size and SHA-256
            "original_value": None if original is None else original[:DEAD_LETTER_PREFIX_BYTES],
            "original_size": None if original is None else len(original),
            "original_sha256": None if original is None else hashlib.sha256(original).hexdigest(),
            "original_headers": headers,
            "original_event_id": original_event_id,
            "reinjections": _reinjections(headers),
        }

    def letter(self, message: Any, stage: str, reason_code: str, error_class: str, error_message: str,
               original_event_id: str | None = None) -> tuple[bytes, bytes]:
        """(key, value) of the encoded dead letter, for a caller that sends it itself (then `sent`)."""
        record = self.record_for(message, stage, reason_code, error_class, error_message, original_event_id)
        return record["source_topic"].encode(), self._encode("DeadLetter", record, self.topic)

    def sent(self, stage: str, reason_code: str) -> None:
        metrics.DEAD_LETTERS.labels(stage=stage.lower(), reason=reason_code).inc()
        metrics.EVENTS_PRODUCED.labels(topic=self.topic).inc()

    async def send(self, message: Any, stage: str, reason_code: str, error_class: str, error_message: str,
                   original_event_id: str | None = None) -> None:
        if self._send is None:
            raise TypeError("this dead-letter sink has no sender: send each letter() yourself")
        key, value = self.letter(message, stage, reason_code, error_class, error_message, original_event_id)
        await self._send(self.topic, key, value)
        self.sent(stage, reason_code)


SOURCE_HEADER = "envgrid-source"  # "topic:partition:offset" of the intake record an internal record carries
SOURCE_HEADERS = frozenset({SOURCE_HEADER})


def source_header(message: Any) -> tuple[str, bytes]:
    """The header an agent adds when it forwards a record to an internal topic: where it came from, so a
    later dead letter names the intake record a person can find, not the internal copy."""
    forwarded = _forwarded_source(_headers_of(message) or [])
    topic, partition, offset = forwarded or (message.topic, message.partition, message.offset)
    return SOURCE_HEADER, f"{topic}:{partition}:{offset}".encode()


def reinjections_of(message: Any) -> int:
    """How often this record was re-injected from the dead-letter topic (0 for an original)."""
    return _reinjections([{"key": k, "value": v} for k, v in _headers_of(message)])


def _forwarded_source(headers: list[tuple[str, bytes | None]]) -> tuple[str, int, int] | None:
    for key, value in headers:
        if key == SOURCE_HEADER and value:
            topic, partition, offset = value.decode().rsplit(":", 2)
            return topic, int(partition), int(offset)
    return None


def _headers_of(message: Any) -> list[tuple[str, bytes | None]]:
    headers = getattr(message, "headers", None) or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return [(k if isinstance(k, str) else k.decode(), _as_bytes(v)) for k, v in headers]


def _reinjections(headers: list[dict[str, Any]]) -> int:
    for header in headers:
        if header["key"] == REINJECTION_HEADER and header["value"]:
            try:
                return int(header["value"].decode())
            except ValueError:
                return 0
    return 0


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return bytes(value)
