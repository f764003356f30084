"""The real broker and registry answer, carry a message, and enforce schema compatibility."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

pytestmark = pytest.mark.integration

NS = "cn.gov.wenzhou.envgrid.test"


def _record(*fields: dict) -> Schema:
    return Schema(json.dumps({"type": "record", "name": "Probe", "namespace": NS, "fields": list(fields)}),
                  "AVRO")


def test_broker_answers_list_topics(cluster, admin):
    md = admin.list_topics(timeout=10)
    assert md.brokers, "no broker in the metadata"
    assert md.cluster_id


def test_topic_round_trips_a_message(cluster, create_topic, unique_name):
    topic = create_topic(unique_name("topic"), partitions=2)
    producer = Producer(cluster.kafka_config({"enable.idempotence": True}))
    delivered = []
    producer.produce(topic, key=b"G-330302", value="投诉: 河道异味".encode(), headers={"h": b"1"},
                     on_delivery=lambda err, msg: delivered.append(err or msg))
    assert producer.flush(15) == 0
    assert delivered and not isinstance(delivered[0], Exception), delivered

    consumer = Consumer(cluster.kafka_config({"group.id": unique_name("group"),
                                              "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    try:
        consumer.subscribe([topic])
        deadline, msg = time.monotonic() + 30, None
        while msg is None and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None:
                assert m.error() is None, m.error()
                msg = m
        assert msg is not None, f"nothing consumed from {topic} within 30 s"
        assert (msg.key(), msg.value().decode(), msg.headers()) == (b"G-330302", "投诉: 河道异味", [("h", b"1")])
    finally:
        consumer.close()


def test_topics_are_not_auto_created(cluster, cluster_is_local, unique_name):
    if not cluster_is_local:
        pytest.skip("broker settings of an external cluster are not ours")
    producer = Producer(cluster.kafka_config({"message.timeout.ms": 3000}))
    errors = []
    producer.produce(unique_name("absent"), b"x", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(10)
    assert errors and errors[0] is not None, "the broker auto-created a topic"


def test_registry_registers_and_reads_back(cluster, unique_name):
    client = SchemaRegistryClient(cluster.registry_config())
    subject = unique_name("subject") + "-value"
    schema = _record({"name": "grid_code", "type": "string"})
    schema_id = client.register_schema(subject, schema)
    assert subject in client.get_subjects()
    assert json.loads(client.get_schema(schema_id).schema_str) == json.loads(schema.schema_str)
    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version) == (schema_id, 1)


@pytest.mark.parametrize("level, third_accepted", [("BACKWARD", True), ("BACKWARD_TRANSITIVE", False)])
def test_compatibility_level_is_enforced(cluster, unique_name, level, third_accepted):
    """v3 reads v2 data but not v1 data: only a transitive check refuses it."""
    client = SchemaRegistryClient(cluster.registry_config())
    subject = unique_name("subject") + "-value"
    client.register_schema(subject, _record({"name": "a", "type": "int"}))
    client.set_compatibility(subject, level)
    assert client.get_compatibility(subject) == level
    with pytest.raises(SchemaRegistryError) as refused:  # new required field: never backward compatible
        client.register_schema(subject, _record({"name": "a", "type": "int"}, {"name": "b", "type": "int"}))
    assert refused.value.http_status_code == 409
    client.register_schema(subject, _record({"name": "c", "type": "long", "default": 0}))  # drops a
    v3 = _record({"name": "c", "type": "long", "default": 0}, {"name": "a", "type": "string", "default": ""})
    if third_accepted:
        client.register_schema(subject, v3)
    else:
        with pytest.raises(SchemaRegistryError) as refused:
            client.register_schema(subject, v3)
        assert refused.value.http_status_code == 409
    assert len(client.get_versions(subject)) == (3 if third_accepted else 2)


def test_local_cluster_is_reused_and_reported(cluster, cluster_is_local):
    if not cluster_is_local:
        pytest.skip("external cluster")
    from envgrid.localcluster.cluster import LocalCluster

    again = LocalCluster()
    assert again.up(owner="session") == cluster and again.reused
    st = again.status()
    assert st["running"] and st["broker"]["log"].endswith("var/log/kafka.log")
    assert st["registry"]["log"].endswith("var/log/registry.log")
