"""The registry enforces BACKWARD_TRANSITIVE on our subjects and refuses breaking schema changes."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from envgrid.connectors import compat
from envgrid.connectors.contracts import EVENT_TYPES, load_event
from envgrid.connectors.serde import COMPATIBILITY_LEVEL, register_all, registry_client, registry_schema, subject_for

pytestmark = pytest.mark.integration


def _avro(schema: dict) -> Schema:
    return Schema(json.dumps(schema, ensure_ascii=False), "AVRO")


def _field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_register_all_registers_every_event_and_sets_backward_transitive(cluster) -> None:
    client = registry_client(cluster)
    first = register_all(client)
    assert set(first) == set(EVENT_TYPES)
    assert register_all(registry_client(cluster)) == first, "re-registering must be a no-op"
    for event_name in EVENT_TYPES:
        assert client.get_compatibility(subject_for(event_name)) == COMPATIBILITY_LEVEL
        assert client.lookup_schema(subject_for(event_name), registry_schema(event_name)).schema_id == first[event_name]


def test_breaking_changes_are_refused_by_the_registry(cluster, unique_name) -> None:
    client = registry_client(cluster)
    # Our own subject (same schema, unique subject name) so concurrent sessions cannot interfere.
    subject = f"{unique_name('subject')}.CaseFeedback"
    v1 = load_event("CaseFeedback").fresh_schema()
    client.register_schema(subject, _avro(v1))
    client.set_compatibility(subject_name=subject, level=COMPATIBILITY_LEVEL)

    required_field = load_event("CaseFeedback").fresh_schema()
    required_field["fields"].append({"name": "priority", "type": "int", "doc": "New and required."})
    type_change = load_event("CaseFeedback").fresh_schema()
    _field(type_change, "message")["type"] = "int"
    for breaking in (required_field, type_change):
        with pytest.raises(SchemaRegistryError) as refused:
            client.register_schema(subject, _avro(breaking))
        assert refused.value.http_status_code == 409, refused.value

    # Transitive: v2 drops `message` (readers ignore it: compatible); v3 brings it back as an int with a
    # default — fine against v2 (no `message` there), impossible for v1's string data.
    v2 = load_event("CaseFeedback").fresh_schema()
    v2["fields"] = [f for f in v2["fields"] if f["name"] != "message"]
    client.register_schema(subject, _avro(v2))
    v3 = load_event("CaseFeedback").fresh_schema()
    _field(v3, "message").update({"type": "int", "default": 0})
    assert compat.incompatibilities(v3, v2) == [] and compat.incompatibilities(v3, v1) != []
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, _avro(v3))
    assert refused.value.http_status_code == 409
    assert len(client.get_versions(subject)) == 2
