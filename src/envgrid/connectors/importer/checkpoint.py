"""Where an import stands, so that a killed import resumes: the highest row such that every row up to it is done
(acknowledged by the broker, or written to the rejected-rows report), in a small JSON file written atomically.

    tracker = AckTracker(start=checkpoint.row)
    tracker.sent(row)        # produced, waiting for its delivery report
    tracker.done(row)        # acknowledged (or rejected and reported)
    tracker.prefix           # every row <= prefix is done: what the checkpoint records

The checkpoint names its file (path, size, SHA-256 of its first MiB), so another file is never resumed from it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEAD_BYTES = 1 << 20
FORMAT = 1


class CheckpointError(ValueError):
    """The checkpoint cannot be used for this file; the message says why and what to do."""


@dataclass(frozen=True)
class FileIdentity:
    """A file by its size and the hash of its head: cheap on a large export, and a different file or an edited
    head is told apart (an append to the same file is a different size)."""

    size: int
    head_sha256: str

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
        return cls(path.stat().st_size, hashlib.sha256(head).hexdigest())


@dataclass
class Checkpoint:
    """`row`: every row <= row is done; `sent` and `rejected` (by reason) count those rows; `finished` once the
    whole file is done."""

    file: str
    identity: FileIdentity
    topic: str
    row: int = 0
    sent: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    finished: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "file": self.file, "size": self.identity.size,
                "head_sha256": self.identity.head_sha256, "topic": self.topic, "row": self.row, "sent": self.sent,
                "rejected": dict(sorted(self.rejected.items())), "finished": self.finished}


def load_checkpoint(path: Path, file: Path, identity: FileIdentity, topic: str) -> Checkpoint:
    """The checkpoint at `path` for `file`, or a fresh one when there is none; CheckpointError when it belongs to
    another file or topic."""
    if not path.exists():
        return Checkpoint(str(file), identity, topic)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        saved = FileIdentity(int(data["size"]), str(data["head_sha256"]))
        checkpoint = Checkpoint(str(data["file"]), saved, str(data["topic"]), int(data["row"]), int(data["sent"]),
                                Counter({str(k): int(v) for k, v in data["rejected"].items()}), bool(data["finished"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path}: not a readable import checkpoint ({error}); delete it to import from the "
                              f"first row") from None
    if saved != identity:
        raise CheckpointError(f"{path}: the checkpoint is of {checkpoint.file} ({saved.size:,} bytes, head "
                              f"{saved.head_sha256[:12]}), not of {file} ({identity.size:,} bytes, head "
                              f"{identity.head_sha256[:12]}); give this file its own --checkpoint, or delete the old "
                              f"one to import from the first row")
    if checkpoint.topic != topic:
        raise CheckpointError(f"{path}: the checkpoint is of an import to {checkpoint.topic}, not {topic}; give this "
                              f"import its own --checkpoint")
    return checkpoint


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write atomically: a temporary file in the same directory, flushed to disk, then renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(checkpoint.to_json(), stream, ensure_ascii=False, indent=1)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class AckTracker:
    """The contiguous done prefix of rows numbered start+1, start+2, ..., with what became of the rows in it (sent,
    or rejected by reason). Rows are sent in order; their delivery reports may come back in any order (partitions
    are acknowledged independently), so a row done early waits until every row before it is done."""

    def __init__(self, start: int = 0, sent: int = 0, rejected: Counter[str] | None = None) -> None:
        self.prefix = start
        self.sent = sent  # rows <= prefix that were acknowledged
        self.rejected: Counter[str] = Counter(rejected or {})  # rows <= prefix that were rejected, by reason
        self._early: list[tuple[int, str]] = []  # (row, outcome) done beyond prefix + 1: a heap
        self.pending = 0  # rows produced whose delivery report has not come back yet

    def produced(self) -> None:
        self.pending += 1

    def acknowledged(self, row: int) -> None:
        self.pending -= 1
        self._done(row, SENT)

    def failed(self) -> None:
        """A delivery that failed: the row stays undone, so the prefix never passes it (a re-run sends it again)."""
        self.pending -= 1

    def rejected_row(self, row: int, reason: str) -> None:
        """A row written to the rejected-rows report (done: nothing to send)."""
        self._done(row, reason)

    def _done(self, row: int, outcome: str) -> None:
        if row <= self.prefix:
            return
        heapq.heappush(self._early, (row, outcome))
        while self._early and self._early[0][0] == self.prefix + 1:
            self.prefix, outcome = heapq.heappop(self._early)
            if outcome == SENT:
                self.sent += 1
            else:
                self.rejected[outcome] += 1


SENT = ""  # the outcome of an acknowledged row in AckTracker (a rejected row's is its reason)
