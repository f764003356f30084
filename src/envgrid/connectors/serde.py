"""Avro serde through the schema registry: Confluent wire format, one subject per event type.

Subjects follow the RECORD name strategy (`record_subject_name_strategy`): the subject of an event is
its record full name, e.g. `cn.gov.wenzhou.envgrid.CaseDispatched`, whatever topic carries it. Why not
the default `<topic>-value`: one schema is shared by many topics — CaseDispatched goes to every
`dept.<code>.cases` and `grid.<l2>.cases` topic plus triage (30-odd topics, more when a department or
grid is added) — and per-topic subjects would give each its own version history and compatibility
setting, free to drift apart, with a registration round-trip for every new topic. One subject per event
type keeps ONE history, checked BACKWARD_TRANSITIVE once (mirroring `schemas/history/`, see
envgrid.connectors.compat), and a new department topic needs no registry change at all.

Two ways to the same bytes:
- `avro_serializer` / `avro_deserializer`: confluent-kafka's AvroSerializer/AvroDeserializer, for
  producers and consumers that use confluent's SerializingProducer/DeserializingConsumer;
- `EventCodec`: the hot-loop facade. It asks the registry once per event type / schema id and then
  frames and reads bytes itself with fastavro (`envgrid.connectors.wire`); the bytes are identical to the
  confluent serializer's and each side reads the other's (tests/integration/test_contracts_serde.py).
Keys are UTF-8 strings (confluent's StringSerializer). Time fields are tz-aware UTC datetimes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from fastavro.schema import to_parsing_canonical_form

from envgrid.connectors.contracts import (
    EVENT_TYPES,
    ContractError,
    EventContract,
    event_name_of,
    load_event,
    parse_for_fastavro,
)
from envgrid.connectors.wire import (
    UNKNOWN_SCHEMA_ID,
    WRONG_EVENT_TYPE,
    EventEncodingError,
    UndecodableRecord,
    frame,
    read_body,
    record_name,
    split_frame,
)
from envgrid.localcluster.addresses import ClusterAddresses

__all__ = [
    "COMPATIBILITY_LEVEL",
    "EventCodec",
    "EventEncodingError",
    "UndecodableRecord",
    "avro_deserializer",
    "avro_serializer",
    "key_deserializer",
    "key_serializer",
    "register_all",
    "registry_client",
    "registry_schema",
    "subject_for",
]

COMPATIBILITY_LEVEL = "BACKWARD_TRANSITIVE"
SUBJECT_NAME_STRATEGY = record_subject_name_strategy

#: topic -> the event type it carries, or None when the topic is not in the catalogue (no check).
TopicEvents = Callable[[str], "str | None"]


REGISTRY_TIMEOUT_S = 5  # a registry that hangs must not hang the worker: the call fails and is tried again


def registry_client(cluster: ClusterAddresses, **extra: Any) -> SchemaRegistryClient:
    """Client for the cluster's registry (for Apicurio: its Confluent-compatible `.../apis/ccompat/v7`), with
    the cluster's registry credentials. Requests time out after REGISTRY_TIMEOUT_S (the client's own
    default is to wait forever)."""
    return SchemaRegistryClient({**cluster.registry_config(), "timeout": REGISTRY_TIMEOUT_S, **extra})


def subject_for(event_name: str) -> str:
    """Registry subject of an event type: its record full name."""
    return load_event(event_name).full_name


def registry_schema(event_name: str) -> Schema:
    """The registry's form of an event's current schema: the expanded, self-contained Avro JSON."""
    return Schema(load_event(event_name).schema_str, schema_type="AVRO")


def register_all(client: SchemaRegistryClient, level: str = COMPATIBILITY_LEVEL) -> dict[str, int]:
    """Register every current event schema and set each subject's compatibility; event name -> schema id.

    Compatibility is set before registering when the subject exists, so the new version is checked;
    a brand-new subject gets its level right after its first version (Apicurio refuses config for
    subjects it does not know). Raises SchemaRegistryError (409) when a schema breaks compatibility.
    """
    ids = {}
    for event_name in EVENT_TYPES:
        subject = subject_for(event_name)
        try:
            client.set_compatibility(subject_name=subject, level=level)
            is_new = False
        except SchemaRegistryError as error:
            if error.http_status_code != 404:
                raise
            is_new = True
        ids[event_name] = client.register_schema(subject, registry_schema(event_name))
        if is_new:
            client.set_compatibility(subject_name=subject, level=level)
    return ids


def avro_serializer(client: SchemaRegistryClient, event_name: str, *, auto_register: bool = True) -> AvroSerializer:
    """confluent-kafka AvroSerializer for one event type, subject = record name.

    `auto_register` on suits dev; in production register with `register_all` at deploy and turn it off,
    so a producer built from an unreviewed schema fails instead of adding a version.
    """
    conf = {"auto.register.schemas": auto_register, "subject.name.strategy": SUBJECT_NAME_STRATEGY}
    serializer: AvroSerializer = AvroSerializer(client, registry_schema(event_name), conf=conf)
    return serializer


def avro_deserializer(client: SchemaRegistryClient, event_name: str | None = None) -> AvroDeserializer:
    """confluent-kafka AvroDeserializer; with `event_name`, resolves to that event's current schema."""
    schema = registry_schema(event_name) if event_name else None
    conf = {"subject.name.strategy": SUBJECT_NAME_STRATEGY}
    deserializer: AvroDeserializer = AvroDeserializer(client, schema, conf=conf)
    return deserializer


