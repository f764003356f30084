"""How the worker's table values are written: versioned, tagged JSON, never pickles.

Every table value (in the RocksDB store and in its changelog topic alike) is one JSON document:

    {"format": 1, "value": <value>}

`<value>` is plain JSON where JSON suffices. Everything else carries a tag:

| value                     | written as                                        |
|---------------------------|---------------------------------------------------|
| a dataclass of the state  | {"$type": "<tag>", "<field>": <value>, ...}       |
| an enum member            | {"$enum": "<tag>", "value": "<its value>"}        |
| tuple, set, frozenset     | {"$tuple" / "$set" / "$frozenset": [...]}         |
| datetime, date            | {"$datetime" / "$date": "<ISO 8601>"}             |
| timedelta                 | {"$timedelta": [days, seconds, microseconds]}     |
| bytes                     | {"$bytes": "<base64>"}                            |
| a dict with other keys    | {"$dict": [[key, value], ...]}                    |
| a duplicate index         | {"$incidents": <IncidentIndex.to_state()>}        |

Tags are names chosen here (the TYPES and ENUMS tables below), not module paths: moving or renaming a
module cannot break recovery, and only the types listed can ever be built from a changelog. A field that
is renamed or removed in a listed type is caught by the checked-in changelog fixture
(tests/fixtures/changelog/), which every test run decodes. A change of layout bumps FORMAT and adds an
upgrade in UPGRADES from the previous format; values of every earlier format stay readable.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import operator
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from faust.serializers import codecs

from envgrid.domain.cases.model import (
    Case,
    CaseState,
    ComplainantRating,
    EnforcementOrder,
    EscalationRecord,
    LinkedReport,
    Reporter,
    ReporterKind,
    Task,
    TransferRecord,
)
from envgrid.domain.duplicates import IncidentIndex, Sighting
from envgrid.domain.sla.calendar import CalendarBasis
from envgrid.domain.sla.commands import Milestone, PauseReason
from envgrid.domain.sla.timer import MilestoneTimer, TimerState
from envgrid.domain.sla.worktime import TimeBasis
from envgrid.streams.case_file import CaseFile
from envgrid.streams.held_notices import DeadLetterOutput, HeldNotice, SourceRecord
from envgrid.streams.routing_service import Output, Refused

FORMAT = 1
STATE_CODEC = "envgrid-state"  # the name faust knows the codec by (registered below)

# tag -> dataclass: the only classes a table value may contain (and the only ones a changelog can build)
TYPES: dict[str, type] = {
    "Case": Case, "LinkedReport": LinkedReport, "Reporter": Reporter, "Task": Task,
    "TransferRecord": TransferRecord, "EscalationRecord": EscalationRecord, "EnforcementOrder": EnforcementOrder,
    "ComplainantRating": ComplainantRating,
    "MilestoneTimer": MilestoneTimer, "Sighting": Sighting,
    "CaseFile": CaseFile, "Output": Output, "Refused": Refused,
    "SourceRecord": SourceRecord, "DeadLetterOutput": DeadLetterOutput, "HeldNotice": HeldNotice,
}
ENUMS: dict[str, type[Enum]] = {
    "CaseState": CaseState, "ReporterKind": ReporterKind, "CalendarBasis": CalendarBasis, "Milestone": Milestone,
    "PauseReason": PauseReason, "TimerState": TimerState, "TimeBasis": TimeBasis,
}
_TAG_OF_TYPE = {cls: tag for tag, cls in TYPES.items()}
_TAG_OF_ENUM = {cls: tag for tag, cls in ENUMS.items()}
# format n -> function turning a format-n value into a format-(n+1) one; none yet
UPGRADES: dict[int, Callable[[Any], Any]] = {}


class StateCodecError(ValueError):
    """A table value this release cannot write or read; the message says which and why."""


def encode_state(value: Any) -> bytes:
    return _JSON.encode({"format": FORMAT, "value": _to_json(value)}).encode("utf-8")


def decode_state(data: bytes) -> Any:
    if not data.startswith(b"{"):
        raise StateCodecError(
            "a table value that is not envgrid's state format (a pickle written by a release before state "
            "format 1?). This release cannot read it: start the worker with a new --app-id, or delete the "
            "app's changelog topics and its --datadir, so that its tables start empty.")
    try:
        document = json.loads(data)
        version, value = int(document["format"]), document["value"]
    except (ValueError, KeyError, TypeError) as error:
        raise StateCodecError(f"an unreadable table value ({error}): {data[:120]!r}") from None
    if version > FORMAT:
        raise StateCodecError(f"a table value of state format {version}, written by a newer envgrid; this "
                              f"release reads formats up to {FORMAT}. Run the newer release.")
    while version < FORMAT:
        value = UPGRADES[version](value)
        version += 1
    return _from_json(value)


class StateCodec(codecs.Codec):
    """faust codec of the tables' values (store, changelog and recovery alike)."""

    def _dumps(self, obj: Any) -> bytes:
        return encode_state(obj)

    def _loads(self, s: bytes) -> Any:
        return decode_state(s)


codecs.register(STATE_CODEC, StateCodec())


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)  # `_to_json` builds fresh trees


