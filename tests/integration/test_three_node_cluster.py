"""The 3-node local cluster (`LocalCluster(nodes=3)`, `python -m envgrid.localcluster up --nodes 3`) on the real
broker: every node a broker and a controller, secured like the single node, topics of the catalogue's production
profile with replication 3 and min.insync.replicas 2. One node is SIGKILLed while an idempotent producer with
acks=all writes: nothing it was told was delivered is lost, nothing is written twice, writes go on with two
nodes, and the restarted node rejoins every in-sync replica set.

The pipeline's faust workers through the same faults: tests/integration/test_three_brokers.py.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from envgrid.localcluster.cluster import LocalCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
RECORDS = 3000



def test_a_killed_node_loses_no_acknowledged_record_and_rejoins(three_nodes: LocalCluster) -> None:
    addresses = three_nodes.addresses()
    assert addresses is not None and addresses.security.sasl, "the 3-node cluster must be secured like one node"
    assert len(addresses.bootstrap_servers.split(",")) == 3
    admin = AdminClient(addresses.kafka_config())
    topic = f"three-nodes-{time.time_ns()}"
    futures = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3,
                                            config={"min.insync.replicas": "2"})])
    futures[topic].result(timeout=60)
    _wait_for(lambda: _isr_sizes(admin, topic) == [3, 3, 3], 60, "every partition with 3 in-sync replicas")

    producer = Producer(addresses.kafka_config({"enable.idempotence": True, "acks": "all", "linger.ms": 5}))
    delivered: list[bytes] = []
    failed: list[str] = []

    def on_delivery(error, message) -> None:
        if error is None:
            delivered.append(message.value())
        else:
            failed.append(str(error))

    victim = _leader_of(admin, topic, 0)
    for index in range(RECORDS):
        if index == RECORDS // 3:
            three_nodes.kill_node(victim)  # the leader of partition 0 dies mid-stream, no clean shutdown
        producer.produce(topic, str(index).encode(), key=str(index).encode(), on_delivery=on_delivery)
        producer.poll(0)
        if index % 100 == 0:
            time.sleep(0.02)
    assert producer.flush(120) == 0
    assert not failed, failed[:5]
    assert len(delivered) == RECORDS
    assert _leader_of(admin, topic, 0) != victim, "partition 0 kept a dead leader"

    restart_seconds = three_nodes.restart_node(victim)
    _wait_for(lambda: _isr_sizes(admin, topic) == [3, 3, 3], 120, "the restarted node back in every ISR")

    values = _read_all(addresses, topic)
    assert sorted(values) == sorted(delivered), "records acknowledged to the producer are missing or doubled"
    assert len(set(values)) == RECORDS
    print(f"\n3 nodes: node {victim} killed under an idempotent acks=all producer; {RECORDS} records, none lost or "
          f"doubled; the node answered {restart_seconds:.0f} s after its restart and rejoined every ISR")


def _leader_of(admin: AdminClient, topic: str, partition: int) -> int:
    return int(admin.list_topics(topic, timeout=10).topics[topic].partitions[partition].leader)


def _isr_sizes(admin: AdminClient, topic: str) -> list[int]:
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    return [len(partitions[p].isrs) for p in sorted(partitions)]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(1)


def _read_all(addresses, topic: str) -> list[bytes]:
    consumer = Consumer(addresses.kafka_config({"group.id": f"reader-{time.time_ns()}", "enable.auto.commit": False,
                                                "auto.offset.reset": "earliest"}))
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(3)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
        values: list[bytes] = []
        deadline = time.monotonic() + 120
        positions = dict.fromkeys(ends, 0)
        while any(positions[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=1.0):
                if message.error():
                    continue
                values.append(message.value())
                positions[message.partition()] = message.offset() + 1
        return values
    finally:
        consumer.close()
