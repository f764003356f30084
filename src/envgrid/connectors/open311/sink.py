"""Where an accepted complaint goes: the complaint intake topic, through an idempotent producer (acks=all).

`KafkaComplaintSink.send` returns only once the broker acknowledged the record (its delivery report); a broker
that does not acknowledge within `timeout_s` (down, unreachable, refusing) raises `SinkUnavailable`, and the
HTTP layer answers 503 with Retry-After: a complaint is never dropped silently. librdkafka's own message timeout
is the same `timeout_s`, so by the time `send` gives up, librdkafka has given up too (no late second copy).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Protocol

from confluent_kafka import KafkaError, Message, Producer

from envgrid.connectors.serde import EventCodec, EventEncodingError
from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.simulator.publish import PRODUCER_DEFAULTS

from .metrics import PRODUCE_SECONDS

EVENT_NAME = "PetitionComplaint"


class SinkUnavailable(RuntimeError):
    """The record was not acknowledged; the client should retry after `retry_after_s` with the same key."""

    def __init__(self, reason: str, retry_after_s: int = 10) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class ComplaintSink(Protocol):
    async def send(self, key: str, record: dict[str, Any]) -> None:
        """Return once the record is durably accepted; raise SinkUnavailable otherwise."""


class KafkaComplaintSink:
    """Encodes with the registry's schema id (`EventCodec`, looked up, never registered) and produces keyed by
    event id, as the catalogue says complaints are keyed. One producer, polled by its own thread."""

    def __init__(self, cluster: ClusterAddresses, codec: EventCodec, topic: str, *, timeout_s: float = 10.0,
                 retry_after_s: int = 10) -> None:
        self.topic, self.codec, self.timeout_s, self.retry_after_s = topic, codec, timeout_s, retry_after_s
        timeout_ms = int(timeout_s * 1000)
        self.producer = Producer(cluster.kafka_config({
            **PRODUCER_DEFAULTS, "acks": "all", "enable.idempotence": True, "linger.ms": 2,
            "message.timeout.ms": timeout_ms, "socket.connection.setup.timeout.ms": min(timeout_ms, 30_000)}))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="open311-producer-poll", daemon=True)
        self._poller.start()

    async def send(self, key: str, record: dict[str, Any]) -> None:
        try:
            value = self.codec.encode(EVENT_NAME, record, self.topic)
        except EventEncodingError:
            raise  # the record's own fault: the HTTP layer checked the form, so this is a bug worth a 500
        except Exception as error:
            raise SinkUnavailable(f"schema registry: {error}", self.retry_after_s) from error
        loop = asyncio.get_running_loop()
        done: asyncio.Future[KafkaError | None] = loop.create_future()

        def delivered(error: KafkaError | None, _message: Message) -> None:
            loop.call_soon_threadsafe(_settle, done, error)

        started = time.perf_counter()
        try:
            self.producer.produce(self.topic, value=value, key=key.encode("utf-8"), on_delivery=delivered)
        except BufferError as full:
            raise SinkUnavailable("the producer's queue is full", self.retry_after_s) from full
        try:
            failure = await asyncio.wait_for(done, self.timeout_s + 5.0)  # librdkafka reports first
        except TimeoutError as late:
            raise SinkUnavailable(f"no delivery report within {self.timeout_s + 5:.0f} s", self.retry_after_s) from late
        if failure is not None:
            raise SinkUnavailable(f"{self.topic}: {failure.str()}", self.retry_after_s)
        PRODUCE_SECONDS.observe(time.perf_counter() - started)

    def close(self) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
        self.producer.flush(self.timeout_s)
        self.producer.close()  # no reconnecting to a broker that is gone after the gateway stopped

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.05)


def _settle(future: asyncio.Future[KafkaError | None], error: KafkaError | None) -> None:
    if not future.done():
        future.set_result(error)
