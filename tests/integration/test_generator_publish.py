"""Generated events through the real broker and registry: valid ones decode equal, broken bytes are
refused with the right reason code, and the counts match the truth."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from confluent_kafka import Consumer

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.connectors.wire import AVRO_DECODE_ERROR, NOT_CONFLUENT_FRAMED, UndecodableRecord
from envgrid.simulator.generator import EventGenerator
from envgrid.simulator.model import INVALID_AVRO, MISSING_FIELDS, GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish, truth_label

pytestmark = pytest.mark.integration

COUNT = 500
EXPECTED_REASON = {INVALID_AVRO: NOT_CONFLUENT_FRAMED, MISSING_FIELDS: AVRO_DECODE_ERROR}


@pytest.fixture
def catalogue(cluster, create_topic, unique_name) -> Catalogue:
    catalogue = Catalogue.load(prefix=unique_name("sim"), departments=("epb",), grids=("330302",))
    for topic in intake_topics(catalogue).all():
        create_topic(topic, partitions=3)
    return catalogue


def test_published_events_decode_as_generated(cluster, catalogue, unique_name):
    # A higher broken share so that 500 events surely hold every broken kind.
    config = GeneratorConfig(broken_share=0.08)
    events = EventGenerator(seed=99, config=config).take(COUNT)
    topics = intake_topics(catalogue)
    codec = EventCodec(registry_client(cluster), catalogue.event_type_of)
    progress_calls = []

    result = publish(make_producer(cluster), codec, events, topics,
                     progress=lambda n, r: progress_calls.append(n), progress_every=100)

    assert not result.errors and not result.failed
    assert result.total == COUNT and sum(result.delivered.values()) == COUNT
    assert result.produced == Counter(f"{e.kind}/{truth_label(e.truth)}" for e in events)
    assert progress_calls[:5] == [100, 200, 300, 400, 500]

    by_id = {e.truth.event_id: e for e in events}
    messages = _consume(cluster, unique_name("group"), topics.all(), COUNT)
    assert len(messages) == COUNT
    decoded, refused = Counter(), Counter()
    for message in messages:
        try:
            event_name, value = codec.decode(message.value(), message.topic())
        except UndecodableRecord as error:
            refused[error.reason] += 1
            continue
        generated = by_id[value["event_id"]]
        assert event_name == generated.kind and topics.topic_of(generated) == message.topic()
        assert message.key().decode() == generated.key
        assert value == generated.value
        decoded[truth_label(generated.truth)] += 1

    truth = Counter(truth_label(e.truth) for e in events)
    assert refused == Counter({EXPECTED_REASON[k]: truth[f"broken:{k}"] for k in EXPECTED_REASON})
    assert all(truth[f"broken:{k}"] > 0 for k in ("invalid_avro", "missing_fields", "unknown_category", "outside_city"))
    assert decoded == Counter({label: n for label, n in truth.items()
                               if label not in ("broken:invalid_avro", "broken:missing_fields")})


def test_rate_paces_publishing(cluster, catalogue):
    events = EventGenerator(seed=5).take(60)
    codec = EventCodec(registry_client(cluster), catalogue.event_type_of)
    started = time.monotonic()
    result = publish(make_producer(cluster), codec, events, intake_topics(catalogue), rate=100)
    assert not result.errors and result.total == 60
    assert time.monotonic() - started >= 0.55


def _consume(cluster, group: str, topics: list[str], count: int, timeout: float = 60.0) -> list:
    consumer = Consumer(cluster.kafka_config({"group.id": group,
                                              "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    messages = []
    try:
        consumer.subscribe(topics)
        deadline = time.monotonic() + timeout
        while len(messages) < count and time.monotonic() < deadline:
            batch = consumer.consume(500, 0.5)
            messages.extend(m for m in batch if m.error() is None)
    finally:
        consumer.close()
    return messages
