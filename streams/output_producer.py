"""Outputs go through librdkafka (confluent-kafka), not faust's pure-Python aiokafka producer.

Measured here: aiokafka's per-record send path cost the router about as much CPU as everything else it
does per report, and a report makes four to six output records. The guarantee stays the same: faust
flushes `app.producer` before it commits input offsets, and `bind_to_commits` makes that flush wait for
every output to be acknowledged by the broker first. A failed delivery makes the flush raise, so the
input offsets are not committed and the inputs are processed again after the restart.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from confluent_kafka import KafkaException, Producer

log = logging.getLogger("envgrid.streams")


class OutputProducer:
    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = Producer({
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,  # acks=all, no duplicates or reordering from retries
            "partitioner": "murmur2_random",  # the Java client's and faust's key hashing
            "linger.ms": 5,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 500_000,
        })
        self._failures: list[str] = []
        self._unpolled = 0

    def produce(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None,
                headers: list | None = None) -> None:
        kwargs: dict[str, Any] = {"headers": headers} if headers else {}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=self._delivered, **kwargs)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                self._producer.poll(0.05)
        self._unpolled += 1
        if self._unpolled >= 1000:
            self._producer.poll(0)
            self._unpolled = 0

    async def flush(self) -> None:
        """Wait until every output so far is acknowledged; raise if any delivery failed."""
        loop = asyncio.get_running_loop()
        remaining = await loop.run_in_executor(None, self._producer.flush, 60.0)
        if remaining or self._failures:
            failures, self._failures = self._failures[:5], []
            raise KafkaException(f"{remaining} outputs not delivered within 60 s; failures: {failures}")

    def bind_to_commits(self, app: Any) -> None:
        """Make faust's pre-commit producer flush include these outputs."""
        faust_producer = app.producer
        faust_flush = faust_producer.flush

        async def flush_outputs_then_faust() -> None:
            await self.flush()
            await faust_flush()

        faust_producer.flush = flush_outputs_then_faust

    def _delivered(self, error, message) -> None:  # noqa: ANN001 - librdkafka callback
        if error is not None:
            log.error("output to %s not delivered: %s", message.topic(), error)
            self._failures.append(f"{message.topic()}: {error}")
