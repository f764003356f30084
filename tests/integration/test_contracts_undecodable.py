"""Bad record values read back from the real broker become UndecodableRecord with the right reason."""

from __future__ import annotations

import struct
import time

import pytest
from confluent_kafka import Consumer, Producer

from envgrid.connectors.samples import sample_events
from envgrid.connectors.serde import EventCodec, UndecodableRecord, registry_client

pytestmark = pytest.mark.integration


def test_bad_values_from_the_broker_are_undecodable_with_a_reason(cluster, create_topic, unique_name) -> None:
    topic = create_topic(unique_name("envgrid.case.feedback"), partitions=1)
    sla_topic = unique_name("envgrid.case.sla")
    codec = EventCodec(registry_client(cluster), {topic: "CaseFeedback", sla_topic: "SlaEvent"}.get)
    good = codec.encode("CaseFeedback", sample_events()["CaseFeedback"], topic)
    bad_values = {
        "garbage": (b"\x7b\x22not avro at all\x22\x7d", "not_confluent_framed"),
        "wrong magic byte": (b"\x01" + good[1:], "not_confluent_framed"),
        "shorter than the header": (good[:3], "not_confluent_framed"),
        "truncated payload, valid schema id": (good[:-7], "avro_decode_error"),
        "unknown schema id": (struct.pack(">bI", 0, 2_000_000_000) + good[5:], "unknown_schema_id"),
        "another event type": (codec.encode("SlaEvent", sample_events()["SlaEvent"], sla_topic), "wrong_event_type"),
        "good": (good, None),
    }
    producer = Producer(cluster.kafka_config())
    for label, (value, _) in bad_values.items():
        producer.produce(topic, key=label.encode(), value=value)
    assert producer.flush(30) == 0

    consumer = Consumer(cluster.kafka_config({"group.id": unique_name("group"),
                                              "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    outcomes: dict[str, str | None] = {}
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 45
        while len(outcomes) < len(bad_values) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            label = message.key().decode()
            try:
                assert codec.decode(message.value(), message.topic()) == ("CaseFeedback", sample_events()["CaseFeedback"])
                outcomes[label] = None
            except UndecodableRecord as error:
                assert error.topic == topic and topic in str(error)
                outcomes[label] = error.reason
    finally:
        consumer.close()
    assert outcomes == {label: reason for label, (_, reason) in bad_values.items()}
