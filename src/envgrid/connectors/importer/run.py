"""The import loop: rows in, complaints produced to the intake topic, rejected rows reported, the checkpoint
moved forward as delivery reports come back.

Thin: conversion is `convert.Converter`, resumption is `checkpoint`, pacing is `rate.TokenBucket`. The producer is
idempotent with acks=all, so a row the broker acknowledged is in the log once; rows produced but not acknowledged
when the process dies are sent again on resume, with the same event id and bytes (a redelivery to the router).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from envgrid.connectors.importer.checkpoint import AckTracker, Checkpoint, save_checkpoint
from envgrid.connectors.importer.convert import Complaint, Converter
from envgrid.connectors.importer.rate import TokenBucket
from envgrid.connectors.importer.rejected import RejectedReport

PRODUCER_SETTINGS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    # complaints are keyed by event id; murmur2 puts a key where the Java and faust producers would
    "partitioner": "murmur2_random",
    "linger.ms": 20,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 100_000,
}
CHECKPOINT_EVERY_ROWS = 5_000
CHECKPOINT_EVERY_S = 2.0
FLUSH_TIMEOUT_S = 120.0

#: (rows done in this file so far, rows in the file or None) after each row
Progress = Callable[[int, int | None], None]


@dataclass
class Summary:
    """What became of the file's rows: `read` = `sent` + sum(`rejected`) once `finished`."""

    read: int = 0
    sent: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    resumed_from: int = 0  # the checkpoint's row at the start (0: from the first row)
    produced: int = 0  # records produced by this run (re-sent tail included)
    failed: int = 0  # delivery reports with an error (their rows stay after the checkpoint)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    finished: bool = False
    already_done: bool = False  # the checkpoint said the file was imported: nothing was read or sent

    @property
    def rows_per_s(self) -> float:
        return (self.read - self.resumed_from) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"read": self.read, "sent": self.sent, "rejected": dict(sorted(self.rejected.items())),
                "rejected_total": sum(self.rejected.values()), "resumed_from": self.resumed_from,
                "produced": self.produced, "failed": self.failed, "elapsed_s": round(self.elapsed_s, 3),
                "rows_per_s": round(self.rows_per_s, 1), "finished": self.finished, "already_done": self.already_done}


@dataclass
class Sink:
    """Where rows go: the producer and topic, the registry header of the PetitionComplaint schema, the report."""

    producer: Producer
    topic: str
    header: bytes
    report: RejectedReport


def import_rows(rows: Iterable[tuple[int, dict[str, Any]]], converter: Converter, sink: Sink,
                checkpoint: Checkpoint, checkpoint_path: Path, *, bucket: TokenBucket | None = None,
                total: int | None = None, progress: Progress | None = None,
                clock: Callable[[], float] = time.monotonic, flush_timeout_s: float = FLUSH_TIMEOUT_S) -> Summary:
    """Import every row after `checkpoint.row`; the checkpoint is saved every CHECKPOINT_EVERY_ROWS rows or
    CHECKPOINT_EVERY_S seconds, and at the end (`finished` when every row is done)."""
    started = clock()
    summary = Summary(resumed_from=checkpoint.row)
    if checkpoint.finished:
        return finished_summary(checkpoint)
    tracker = AckTracker(checkpoint.row, checkpoint.sent, checkpoint.rejected)
    producer = sink.producer
    saved_at, saved_row = clock(), checkpoint.row

    def delivered(row: int) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, message: Message) -> None:
            if error is None:
                tracker.acknowledged(row)
                return
            tracker.failed()
            summary.failed += 1
            if len(summary.errors) < 20:
                summary.errors.append(f"row {row}: {message.topic()}: {error}")
        return report

    last = checkpoint.row
    for number, row in rows:
        if summary.failed:
            break  # a failed delivery (authorization, a missing topic) would fail for every row: stop, say why
        last = number
        if number <= checkpoint.row:
            converter.remember(number, row)  # done before the restart; its record number still counts
            continue
        result = converter.convert(number, row)
        if isinstance(result, Complaint):
            _produce(producer, sink, result, delivered(number), bucket)
            tracker.produced()
            summary.produced += 1
        else:
            sink.report.add(result.row, result.reason, result.message, result.original)
            tracker.rejected_row(result.row, result.reason)
        if progress is not None:
            progress(number, total)
        if number - saved_row >= CHECKPOINT_EVERY_ROWS or clock() - saved_at >= CHECKPOINT_EVERY_S:
            _save(checkpoint, checkpoint_path, tracker, sink.report)
            saved_at, saved_row = clock(), number
    _drain(producer, tracker, flush_timeout_s)
    if tracker.pending:
        summary.errors.append(f"{tracker.pending} record(s) not acknowledged within {flush_timeout_s:.0f} s; run the "
                              f"same command again to send them")
    checkpoint.finished = tracker.prefix == last and not tracker.pending
    _save(checkpoint, checkpoint_path, tracker, sink.report)
    summary.read, summary.sent, summary.rejected = last, tracker.sent, Counter(tracker.rejected)
    summary.finished = checkpoint.finished
    summary.elapsed_s = clock() - started
    return summary


def finished_summary(checkpoint: Checkpoint) -> Summary:
    """The summary of a file the checkpoint says is imported: nothing read or sent again."""
    return Summary(read=checkpoint.row, sent=checkpoint.sent, rejected=Counter(checkpoint.rejected),
                   resumed_from=checkpoint.row, finished=True, already_done=True)


# --- helpers ---------------------------------------------------------------------------------------------


def _produce(producer: Producer, sink: Sink, complaint: Complaint,
             on_delivery: Callable[[KafkaError | None, Message], None], bucket: TokenBucket | None) -> None:
    if bucket is not None:
        wait = bucket.take()
        while wait > 0:  # serve delivery reports while waiting for the row's turn
            started = time.monotonic()
            producer.poll(wait)
            wait -= time.monotonic() - started
    value = sink.header + complaint.body
    key = complaint.event_id.encode("utf-8")
    while True:
        try:
            producer.produce(sink.topic, value=value, key=key, on_delivery=on_delivery)
            break
        except BufferError:  # the local queue is full: let deliveries drain
            producer.poll(0.05)
    producer.poll(0)


def _drain(producer: Producer, tracker: AckTracker, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while tracker.pending and time.monotonic() < deadline:
        producer.flush(min(1.0, max(0.01, deadline - time.monotonic())))


def _save(checkpoint: Checkpoint, path: Path, tracker: AckTracker, report: RejectedReport) -> None:
    report.sync()  # the rejected rows the checkpoint covers are on disk before it says so
    checkpoint.row, checkpoint.sent, checkpoint.rejected = tracker.prefix, tracker.sent, Counter(tracker.rejected)
    save_checkpoint(path, checkpoint)