def _to_json(value: Any) -> Any:
    """The JSON form of a value. Every case file, timer and schedule entry is written on each input, so the
    types the tables hold are looked up by their exact type (`_BY_TYPE`, plain JSON values first); anything
    else (a subclass, a type without a tag) takes `_to_json_any`, which writes the same form or says why not."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    encode = _BY_TYPE.get(kind)
    return _to_json_any(value) if encode is None else encode(value)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _items(values: Any) -> list[Any]:
    return [item if type(item) in _PLAIN else _to_json(item) for item in values]


def _dict(value: dict[Any, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or key.startswith("$"):
            return {"$dict": [[_to_json(key), _to_json(item)] for key, item in value.items()]}
        encoded[key] = item if type(item) in _PLAIN else _to_json(item)
    return encoded


def _dataclass(tag: str, names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    values_of = operator.attrgetter(*names)  # every tagged type has two fields or more: a tuple

    def encode(value: Any) -> dict[str, Any]:
        encoded: dict[str, Any] = {"$type": tag}
        for name, item in zip(names, values_of(value), strict=True):
            encoded[name] = item if type(item) in _PLAIN else _to_json(item)
        return encoded
    return encode


def _enum(tag: str, cls: type[Enum]) -> Callable[[Enum], dict[str, Any]]:
    forms = {member: {"$enum": tag, "value": member.value} for member in cls}  # each written as is, never changed
    return forms.__getitem__


_BY_TYPE: dict[type, Callable[[Any], Any]] = {
    list: _items, dict: _dict, tuple: lambda value: {"$tuple": _items(value)},
    frozenset: lambda value: {"$frozenset": sorted(_items(value), key=repr)},
    set: lambda value: {"$set": sorted(_items(value), key=repr)},
    datetime: lambda value: {"$datetime": value.isoformat()}, date: lambda value: {"$date": value.isoformat()},
    timedelta: lambda value: {"$timedelta": [value.days, value.seconds, value.microseconds]},
    bytes: lambda value: {"$bytes": base64.b64encode(value).decode("ascii")},
    IncidentIndex: lambda value: {"$incidents": _to_json(value.to_state())},
    **{cls: _dataclass(tag, tuple(f.name for f in dataclasses.fields(cls) if f.init)) for tag, cls in TYPES.items()},
    **{cls: _enum(tag, cls) for tag, cls in ENUMS.items()},
}


def _to_json_any(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)) and not isinstance(value, Enum):
        return value
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(key, str) and not key.startswith("$") for key in value):
            return {key: _to_json(item) for key, item in value.items()}
        return {"$dict": [[_to_json(key), _to_json(item)] for key, item in value.items()]}
    if isinstance(value, Enum):
        return {"$enum": _tag(_TAG_OF_ENUM, type(value)), "value": value.value}
    if isinstance(value, tuple):
        return {"$tuple": [_to_json(item) for item in value]}
    if isinstance(value, frozenset):
        return {"$frozenset": sorted((_to_json(item) for item in value), key=repr)}
    if isinstance(value, set):
        return {"$set": sorted((_to_json(item) for item in value), key=repr)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$timedelta": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, IncidentIndex):  # to_state() is plain JSON already: no second walk (the router writes
        return {"$incidents": value.to_state()}  # thousands of these per batch)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        encoded = {"$type": _tag(_TAG_OF_TYPE, type(value))}
        for field in dataclasses.fields(value):
            if field.init:
                encoded[field.name] = _to_json(getattr(value, field.name))
        return encoded
    raise _untagged(type(value))


def _tag(tags: dict[type, str], cls: type) -> str:
    try:
        return tags[cls]
    except KeyError:
        raise _untagged(cls) from None


def _untagged(cls: type) -> StateCodecError:
    return StateCodecError(f"a table value holds a {cls.__qualname__}, which has no state tag; add it to "
                           f"TYPES or ENUMS in {__name__} (with a test) or keep it out of the tables")


_SCALAR_TAGS: dict[str, Callable[[Any], Any]] = {
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$timedelta": lambda parts: timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2]),
    "$bytes": base64.b64decode,
}
_COLLECTION_TAGS: dict[str, Callable[[Any], Any]] = {"$tuple": tuple, "$set": set, "$frozenset": frozenset}


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$type" in value:
        cls = _lookup(TYPES, value["$type"], "type")
        fields = {name: _from_json(item) for name, item in value.items() if name != "$type"}
        try:
            return cls(**fields)
        except TypeError as error:
            raise StateCodecError(f"a stored {value['$type']} does not fit today's {cls.__qualname__} ({error}); "
                                  f"add an upgrade to UPGRADES in {__name__}") from None
    if "$enum" in value:
        return _lookup(ENUMS, value["$enum"], "enum")(value["value"])
    if "$dict" in value:
        return {_from_json(key): _from_json(item) for key, item in value["$dict"]}
    if "$incidents" in value:
        return IncidentIndex.from_state(_from_json(value["$incidents"]))
    for tag, build in _SCALAR_TAGS.items():
        if tag in value:
            return build(value[tag])
    for tag, build in _COLLECTION_TAGS.items():
        if tag in value:
            return build(_from_json(item) for item in value[tag])
    return {key: _from_json(item) for key, item in value.items()}


def _lookup(table: dict[str, Any], tag: str, what: str) -> Any:
    try:
        return table[tag]
    except KeyError:
        raise StateCodecError(f"a table value names the {what} {tag!r}, which this release does not know") from None
