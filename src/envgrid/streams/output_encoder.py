"""A report's outputs encoded together: what its dispatch copies share is encoded once (issue 10).

The router sends one CaseDispatched per target (departments, grids) plus the command that opens the case,
and these copies differ only in their id, target and masked contact. `OutputEncoder.encode_all` cuts the
CaseDispatched schema around those fields (`envgrid.connectors.record_parts`), encodes each part, and
reuses a part's bytes for the next output when every value in it is the very same object as before. It
returns, output for output, the bytes `EventCodec.encode` returns, with the same header and the same
errors: where the cut is made decides only how much is reused, never what is written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from envgrid.connectors.record_parts import Part, cut_record
from envgrid.connectors.serde import EventCodec
from envgrid.connectors.wire import frame, header
from envgrid.streams.routing_service import Output

#: event type -> the fields its records in one batch differ in; the schema is cut around them
VARYING_FIELDS: Mapping[str, frozenset[str]] = {
    "CaseDispatched": frozenset({"event_id", "complainant_contact", "target"}),
}

# part -> (ids of the values its bytes were written from, those values (kept alive, so no id is reused), bytes)
_Written = dict[Part, tuple[Any, Any, bytes]]


class OutputEncoder:
    """`encode_all(outputs)`: each output's Confluent-framed Avro, as `codec.encode` gives it, with less work."""

    def __init__(self, codec: EventCodec, varying: Mapping[str, Collection[str]] = VARYING_FIELDS) -> None:
        self._codec = codec
        self._varying = {event_name: frozenset(fields) for event_name, fields in varying.items()}
        self._plans: dict[str, tuple[Any, tuple[_PlannedPart, ...]]] = {}  # event -> (parsed schema, its parts)

    def encode_all(self, outputs: Sequence[Output]) -> list[bytes]:
        """The bytes of every output, in order; raises EventEncodingError as `codec.encode` would for the first
        output that does not fit its schema or topic. Parts are reused within this call only: the values of
        outputs sent earlier may have changed since."""
        written: _Written = {}
        return [self._encode(output, written) for output in outputs]

    def _encode(self, output: Output, written: _Written) -> bytes:
        event_name, value, topic = output.event_name, output.value, output.topic
        schema_id, parsed = self._codec.writer_for(event_name, value, topic)
        parts = self._parts_of(event_name, parsed)
        if parts:
            try:
                pieces = [header(schema_id)]
                for part, values_of in parts:
                    if values_of is None:  # the fields the outputs differ in: no use looking for a match
                        pieces.append(part.encode(value))
                        continue
                    values = values_of(value)
                    ids = tuple(map(id, values))
                    known = written.get(part)
                    if known is None or known[0] != ids:
                        known = written[part] = (ids, values, part.encode(value))
                    pieces.append(known[2])
                return b"".join(pieces)
            except Exception:  # noqa: BLE001 - a field missing or not fitting: the whole record, for its exact error
                pass
        return frame(schema_id, parsed, value, event_name=event_name, topic=topic)

    def _parts_of(self, event_name: str, parsed: Any) -> tuple[_PlannedPart, ...]:
        """The event's parts with their value getters; () when the event is not cut (encoded whole)."""
        plan = self._plans.get(event_name)
        if plan is None or plan[0] is not parsed:
            around = self._varying.get(event_name)
            plan = self._plans[event_name] = (parsed, _planned_parts(parsed, around) if around else ())
        return plan[1]


_PlannedPart = tuple[Part, Callable[[dict[str, Any]], tuple[Any, ...]] | None]  # no getter: a varying part
_PLANS: dict[tuple[int, frozenset[str]], tuple[Any, tuple[_PlannedPart, ...]]] = {}


def _planned_parts(parsed: Any, around: frozenset[str]) -> tuple[_PlannedPart, ...]:
    """`cut_record` with a getter of each part's values, once per schema and cut for the process: parsing the
    parts costs milliseconds, and an encoder may be built for every report."""
    key = (id(parsed), around)
    known = _PLANS.get(key)
    if known is None or known[0] is not parsed:  # the schema is kept, so its id() cannot be reused
        known = _PLANS[key] = (parsed, tuple((part, None if part.fields[0] in around else _values_getter(part.fields))
                                             for part in cut_record(parsed, around)))
    return known[1]


def _values_getter(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The values of `fields` as a tuple, `_ABSENT` for a field the dict does not have (fastavro writes its
    default, the same each time)."""
    absent = (_ABSENT,) * len(fields)
    return lambda value: tuple(map(value.get, fields, absent))


_ABSENT = object()
