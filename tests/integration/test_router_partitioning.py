"""One key, one partition, whichever of the pipeline's clients wrote it.

The router (librdkafka) opens a case with a command keyed by case id on `internal.case-commands`; the case
desk (faust, on aiokafka) re-keys each department notice by case id onto the same topic and re-dispatches
cases to the department topics. A case's state lives in one partition, so both clients must put one key in
the same partition, or a notice would wait forever for a case that opened elsewhere. Checked on the real
broker: both clients send the same 300 case ids, a plain consumer reads where each landed.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka import Consumer

from envgrid.domain.case_ids import case_id_for
from envgrid.streams.router_loop import RouterLoop
from tests.integration.pipeline_process import prepare

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_router_and_the_case_desk_put_a_case_in_the_same_partition(cluster, unique_name):
    prefix = unique_name("parts")
    catalogue, _ = prepare(cluster, prefix)
    topic = catalogue.topic("internal.case-commands")
    keys = [case_id_for(f"report-{n}").encode() for n in range(300)]

    router = RouterLoop.producer_for(cluster)
    for key in keys:
        router.produce(topic, b"router", key)
    assert router.flush(60) == 0
    asyncio.run(_send_with_aiokafka(cluster, topic, keys))

    where: dict[bytes, dict[bytes, int]] = {b"router": {}, b"faust": {}}
    reader = Consumer(cluster.kafka_config({"group.id": f"{prefix}-reader", "auto.offset.reset": "earliest"}))
    reader.subscribe([topic])
    try:
        while sum(len(found) for found in where.values()) < 2 * len(keys):
            for message in reader.consume(500, timeout=5):
                assert message.error() is None, message.error()
                where[message.value()][message.key()] = message.partition()
    finally:
        reader.close()
    assert where[b"router"] == where[b"faust"]
    assert len(set(where[b"router"].values())) == catalogue.spec(topic).partitions  # the keys spread over all


async def _send_with_aiokafka(cluster, topic: str, keys: list[bytes]) -> None:
    security = cluster.security  # faust's producer is aiokafka's, with these credentials (streams.app)
    options = {"security_protocol": security.protocol}
    if security.sasl:
        options.update(sasl_mechanism=security.mechanism, sasl_plain_username=security.username,
                       sasl_plain_password=security.password)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all", **options)
    await producer.start()
    try:
        for key in keys:
            await producer.send(topic, b"faust", key=key)
        await producer.flush()
    finally:
        await producer.stop()
