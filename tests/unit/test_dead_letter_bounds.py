"""A dead letter of an oversized record stays bounded: a prefix of the original, its size and SHA-256
(issue 8: the letter must stay far below the broker's message limit); such a letter is not re-injected."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from envgrid.connectors.deadletters import Selection, reinject
from envgrid.domain.intake_contract import DEAD_LETTER_PREFIX_BYTES
from envgrid.streams.deadletter import DeadLetterSink


@dataclass
class Message:
    topic: str = "envgrid.intake.petition-complaints"
    partition: int = 2
    offset: int = 41
    key: bytes = b"k"
    value: bytes = b""
    headers: Any = None


def _sink() -> DeadLetterSink:
    async def send(topic: str, key: bytes, value: bytes) -> None:
        return None
    return DeadLetterSink("envgrid.deadletter", lambda name, record, topic: b"", send, "test")


def test_an_oversized_original_keeps_a_prefix_its_size_and_its_hash():
    original = bytes(range(256)) * 4096  # 1 MiB
    letter = _sink().record_for(Message(value=original), "DECODE", "record_too_large", "Breach", "too large")
    assert letter["original_value"] == original[:DEAD_LETTER_PREFIX_BYTES]
    assert letter["original_size"] == len(original)
    assert letter["original_sha256"] == hashlib.sha256(original).hexdigest()


def test_a_small_original_is_kept_whole():
    letter = _sink().record_for(Message(value=b"abc"), "DECODE", "avro_decode_error", "E", "bad")
    assert (letter["original_value"], letter["original_size"]) == (b"abc", 3)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any = None) -> None:
        self.sent.append(value)

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self) -> int:
        return 0


def test_a_letter_that_kept_only_a_prefix_is_not_reinjected():
    sink = _sink()
    whole = sink.record_for(Message(value=b"abc"), "APPLY", "unknown_case", "R", "m")
    cut = sink.record_for(Message(value=b"x" * (DEAD_LETTER_PREFIX_BYTES + 1), offset=42), "DECODE",
                          "record_too_large", "B", "m")
    producer = Recorder()
    counts = reinject(producer, iter([whole, cut]), Selection())
    assert producer.sent == [b"abc"]
    assert counts["not re-injected: only a prefix of the original was kept"] == 1
