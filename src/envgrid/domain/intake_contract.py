"""The input contract: what an intake record (report or department notice) must satisfy before the
pipeline acts on it. One source of truth for the limits; checked once, at the edge (router stage 1 for
reports, the case desk's notice path for notices). Pure: no clock, no I/O — the earliest plausible time
(the grid registry's first version) and the case's opening time are passed in.

Every check returns a `Breach` (a reason code from `Reason` and a message naming the event id, the field
and what to fix) or None. docs/INPUT_CONTRACT.md lists the codes for people; this module is the code's.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from envgrid.domain.cases.notices import FROM_COMPLAINANTS

# --- limits (why each value: docs/INPUT_CONTRACT.md) ---------------------------------------------------
MAX_RECORD_BYTES = 64 * 1024  # an intake record's framed value, checked before decoding
MAX_ID_CHARS = 128  # ids and codes: event_id, case_id, unit_code, grid_code, category, ...
MAX_TEXT_CHARS = 8_000  # free text: description, message, address, ... (a long petition is ~5,000 chars)
MAX_LIST_ITEMS = 32  # attachments, evidence references, assisting departments
MAX_LIST_ITEM_CHARS = 512  # one attachment or evidence reference (a URI)
CLOCK_SKEW = timedelta(minutes=5)  # how far a sender's clock may run ahead of the receiving gateway's
LATEST_EVENT_TIME = datetime(2100, 1, 1, tzinfo=timezone(timedelta(hours=8)))  # later is corrupt, not early
MAX_CASE_AGE = timedelta(days=730)  # a notice more than two years after its case opened is mis-dated
MAX_EXTENSION_DAYS = 365  # absolute bound; the SLA policy's own maximum (e.g. 30) is checked when applied
DEAD_LETTER_PREFIX_BYTES = 16 * 1024  # an oversized record's dead letter keeps this much, plus a SHA-256

ID_FIELDS = frozenset({"event_id", "case_id", "unit_code", "grid_code", "reporter_id", "category",
                       "suggested_department", "channel_reference", "key_entity"})
REQUIRED_IDS = {"report": ("event_id", "category"), "notice": ("event_id", "case_id", "unit_code")}


class Reason(StrEnum):
    """Reason codes of the input contract (the dead letter's `reason_code`)."""

    RECORD_TOO_LARGE = "record_too_large"
    MISSING_ID = "missing_id"
    FIELD_TOO_LONG = "field_too_long"
    TOO_MANY_ITEMS = "too_many_items"
    TIME_OUT_OF_WINDOW = "time_out_of_window"
    NOTICE_OUTSIDE_CASE_TIME = "notice_outside_case_time"
    INVALID_EXTENSION = "invalid_extension"
    EVENT_ID_CONFLICT = "event_id_conflict"
    FORGED_UNIT = "forged_unit"
    TASK_CHANNEL = "task_channel"


@dataclass(frozen=True)
class Breach:
    """Why a record breaks the contract: a `Reason` and a message a producer can act on."""

    reason: Reason
    message: str


def check_size(size: int, topic: str) -> Breach | None:
    """A framed record of `size` bytes, before decoding."""
    if size > MAX_RECORD_BYTES:
        return Breach(Reason.RECORD_TOO_LARGE, f"{topic}: record of {size:,} bytes exceeds the {MAX_RECORD_BYTES:,}-byte "
                                               f"limit; send attachments as references, not inline")
    return None


def check_report(record: dict[str, Any], earliest: datetime) -> Breach | None:
    """A decoded report (PetitionComplaint or PatrolReport). `earliest`: the registry's first version."""
    return (_check_fields(record, "report")
            or _check_channel(record)
            or _check_times(record, earliest))


TASK_CHANNELS = frozenset({"SPOT_CHECK", "SUPERVISION"})  # tasks the pipeline sets itself (envgrid.domain.tasks)


def _check_channel(record: dict[str, Any]) -> Breach | None:
    if record.get("channel") in TASK_CHANNELS:
        return Breach(Reason.TASK_CHANNEL, f"report {record['event_id']}: channel {record['channel']} is for the tasks the "
                                           f"pipeline sets itself (spot checks, supervision); a report comes by a "
                                           f"hotline, the web, a letter, a visit or patrol")
    return None


def check_notice(record: dict[str, Any]) -> Breach | None:
    """A decoded department notice, on its own (its case is checked by `check_notice_for_case`)."""
    breach = _check_fields(record, "notice") or _check_times(record, None)
    if breach is not None:
        return breach
    days = record.get("extension_days")
    if days is not None and not (isinstance(days, int) and 0 <= days <= MAX_EXTENSION_DAYS):
        return Breach(Reason.INVALID_EXTENSION, f"notice {record['event_id']}: extension_days={days} is outside "
                                                f"0..{MAX_EXTENSION_DAYS}; send the working days asked for or granted")
    return None


@dataclass(frozen=True)
class NoticeAuthor:
    """Who logged in to write on a notice topic: a department, or a grid (a level-2 grid speaks for the
    townships and villages under it, whose codes start with its own), or the feedback channel, which speaks
    for every complainant (a complainant is named by their report's id; the case desk checks it is one of the
    case's)."""

    unit_kind: str  # DEPARTMENT | GRID | COMPLAINANT, as a notice's `unit_kind`
    code: str
    covers_subgrids: bool = False

    def covers(self, unit_code: str) -> bool:
        if self.unit_kind == COMPLAINANT:
            return bool(unit_code)
        return unit_code == self.code or (self.covers_subgrids and unit_code.startswith(self.code))


COMPLAINANT = "COMPLAINANT"
COMPLAINANT_KINDS = frozenset(kind.name for kind in FROM_COMPLAINANTS)  # as a DepartmentNotice's `kind` spells them


def check_author(record: dict[str, Any], author: NoticeAuthor) -> Breach | None:
    """A notice's unit against the owner of the topic it came in on: a unit acts only as itself."""
    kind, unit = record.get("unit_kind"), record.get("unit_code") or ""
    if (str(record.get("kind")) in COMPLAINANT_KINDS) != (kind == COMPLAINANT):
        return Breach(Reason.FORGED_UNIT,
                      f"notice {record.get('event_id')}: a {record.get('kind')} from {kind} {unit!r}; only a complainant "
                      f"rates a result (unit_kind COMPLAINANT, through the feedback channel's topic), and a complainant "
                      f"only rates")
    if kind == author.unit_kind and author.covers(unit):
        return None
    scope = " or a grid under it" if author.covers_subgrids else ""
    return Breach(Reason.FORGED_UNIT,
                  f"notice {record.get('event_id')}: it claims {kind} {unit!r}, but it came in on the notice topic of "
                  f"{author.unit_kind} {author.code}, which speaks only for {author.code}{scope}; a unit sends its "
                  f"notices on its own topic, logged in as itself")


def check_notice_for_case(record: dict[str, Any], opened_at: datetime) -> Breach | None:
    """A notice's time against its case: not before the case opened (less the skew), nor years after."""
    at = record["occurred_at"]
    if at < opened_at - CLOCK_SKEW or at > opened_at + MAX_CASE_AGE:
        return Breach(Reason.NOTICE_OUTSIDE_CASE_TIME,
                      f"notice {record['event_id']}: occurred_at {at.isoformat()} is outside case {record['case_id']}'s "
                      f"time (opened {opened_at.isoformat()}, at most {MAX_CASE_AGE.days} days later); fix the "
                      f"department system's clock or the notice's date")
    return None


def usable_point(longitude: Any, latitude: Any) -> tuple[float, float] | None:
    """(lon, lat) when both are finite degrees on the globe; anything else means "no coordinates"."""
    if not isinstance(longitude, (int, float)) or not isinstance(latitude, (int, float)):
        return None
    if not (math.isfinite(longitude) and math.isfinite(latitude)):
        return None
    if not (-180.0 <= longitude <= 180.0 and -90.0 <= latitude <= 90.0):
        return None
    return float(longitude), float(latitude)


def without_unusable_point(record: dict[str, Any]) -> dict[str, Any]:
    """The record with non-finite or off-globe coordinates dropped (the same record when they are usable)."""
    location = record.get("location")
    if not isinstance(location, dict):
        return record
    lon, lat = location.get("longitude"), location.get("latitude")
    if (lon is None and lat is None) or usable_point(lon, lat) is not None:
        return record
    return dict(record, location=dict(location, longitude=None, latitude=None))


def content_digest(record: dict[str, Any]) -> str:
    """A stable digest of a decoded record's content, to tell a redelivery from a reused event id."""
    text = json.dumps(record, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# --- helpers ---------------------------------------------------------------------------------------------

def _check_fields(record: dict[str, Any], kind: str) -> Breach | None:
    event_id = record.get("event_id") or "(no event id)"
    for name in REQUIRED_IDS[kind]:
        value = record.get(name)
        if not isinstance(value, str) or not value.strip():
            return Breach(Reason.MISSING_ID, f"{kind} {event_id}: {name} is empty; every {kind} needs one")
    return _check_values(record, event_id, "")


def _check_values(values: dict[str, Any], event_id: str, prefix: str) -> Breach | None:
    for name, value in values.items():  # the field's path is spelled out only in a breach (hot path)
        if isinstance(value, str):
            limit = MAX_ID_CHARS if name in ID_FIELDS else MAX_TEXT_CHARS
            if len(value) > limit:
                return Breach(Reason.FIELD_TOO_LONG, f"event {event_id[:MAX_ID_CHARS]}: {prefix}{name} has "
                                                     f"{len(value):,} characters, more than {limit:,}; shorten it")
        elif isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                return Breach(Reason.TOO_MANY_ITEMS, f"event {event_id}: {prefix}{name} has {len(value)} items, more "
                                                     f"than {MAX_LIST_ITEMS}")
            for item in value:
                if isinstance(item, str) and len(item) > MAX_LIST_ITEM_CHARS:
                    return Breach(Reason.FIELD_TOO_LONG, f"event {event_id}: an item of {prefix}{name} has "
                                                         f"{len(item):,} characters, more than {MAX_LIST_ITEM_CHARS}")
        elif isinstance(value, dict):
            breach = _check_values(value, event_id, f"{prefix}{name}.")
            if breach is not None:
                return breach
    return None


def _check_times(record: dict[str, Any], earliest: datetime | None) -> Breach | None:
    event_id, occurred, received = record["event_id"], record["occurred_at"], record["received_at"]
    for name, moment in (("occurred_at", occurred), ("received_at", received)):
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            return Breach(Reason.TIME_OUT_OF_WINDOW, f"event {event_id}: {name} is not a timezone-aware time")
        if earliest is not None and moment < earliest:
            return Breach(Reason.TIME_OUT_OF_WINDOW, f"event {event_id}: {name} {moment.isoformat()} is before the grid "
                                                     f"registry's first version ({earliest.date()}); fix the date")
        if moment >= LATEST_EVENT_TIME:
            return Breach(Reason.TIME_OUT_OF_WINDOW, f"event {event_id}: {name} {moment.isoformat()} is not before "
                                                     f"{LATEST_EVENT_TIME.date()}; the sender's clock or date is corrupt")
    if occurred > received + CLOCK_SKEW:
        return Breach(Reason.TIME_OUT_OF_WINDOW, f"event {event_id}: occurred_at {occurred.isoformat()} is after its "
                                                 f"receipt {received.isoformat()} (+{CLOCK_SKEW}); fix the sender's clock")
    return None
