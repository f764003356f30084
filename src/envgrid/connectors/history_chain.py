"""The hash chain of a case's history (case.history): the one definition, used by the case desk that writes it
and the audit that checks it.

Every CaseLifecycleEvent carries `previous_hash`: the hash of the same case's previous history entry (null on
its first). The hash of an entry is

    "sha256:" + hex(SHA-256(Avro binary encoding of the entry under CHAIN_SCHEMA))

where CHAIN_SCHEMA is CaseLifecycleEvent as snapshotted in `schemas/history/CaseLifecycleEvent/v5.avsc` (all
fields, its own `previous_hash` included, so each hash commits to the whole history before it), and the
entry's `details` map is encoded in key order (Avro writes a map in the order it is given). The encoding is
Avro's own: a writer's value (datetimes to the microsecond) and the value a reader decodes (to the
millisecond) encode to the same bytes, as the field is timestamp-millis. A later schema version that adds a
field leaves it outside the hash until CHAIN_SCHEMA moves on, with a new prefix (`sha256v2:`) so that old
and new links stay verifiable side by side.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fastavro

from envgrid.connectors.contracts import SCHEMAS_DIR

CHAIN_SCHEMA_FILE = SCHEMAS_DIR / "history" / "CaseLifecycleEvent" / "v5.avsc"
PREFIX = "sha256:"
_PARSED = fastavro.parse_schema(json.loads(CHAIN_SCHEMA_FILE.read_text(encoding="utf-8")))


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash a case's next history entry carries as its `previous_hash`."""
    value = dict(entry)
    value["details"] = dict(sorted((value.get("details") or {}).items()))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _PARSED, value)
    return PREFIX + hashlib.sha256(buffer.getvalue()).hexdigest()


def link(entry: dict[str, Any], previous_hash: str | None) -> str:
    """Set `entry`'s previous_hash and return its own hash (the next entry's link)."""
    entry["previous_hash"] = previous_hash
    return entry_hash(entry)


@dataclass(frozen=True)
class Break:
    """Where one case's history stops being the chain the case desk wrote: case, revision, entry and why."""

    case_id: str
    revision: int | None
    event_id: str
    offset: int | None
    problem: str  # starts with altered_or_missing_before, unlinked, revision_gap, revision_out_of_order, missing_start

    def __str__(self) -> str:
        where = f" at offset {self.offset}" if self.offset is not None else ""
        return f"case {self.case_id} revision {self.revision} (entry {self.event_id}{where}): {self.problem}"


@dataclass(frozen=True)
class ReadEntry:
    """A history entry as read, with the offset it was read at (None in memory)."""

    entry: Mapping[str, Any]
    offset: int | None = None


def verify(case_id: str, entries: Iterable[ReadEntry], from_start: bool = True) -> tuple[list[Break], int]:
    """Check one case's entries, in topic order: each links to the one before, and revisions are contiguous
    (0 first, each entry the same or one more than the one before). Returns the breaks and the number of exact
    re-deliveries skipped (a worker that restarts re-sends what it had not committed, byte for byte).

    The first entry read starts the chain when `from_start` is False (a window that begins mid-case), or when
    its previous_hash is null (a case whose file came from a release before the chain: see README)."""
    breaks: list[Break] = []
    seen: dict[str, str] = {}
    previous_hash: str | None = None
    previous_revision: int | None = None
    previous_id = ""
    chained, redelivered = False, 0  # chained: an entry with a link was read, so every later one needs one
    for located in entries:
        entry = located.entry
        own = entry_hash(entry)
        if seen.get(entry["event_id"]) == own:
            redelivered += 1
            continue
        seen[entry["event_id"]] = own
        revision, link_ = entry.get("revision"), entry.get("previous_hash")
        where = (case_id, revision, entry["event_id"], located.offset)
        if previous_hash is None:
            if from_start and link_ is not None:  # a case's first entry links to nothing
                breaks.append(Break(*where, "missing_start: the entries before it are not in the topic"))
        elif link_ is not None and link_ != previous_hash:
            breaks.append(Break(*where, f"altered_or_missing_before: its previous_hash is not the hash of the entry "
                                        f"read before it ({previous_id}, revision {previous_revision}): that entry "
                                        f"was altered, or entries between them are missing"))
        elif link_ is None and chained:
            breaks.append(Break(*where, "unlinked: no previous_hash on an entry after linked ones"))
        if revision is not None and previous_revision is not None:
            if revision < previous_revision:
                breaks.append(Break(*where, f"revision_out_of_order: after revision {previous_revision}"))
            elif revision > previous_revision + 1:
                breaks.append(Break(*where, f"revision_gap: revisions {previous_revision + 1}..{revision - 1} "
                                            f"are missing"))
        # a case opened by a release that writes the chain (its opening entry carries the decision) is chained from
        # its first entry: links stripped from its later entries are a break, not history from before the chain
        chained = chained or link_ is not None or (entry.get("kind") == "created" and "decision" in (entry.get("details")
                                                                                                     or {}))
        previous_hash, previous_id = own, entry["event_id"]
        previous_revision = revision if revision is not None else previous_revision
    return breaks, redelivered
