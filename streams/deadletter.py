"""Dead letters: a record that cannot be decoded, validated or applied goes to the dead-letter topic with
its original bytes, where it came from and why — never silently dropped."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from streams import metrics

Send = Callable[[str, bytes, bytes], Awaitable[Any]]  # (topic, key, value) -> awaitable


class DeadLetterSink:
    """Builds DeadLetter records (schemas/DeadLetter.avsc) and sends them keyed by source topic."""

    def __init__(self, topic: str, encode: Callable[[str, dict, str], bytes], send: Send, processor: str) -> None:
        self.topic = topic
        self._encode = encode
        self._send = send
        self.processor = processor

    def record_for(self, message: Any, stage: str, reason_code: str, error_class: str, error_message: str,
                   original_event_id: str | None = None, failed_at: datetime | None = None) -> dict:
        headers = [{"key": k, "value": v} for k, v in (_headers_of(message) or [])]
        return {
            "event_id": f"dl:{message.topic}:{message.partition}:{message.offset}",
            "failed_at": failed_at or datetime.now(timezone.utc),
            "stage": stage,
            "reason_code": reason_code,
            "error_class": error_class,
            "error_message": error_message,
            "processor": self.processor,
            "source_topic": message.topic,
            "source_partition": int(message.partition),
            "source_offset": int(message.offset),
            "source_key": _as_bytes(message.key),
            "original_value": _as_bytes(message.value),
            "original_headers": headers,
            "original_event_id": original_event_id,
            "reinjections": _reinjections(headers),
        }

    async def send(self, message: Any, stage: str, reason_code: str, error_class: str, error_message: str,
                   original_event_id: str | None = None) -> None:
        record = self.record_for(message, stage, reason_code, error_class, error_message, original_event_id)
        value = self._encode("DeadLetter", record, self.topic)
        await self._send(self.topic, message.topic.encode(), value)
        metrics.DEAD_LETTERS.labels(stage=stage.lower(), reason=reason_code).inc()
        metrics.EVENTS_PRODUCED.labels(topic=self.topic).inc()


REINJECTION_HEADER = "envgrid-reinjections"


def _headers_of(message: Any) -> list[tuple[str, bytes | None]]:
    headers = getattr(message, "headers", None) or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return [(k if isinstance(k, str) else k.decode(), _as_bytes(v)) for k, v in headers]


def _reinjections(headers: list[dict]) -> int:
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
