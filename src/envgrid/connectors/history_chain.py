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

The case desk writes `details` in key order, so an entry written under a schema whose parsing canonical form is
CHAIN_SCHEMA's is, on the wire, exactly the bytes its hash is taken of: the audit hashes those bytes
(`ReadEntry.body`) instead of encoding the entry again, and encodes it again only when a link does not match
(history written before the details were sorted), so a verdict never depends on the shortcut.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from envgrid.connectors.contracts import SCHEMAS_DIR

CHAIN_SCHEMA_FILE = SCHEMAS_DIR / "history" / "CaseLifecycleEvent" / "v5.avsc"
PREFIX = "sha256:"
_PARSED = fastavro.parse_schema(json.loads(CHAIN_SCHEMA_FILE.read_text(encoding="utf-8")))
CHAIN_FORM = to_parsing_canonical_form(_PARSED)  # a writer schema with this form encodes entries as the hash does


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash a case's next history entry carries as its `previous_hash`."""
    value = dict(entry)
    value["details"] = dict(sorted((value.get("details") or {}).items()))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _PARSED, value)
    return PREFIX + hashlib.sha256(buffer.getvalue()).hexdigest()


def body_hash(body: bytes) -> str:
    """The hash of an entry from its Avro body as written, when the writer's schema has CHAIN_FORM."""
    return PREFIX + hashlib.sha256(body).hexdigest()


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
    """A history entry as read, with the offset it was read at (None in memory), and its Avro body as written
    when the writer's schema has CHAIN_FORM (None: the entry is encoded again to hash it)."""

    entry: Mapping[str, Any]
    offset: int | None = None
    body: bytes | None = None


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
    previous: ReadEntry | None = None
    chained, redelivered = False, 0  # chained: an entry with a link was read, so every later one needs one
    for located in entries:
        entry = located.entry
        own = body_hash(located.body) if located.body is not None else entry_hash(entry)
        if seen.get(entry["event_id"]) == own:
            redelivered += 1
            continue
        seen[entry["event_id"]] = own
        revision, link_ = entry.get("revision"), entry.get("previous_hash")
        where = (case_id, revision, entry["event_id"], located.offset)
        if previous_hash is None:
            if from_start and link_ is not None:  # a case's first entry links to nothing
                breaks.append(Break(*where, "missing_start: the entries before it are not in the topic"))
        elif link_ is not None and link_ != previous_hash and not _links_when_encoded(previous, link_):
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
        previous_hash, previous_id, previous = own, entry["event_id"], located
        previous_revision = revision if revision is not None else previous_revision
    return breaks, redelivered


def _links_when_encoded(previous: ReadEntry | None, link_: str) -> bool:
    """The hash of the entry before, encoded again, is the link: it was hashed from bytes written in another
    key order (history from before the case desk sorted `details`)."""
    return previous is not None and previous.body is not None and entry_hash(previous.entry) == link_