def key_serializer() -> StringSerializer:
    return StringSerializer("utf_8")


def key_deserializer() -> StringDeserializer:
    return StringDeserializer("utf_8")


class EventCodec:
    """encode(event, value, topic) -> bytes and decode(bytes, topic) -> (event, value), fast.

    `topic_events` (e.g. `Catalogue.event_type_of`) tells which event type a topic carries; a record
    of another type on it is `wrong_event_type`. Values are read into the CURRENT schema of their event
    type, so records written with an older version arrive in today's shape (defaults filled in).
    """

    def __init__(
        self, client: SchemaRegistryClient, topic_events: TopicEvents | None = None, *, auto_register: bool = True
    ) -> None:
        self._client = client
        self._topic_events = topic_events
        self._auto_register = auto_register
        self._writer_ids: dict[str, tuple[int, Any, tuple[str, ...]]] = {}  # event -> (id, parsed, time fields)
        self._readers: dict[int, tuple[str, Any, Any]] = {}  # schema id -> (event, writer, reader or None)
        self._forms: dict[int, str] = {}  # schema id -> the writer schema's parsing canonical form

    def encode(self, event_name: str, value: dict[str, Any], topic: str) -> bytes:
        """Confluent-framed Avro of `value`; raises EventEncodingError naming the fields that do not fit."""
        schema_id, parsed = self.writer_for(event_name, value, topic)
        return frame(schema_id, parsed, value, event_name=event_name, topic=topic)

    def writer_for(self, event_name: str, value: dict[str, Any], topic: str) -> tuple[int, Any]:
        """(schema id, parsed schema) that `encode` writes `value` with on `topic`, once the checks fastavro
        does not make have passed (the topic's event type, a dict, aware times); EventEncodingError if not."""
        writer = self._writer_ids.get(event_name)
        if writer is None:
            writer = self._writer_ids[event_name] = self._schema_id_for(load_event(event_name))
        expected = self._topic_events(topic) if self._topic_events else None
        if expected is not None and expected != event_name:
            raise EventEncodingError(f"{topic} carries {expected} events, not {event_name}")
        if not isinstance(value, dict):
            raise EventEncodingError(f"{event_name} value for {topic} must be a dict, not {type(value).__name__}")
        for name in writer[2]:  # fastavro would take a naive time as UTC: 8 h off for Beijing wall-clock times
            moment = value.get(name)
            if moment is not None and getattr(moment, "tzinfo", True) is None:
                raise EventEncodingError(
                    f"{event_name} value for {topic}: {name}={moment.isoformat()} has no timezone; pass an aware datetime"
                )
        return writer[0], writer[1]

    def decode(self, data: bytes | None, topic: str) -> tuple[str, dict[str, Any]]:
        """(event name, value) of a record value; UndecodableRecord with a reason code for anything bad."""
        schema_id, body = split_frame(data, topic)
        cached = self._readers.get(schema_id)
        if cached is None:
            cached = self._readers[schema_id] = self._reader_for(schema_id, topic)
        event_name, writer, reader = cached
        expected = self._topic_events(topic) if self._topic_events else None
        if expected is not None and expected != event_name:
            raise UndecodableRecord(
                WRONG_EVENT_TYPE, topic, f"carries {expected} events but schema id {schema_id} is {event_name}", schema_id
            )
        return event_name, read_body(body, writer, reader, topic=topic, schema_id=schema_id)

    def body_if_written_as(self, data: bytes | None, topic: str, form: str) -> bytes | None:
        """The Avro body of a record value when its writer's schema has parsing canonical form `form` (so the body
        is that schema's encoding of the value), else None. Decode the record first: the schema id is known then."""
        schema_id, body = split_frame(data, topic)
        written_as = self._forms.get(schema_id)
        if written_as is None:
            cached = self._readers.get(schema_id) or self._reader_for(schema_id, topic)
            written_as = self._forms[schema_id] = to_parsing_canonical_form(cached[1])
        return body if written_as == form else None

    def encode_key(self, key: str) -> bytes:
        return key.encode("utf-8")

    def schema_id(self, event_name: str) -> int:
        """Registry id of the current schema of `event_name` (registered or looked up once)."""
        if event_name not in self._writer_ids:
            self._writer_ids[event_name] = self._schema_id_for(load_event(event_name))
        return self._writer_ids[event_name][0]

    def _schema_id_for(self, contract: EventContract) -> tuple[int, Any, tuple[str, ...]]:
        schema = Schema(contract.schema_str, schema_type="AVRO")
        if self._auto_register:
            schema_id = self._client.register_schema(contract.full_name, schema)
        else:
            registered_id = self._client.lookup_schema(contract.full_name, schema).schema_id
            assert registered_id is not None, f"registry returned no id for {contract.full_name}"
            schema_id = registered_id
        return schema_id, contract.parsed, contract.timestamp_fields

    def _reader_for(self, schema_id: int, topic: str) -> tuple[str, Any, Any]:
        try:
            registered = self._client.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code == 404:
                raise UndecodableRecord(
                    UNKNOWN_SCHEMA_ID, topic, f"schema id {schema_id} is not in the registry ({error})", schema_id
                ) from error
            raise  # registry trouble is not the record's fault: let the caller retry, not dead-letter
        if (registered.schema_type or "AVRO") != "AVRO" or registered.references:
            raise UndecodableRecord(
                WRONG_EVENT_TYPE, topic,
                f"schema id {schema_id} is a {registered.schema_type} schema"
                f"{' with references' if registered.references else ''}; envgrid events are self-contained Avro",
                schema_id,
            )
        try:
            written = json.loads(registered.schema_str or "null")
            writer = parse_for_fastavro(written, f"registry schema id {schema_id}") if isinstance(written, dict) else None
        except (ValueError, ContractError) as error:
            raise UndecodableRecord(WRONG_EVENT_TYPE, topic, f"schema id {schema_id}: {error}", schema_id) from error
        full_name = record_name(writer)
        event_name = event_name_of(full_name) if full_name else None
        if event_name is None:
            raise UndecodableRecord(
                WRONG_EVENT_TYPE, topic, f"schema id {schema_id} is {full_name or 'not a record'}, not an envgrid event",
                schema_id,
            )
        contract = load_event(event_name)
        return event_name, writer, None if written == contract.schema else contract.parsed
