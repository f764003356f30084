"""envgrid.connectors.log_ends against the real broker: the log start and end of each partition, as the watermark
query it replaces gives them, and an error for a partition the broker does not know."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from envgrid.connectors.log_ends import LogEnds, list_offsets

pytestmark = pytest.mark.integration


def test_log_ends_are_the_watermarks(cluster, create_topic, unique_name, admin):
    topic = create_topic(unique_name("ends"), partitions=3)
    producer = Producer(cluster.kafka_config())
    for partition, count in ((0, 5), (2, 3)):
        for i in range(count):
            producer.produce(topic, value=f"m{i}".encode(), partition=partition)
    assert producer.flush(30) == 0
    deleted = admin.delete_records([TopicPartition(topic, 2, 2)], request_timeout=30)
    for future in deleted.values():
        future.result(timeout=30)  # partition 2 now starts at 2

    ends = LogEnds(cluster.kafka_config())
    found = ends.of([(topic, 0), TopicPartition(topic, 1), (topic, 2)], timeout=10)
    assert found == {(topic, 0): (0, 5), (topic, 1): (0, 0), (topic, 2): (2, 3)}
    assert ends.one(topic, 2) == (2, 3) and ends.of([]) == {}
    consumer = Consumer(cluster.kafka_config({"group.id": unique_name("g")}))
    try:  # the query it replaces, on a healthy cluster: the same numbers
        assert {tp: consumer.get_watermark_offsets(TopicPartition(*tp), timeout=10) for tp in found} == found
    finally:
        consumer.close()
    assert LogEnds(admin=admin).of([(topic, 0)]) == {(topic, 0): (0, 5)}


def test_a_partition_the_broker_does_not_know_is_an_error(cluster, create_topic, unique_name, admin):
    topic = create_topic(unique_name("ends"))
    with pytest.raises(KafkaException):
        LogEnds(admin=admin).of([(topic, 0), (topic, 7)], timeout=10)
    found = list_offsets(admin, [(topic, 0), (topic, 7)], OffsetSpec.latest(), timeout=10)
    assert found[(topic, 0)] == 0 and isinstance(found[(topic, 7)], KafkaException)


def test_it_needs_settings_or_a_client():
    with pytest.raises(ValueError, match="client settings or an AdminClient"):
        LogEnds()
