"""Every event type through the real broker and registry: confluent serde and the fast path agree."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.serialization import MessageField, SerializationContext

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.contracts import EVENT_TYPES
from envgrid.connectors.samples import sample_events
from envgrid.connectors.serde import (
    EventCodec,
    avro_deserializer,
    avro_serializer,
    key_deserializer,
    key_serializer,
    registry_client,
    subject_for,
)

pytestmark = pytest.mark.integration

KEYS = {  # what each event is keyed by, as the catalogue says
    "PetitionComplaint": "event_id", "PatrolReport": "grid_code", "DepartmentNotice": "case_id",
    "CaseDispatched": "case_id", "CaseLifecycleEvent": "case_id", "CaseFeedback": "case_id",
    "SlaEvent": "case_id", "DeadLetter": "source_topic",
    "ClockTick": "event_id",  # the ticker writes to explicit partitions; any key does for this test
    "CalendarPublished": "version_id",
    "ComplainantIdentityRecorded": "report_id",
    "SpotCheckDrawn": "event_id",
}


@pytest.fixture
def topics(cluster, create_topic, unique_name) -> dict[str, str]:
    """One catalogue topic per event type under a unique prefix, created for this test."""
    catalogue = Catalogue.load(prefix=unique_name("p"), departments=("epb",), grids=("330302",))
    chosen = {
        "PetitionComplaint": catalogue.intake("PetitionComplaint"),
        "PatrolReport": catalogue.intake("PatrolReport"),
        "DepartmentNotice": catalogue.notice_topic("DEPARTMENT", "epb"),
        "CaseDispatched": catalogue.topic_for(("department", "epb")),
        "CaseLifecycleEvent": catalogue.topic("case.history"),
        "CaseFeedback": catalogue.topic("case.feedback"),
        "SlaEvent": catalogue.topic("case.sla"),
        "DeadLetter": catalogue.topic("deadletter"),
        "ClockTick": catalogue.topic("internal.sla-ticks"),
        "CalendarPublished": catalogue.topic("internal.calendar"),
        "ComplainantIdentityRecorded": catalogue.topic("restricted.complainant-identity"),
        "SpotCheckDrawn": catalogue.topic("internal.spot-check-draws"),
    }
    assert set(chosen) == set(EVENT_TYPES) == set(KEYS), "a new event type needs its topic and key here"
    for topic in chosen.values():
        create_topic(topic, partitions=1)
    return chosen


def _consume(cluster, group: str, topics: list[str], count: int, timeout: float = 45.0) -> list:
    consumer = Consumer(cluster.kafka_config({"group.id": group,
                                              "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    messages = []
    try:
        consumer.subscribe(topics)
        deadline = time.monotonic() + timeout
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None:
                assert message.error() is None, message.error()
                messages.append(message)
    finally:
        consumer.close()
    assert len(messages) == count, f"consumed {len(messages)} of {count} records within {timeout} s"
    return messages


def test_every_event_type_round_trips_through_broker_and_registry(cluster, topics, unique_name) -> None:
    client = registry_client(cluster)
    codec = EventCodec(client, {t: e for e, t in topics.items()}.get)
    producer = Producer(cluster.kafka_config({"enable.idempotence": True}))
    samples = sample_events()
    for event_name, topic in topics.items():
        value = samples[event_name]
        key = key_serializer()(value[KEYS[event_name]], SerializationContext(topic, MessageField.KEY))
        confluent_bytes = avro_serializer(client, event_name)(value, SerializationContext(topic, MessageField.VALUE))
        fast_bytes = codec.encode(event_name, value, topic)
        assert fast_bytes == confluent_bytes, f"{event_name}: fast path and confluent serializer differ"
        producer.produce(topic, key=key, value=confluent_bytes, headers={"path": b"confluent"})
        producer.produce(topic, key=key, value=fast_bytes, headers={"path": b"fast"})
    assert producer.flush(30) == 0

    deserializer = avro_deserializer(client)
    messages = _consume(cluster, unique_name("group"), list(topics.values()), 2 * len(topics))
    seen = set()
    for message in messages:
        topic = message.topic()
        event_name = {t: e for e, t in topics.items()}[topic]
        expected = samples[event_name]
        ctx = SerializationContext(topic, MessageField.VALUE)
        assert deserializer(message.value(), ctx) == expected
        assert codec.decode(message.value(), topic) == (event_name, expected)
        assert key_deserializer()(message.key(), ctx) == expected[KEYS[event_name]]
        seen.add((event_name, dict(message.headers())["path"]))
    assert seen == {(e, p) for e in EVENT_TYPES for p in (b"confluent", b"fast")}


def test_subjects_are_record_names(cluster, topics) -> None:
    client = registry_client(cluster)
    EventCodec(client).encode("SlaEvent", sample_events()["SlaEvent"], topics["SlaEvent"])
    subjects = client.get_subjects()
    assert subject_for("SlaEvent") == "cn.gov.wenzhou.envgrid.SlaEvent" and "cn.gov.wenzhou.envgrid.SlaEvent" in subjects
    assert not [s for s in subjects if s.startswith(topics["SlaEvent"])], "no per-topic subjects"
