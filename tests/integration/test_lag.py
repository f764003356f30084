"""Consumer lag against the real broker: a group that read 4 of 10 messages is 6 behind, then 0."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client import REGISTRY

from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.streams.lag import LagCollector, total_lag

pytestmark = pytest.mark.integration


def _consume(consumer: Consumer, count: int, timeout: float = 30.0) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        assert message.error() is None, message.error()
        got.append(message)
    assert len(got) == count, f"consumed {len(got)} of {count} in {timeout} s"
    return got


def _gauge(group: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value("envgrid_consumer_lag_messages",
                                     {"group": group, "topic": topic, "partition": str(partition)})


def test_lag_follows_commits(cluster, create_topic, unique_name, admin):
    topic = create_topic(unique_name("lag"))
    group = unique_name("group")
    producer = Producer(cluster.kafka_config())
    for i in range(10):
        producer.produce(topic, key=b"k", value=f"m{i}".encode())
    assert producer.flush(30) == 0

    consumer = Consumer(cluster.kafka_config({"group.id": group,
                                              "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    consumer.assign([TopicPartition(topic, 0, 0)])
    collector = LagCollector([group], cluster=cluster, admin=admin, interval=60)
    try:
        first = _consume(consumer, 4)
        consumer.commit(offsets=[TopicPartition(topic, 0, first[-1].offset() + 1)], asynchronous=False)

        assert collector.collect_once() == {group: {(topic, 0): 6}}
        assert _gauge(group, topic, 0) == 6
        assert total_lag(group, cluster) == 6
        assert total_lag(group, cluster, topics=[topic]) == 6

        rest = _consume(consumer, 6)
        consumer.commit(offsets=[TopicPartition(topic, 0, rest[-1].offset() + 1)], asynchronous=False)
        assert collector.collect_once() == {group: {(topic, 0): 0}}
        assert _gauge(group, topic, 0) == 0
        assert collector.total_lag(group) == 0
    finally:
        consumer.close()
        collector.stop()


def test_background_thread_reports_lag(cluster, create_topic, unique_name, admin):
    topic = create_topic(unique_name("lag"), partitions=2)
    group = unique_name("group")
    producer = Producer(cluster.kafka_config())
    for i in range(5):
        producer.produce(topic, value=b"x", partition=i % 2)
    assert producer.flush(30) == 0
    consumer = Consumer(cluster.kafka_config({"group.id": group,
                                              "enable.auto.commit": False}))
    consumer.commit(offsets=[TopicPartition(topic, 0, 1), TopicPartition(topic, 1, 0)], asynchronous=False)
    consumer.close()

    with LagCollector([group], cluster=cluster, interval=0.2) as collector:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not collector.last(group):
            time.sleep(0.05)
    assert collector.last(group) == {(topic, 0): 2, (topic, 1): 2}
    assert _gauge(group, topic, 0) == 2 and _gauge(group, topic, 1) == 2


def test_unreachable_broker_is_logged_not_raised(caplog):
    collector = LagCollector(["envgrid-nobody"], cluster=ClusterAddresses("127.0.0.1:1", ""), interval=60, timeout=1.0)
    assert collector.collect_once() == {}
    assert "not collected" in caplog.text
