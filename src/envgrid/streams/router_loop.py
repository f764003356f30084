"""The router on librdkafka: a batch loop around `RoutingService`, with no faust in it.

One consumer (group `<app id>-router`, cooperative-sticky) reads the intake topics and `internal.located`.
Each batch of up to `batch_size` records is handled in the order it arrived:
- an intake record is located (stage 1) and forwarded to `internal.located`, keyed by its merge zone, or
  dead-lettered;
- a located record (stage 2) is checked against the incident index of its zone and category, held in memory
  for the partition (`envgrid.streams.incident_store`), and opens a case or merges into one; its outputs
  (identity record, department and grid copies, the case command) are encoded and produced.
Then the indexes the batch changed are written to the router's compacted changelog, once each, and the batch
is sealed. The loop goes on with the next batch while librdkafka delivers (idempotent, acks=all); a batch's
input offsets are committed only once the broker acknowledged every record it produced, and after every
batch before it (`envgrid.streams.batch_ledger`); at most `batches_in_flight` wait so. A crash anywhere
before the commit redelivers the batch: a report its zone already
handled gives the same outputs again (`RoutingService.open_or_merge`), so nothing is lost and consumers drop
the copies they already have by event id.

Every producer of `internal.located`, `internal.case-commands` and the department topics must put one key in
one partition: this producer uses the Java client's murmur2 partitioner, as faust's (aiokafka's) does for the
case desk's notices and re-dispatches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.outages import OUTAGE_BACKOFF_S, outage_of
from envgrid.connectors.serde import EventCodec
from envgrid.connectors.wire import stable_message
from envgrid.domain.privacy import Pseudonymiser
from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.streams import metrics
from envgrid.streams.batch_ledger import BatchLedger
from envgrid.streams.composition import routing_service
from envgrid.streams.deadletter import DeadLetterSink, source_header
from envgrid.streams.groups import router_group, router_inputs
from envgrid.streams.incident_store import IncidentStore
from envgrid.streams.lag import Partition, compute_lag, export_lag
from envgrid.streams.output_encoder import OutputEncoder
from envgrid.streams.routing_service import Intake, Located, Refused, RoutingService

log = logging.getLogger("envgrid.streams.router")

INTAKE_TIMESTAMP_HEADER = "envgrid-intake-ms"  # when the intake record was produced, carried to stage 2
PROCESSOR = "router"
LAG_INTERVAL_S = 5.0


def router_changelog(app_id: str) -> str:
    """The incident indexes' changelog: the topic (and key and value format) of faust's `incidents` table, which
    routed before this loop, so an upgraded worker carries on with the indexes it left."""
    return f"{app_id}-incidents-changelog"


class RouterStopped(Exception):
    """The stop was asked for while a batch waited for a dependency: the batch is left uncommitted."""


@dataclass(frozen=True)
class KafkaRecord:
    """The parts of a consumed record the dead-letter sink and the source header read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]

    @classmethod
    def of(cls, message: Message) -> KafkaRecord:
        headers = message.headers() or []
        pairs = headers.items() if isinstance(headers, dict) else headers
        return cls(message.topic() or "", message.partition() or 0, message.offset() or 0, message.key(),
                   message.value(), [(k, v.encode() if isinstance(v, str) else v) for k, v in pairs])


@dataclass(frozen=True)
class RouterSettings:
    batch_size: int = 2000  # records per consume()
    batches_in_flight: int = 2  # sealed batches waiting for the broker before the loop waits too
    commit_interval_s: float = 0.1
    poll_timeout_s: float = 0.1  # how long the loop waits for a first record before it looks after commits and lag
    linger_ms: int = 5


class RouterLoop:
    def __init__(self, cluster: ClusterAddresses, catalogue: Catalogue, codec: EventCodec, pseudonymiser: Pseudonymiser,
                 app_id: str, settings: RouterSettings | None = None) -> None:
        self.settings = settings or RouterSettings()
        self.group = router_group(app_id)
        self.changelog = router_changelog(app_id)
        self._cluster = cluster
        self._log_ends = LogEnds(cluster.kafka_config())  # never the consumer's watermark query (librdkafka#5160)
        self._codec = codec
        self._encode = OutputEncoder(codec).encode_all  # a case's copies share their encoded parts
        self.service: RoutingService = routing_service(catalogue, codec.decode, pseudonymiser)
        self._located = catalogue.topic("internal.located")
        self._inputs = router_inputs(catalogue)
        self._deadletters = DeadLetterSink(catalogue.topic("deadletter"), codec.encode, None, processor=app_id)
        self._store = IncidentStore()
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._ledger = BatchLedger()
        self._produced: Counter[str] = Counter()
        self._lag_exported: set[Partition] = set()
        self._lag_due = 0.0
        self._commit_due = 0.0
        self._uncommitted: dict[tuple[str, int], int] = {}  # acknowledged, to commit at the next commit

    @staticmethod
    def producer_for(cluster: ClusterAddresses, linger_ms: int = 5) -> Producer:
        """The router's producer: idempotent, acks=all, and the partitioner faust's (aiokafka's) producer uses."""
        config: dict[str, Any] = {
            "enable.idempotence": True, "acks": "all", "linger.ms": linger_ms,
            "partitioner": "murmur2_random",  # the Java client's and aiokafka's: one key, one partition
            "message.timeout.ms": 0,  # wait out a broker outage instead of failing the output (no commit meanwhile)
        }
        return Producer(cluster.kafka_config(config))

    # --- the loop -------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Route until `stop` is set; what was handled is acknowledged and committed first."""
        self._producer = self.producer_for(self._cluster, self.settings.linger_ms)
        self._consumer = Consumer(self._cluster.kafka_config({
            "group.id": self.group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky", "fetch.wait.max.ms": 10,
            "on_commit": self._committed,
        }))
        self._consumer.subscribe(self._inputs, on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._lost)
        log.info("router: group %s reading %s", self.group, ", ".join(self._inputs))
        try:
            while not stop.is_set():
                messages = self._next_batch()
                if messages:
                    self._run_batch(messages, stop)
                self._producer.poll(0)  # delivery reports
                if self._ledger.in_flight() > self.settings.batches_in_flight:
                    self._flush(stop)
                self._commit()
                self._report_lag()
        except RouterStopped:
            log.warning("router: stopped while waiting for a dependency; the batch in hand will be redelivered")
            self._ledger.abandon()
        finally:
            self._producer.flush(10)
            self._commit(wait=True)
            self._consumer.close()

    def _next_batch(self) -> list[Message]:
        """Up to `batch_size` records: the first as soon as one is there (`poll` returns at once, where
        `consume` would wait for a full batch or its timeout at each hop), then whatever is already fetched."""
        consumer = self._consumer
        assert consumer is not None
        first = consumer.poll(self.settings.poll_timeout_s)
        if first is None:
            return []
        return [first, *consumer.consume(self.settings.batch_size - 1, timeout=0)]

    def _run_batch(self, messages: list[Message], stop: threading.Event) -> None:
        """Handle a batch and seal it; its offsets are committed once the broker acknowledged its outputs."""
        consumed: Counter[str] = Counter()
        next_offsets: dict[tuple[str, int], int] = {}
        routed: list[tuple[Message, Located, bool]] = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("router: consumer error %s", error)
                continue
            topic = message.topic()
            assert topic is not None
            consumed[topic] += 1
            self._guarded(message, stop, routed)
            next_offsets[(topic, message.partition() or 0)] = (message.offset() or 0) + 1
        for record in self._store.take_changed():
            self._produce(self.changelog, record.key, record.value, record.partition)
        self._ledger.seal(next_offsets, routed)
        for topic, count in consumed.items():
            metrics.EVENTS_CONSUMED.labels(topic=topic).inc(count)

    def _commit(self, wait: bool = False) -> None:
        """Commit the inputs of every batch the broker has acknowledged (in batch order): asynchronously, at most
        every `commit_interval_s` (a record's latency does not wait for the group coordinator), or now and
        waiting for the answer (`wait`: before a rebalance and at the end)."""
        consumer = self._consumer
        assert consumer is not None
        offsets, routed = self._ledger.committable()
        self._count(routed)
        self._uncommitted.update(offsets)
        now = time.monotonic()
        if not self._uncommitted or (not wait and now < self._commit_due):
            return
        self._commit_due = now + self.settings.commit_interval_s
        offsets, self._uncommitted = self._uncommitted, {}
        try:
            partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
            if wait:
                consumer.commit(offsets=partitions, asynchronous=False)
            else:
                consumer.commit(offsets=partitions, asynchronous=True)
        except KafkaException as error:  # e.g. the partitions moved on in a rebalance: their new owner redoes them
            log.warning("router: commit of %d partitions failed (%s); those inputs will be redelivered",
                        len(offsets), error)

    @staticmethod
    def _committed(error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if error is not None:
            log.warning("router: an asynchronous commit failed (%s); those inputs may be redelivered", error)

    def _guarded(self, message: Message, stop: threading.Event, routed: list[tuple[Message, Located, bool]]) -> None:
        """Handle one record. While the schema registry or the broker is down, wait and try again (the batch
        waits; nothing is committed meanwhile); any other error dead-letters the record."""
        wait = OUTAGE_BACKOFF_S[0]
        while True:
            try:
                try:
                    self._handle(message, routed)
                except Exception as error:
                    if outage_of(error) is not None:
                        raise
                    log.exception("router: record %s/%s@%s failed; dead-lettered", message.topic(),
                                  message.partition(), message.offset())
                    self._dead_letter(message, Refused("APPLY", "processing_error", type(error).__name__,
                                                       f"{PROCESSOR}: {stable_message(str(error))}"))
                if wait > OUTAGE_BACKOFF_S[0]:
                    metrics.OUTAGE.labels(processor=PROCESSOR).set(0)
                return
            except Exception as error:
                dependency = outage_of(error)
                if dependency is None:
                    raise
                metrics.OUTAGE.labels(processor=PROCESSOR).set(1)
                metrics.OUTAGE_RETRIES.labels(processor=PROCESSOR, dependency=dependency.value).inc()
                log.warning("router: %s unavailable (%s: %s); record %s/%s@%s waits %.1fs and is tried again",
                            dependency.value, type(error).__name__, error, message.topic(), message.partition(),
                            message.offset(), wait)
                if stop.wait(wait):
                    raise RouterStopped from error
                wait = min(wait * 2, OUTAGE_BACKOFF_S[1])

    def _handle(self, message: Message, routed: list[tuple[Message, Located, bool]]) -> None:
        if message.topic() == self._located:
            self._open_or_merge(message, routed)
        else:
            self._locate(message)

    def _locate(self, message: Message) -> None:
        result = self.service.locate(message.value(), message.topic() or "")
        match result:
            case Refused():
                self._dead_letter(message, result)
            case Located(zone=zone):
                _, produced_ms = message.timestamp()
                headers: list[tuple[str, str | bytes | None]] = [
                    (INTAKE_TIMESTAMP_HEADER, str(produced_ms).encode()), source_header(KafkaRecord.of(message))]
                self._produce(self._located, zone.encode(), message.value(), None, headers)

    def _open_or_merge(self, message: Message, routed: list[tuple[Message, Located, bool]]) -> None:
        located = self.service.locate_again(message.value(), message.topic() or "")
        if isinstance(located, Refused):
            self._dead_letter(message, located)
            return
        intake = self._store.open_or_merge(self.service, message.partition() or 0, located)
        match intake:
            case Refused():  # a reused event id with other content: the first report stands
                self._dead_letter(message, intake)
            case Intake(outputs=outputs, redelivered=redelivered, merged=merged):
                for output, value in zip(outputs, self._encode(outputs), strict=True):
                    self._produce(output.topic, output.key.encode(), value, None, list(output.headers) or None)
                if redelivered:
                    metrics.REPLAYED.labels(processor=PROCESSOR).inc()
                else:
                    routed.append((message, located, merged))

    # --- sending --------------------------------------------------------------------------------------------

    def _produce(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None,
                 headers: list[tuple[str, str | bytes | None]] | None = None, counted: bool = True) -> None:
        producer = self._producer
        assert producer is not None
        batch = self._ledger.current
        while True:
            try:
                if partition is None:
                    producer.produce(topic, value, key, headers=headers, on_delivery=batch.delivered)
                else:
                    producer.produce(topic, value, key, partition, headers=headers, on_delivery=batch.delivered)
                batch.sent()
                break
            except BufferError:  # the local queue is full: let librdkafka send some first
                producer.poll(0.05)
        if counted:
            self._produced[topic] += 1

    def _flush(self, stop: threading.Event) -> None:
        """Wait until the broker acknowledged everything produced so far (outputs and changelog)."""
        producer = self._producer
        assert producer is not None
        while producer.flush(1.0) > 0:
            if stop.is_set():
                raise RouterStopped
            log.warning("router: waiting for the broker to acknowledge %d records", len(producer))

    def _dead_letter(self, message: Message, refused: Refused) -> None:
        key, value = self._deadletters.letter(KafkaRecord.of(message), refused.stage, refused.reason_code,
                                              refused.error_class, refused.message, refused.event_id)
        self._produce(self._deadletters.topic, key, value, None, counted=False)
        self._deadletters.sent(refused.stage, refused.reason_code)  # counts it among the produced too

    # --- partitions and state -------------------------------------------------------------------------------

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        located = [tp.partition for tp in partitions if tp.topic == self._located]
        if located:
            started = time.monotonic()
            restored = self._changelog_records(located)
            counts = {partition: self._store.restore(partition, records) for partition, records in restored.items()}
            log.info("router: %d partitions of %s restored (%d indexes) in %.2fs", len(counts), self._located,
                     sum(counts.values()), time.monotonic() - started)
        log.info("router: assigned %s", _names(partitions))

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Before partitions move on: everything handled is acknowledged and committed, then their state goes."""
        producer = self._producer
        assert producer is not None
        while producer.flush(1.0) > 0:
            log.warning("router: waiting for the broker to acknowledge %d records before a rebalance", len(producer))
        self._commit(wait=True)
        self._store.release(tp.partition for tp in partitions if tp.topic == self._located)
        log.info("router: revoked %s", _names(partitions))

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._store.release(tp.partition for tp in partitions if tp.topic == self._located)
        log.warning("router: lost %s (the group moved on without this worker)", _names(partitions))

    def _changelog_records(self, partitions: list[int]) -> dict[int, list[tuple[bytes | None, bytes | None]]]:
        """Every record of these changelog partitions, from their start to their end now, in one reader."""
        records: dict[int, list[tuple[bytes | None, bytes | None]]] = {partition: [] for partition in partitions}
        reader = Consumer(self._cluster.kafka_config({
            "group.id": f"{self.group}-restore", "enable.auto.commit": False, "enable.partition.eof": True}))
        try:
            ends = {partition: high for (_topic, partition), (low, high)
                    in self._log_ends.of([(self.changelog, p) for p in partitions], timeout=30).items() if high > low}
            reader.assign([TopicPartition(self.changelog, partition, OFFSET_BEGINNING) for partition in ends])
            while ends:
                for message in reader.consume(5000, timeout=1.0):
                    partition = message.partition() or 0
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            raise KafkaException(error)
                        ends.pop(partition, None)
                        continue
                    records[partition].append((message.key(), message.value()))
                    if (message.offset() or 0) >= ends.get(partition, 0) - 1:
                        ends.pop(partition, None)
            return records
        finally:
            reader.close()

    def declare_changelog(self, catalogue: Catalogue, timeout: float = 60.0) -> None:
        from envgrid.streams.app import declare_compacted_topics

        located = catalogue.spec(self._located)
        declare_compacted_topics(self._cluster, {self.changelog: located.partitions}, located.replication_factor,
                                 timeout)

    # --- metrics --------------------------------------------------------------------------------------------

    def _count(self, routed: list[tuple[Message, Located, bool]]) -> None:
        for topic, count in self._produced.items():
            if count:
                metrics.EVENTS_PRODUCED.labels(topic=topic).inc(count)
        self._produced.clear()
        now = time.time()  # once acknowledged: when the copies became readable
        for message, located, merged in routed:
            _count_routing(message, located, merged, now)

    def _report_lag(self) -> None:
        now = time.monotonic()
        if now < self._lag_due or self._consumer is None:
            return
        self._lag_due = now + LAG_INTERVAL_S
        consumer = self._consumer
        committed: dict[Partition, int] = {}
        end: dict[Partition, int] = {}
        try:
            for tp in consumer.position(consumer.assignment()):
                _, high = consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:
                    continue
                end[(tp.topic, tp.partition)] = high
                committed[(tp.topic, tp.partition)] = tp.offset
        except KafkaException as error:
            log.info("router: lag not known now (%s)", error)
            return
        self._lag_exported = export_lag(self.group, compute_lag(committed, end), self._lag_exported)


def _count_routing(message: Message, located: Located, merged: bool, now: float) -> None:
    if merged:
        metrics.MERGES.inc()
    else:
        decision = located.decision
        metrics.ROUTING_DECISIONS.labels(resolution_path=decision.provenance.resolution_path.value,
                                         department=decision.lead_department if not decision.is_triage else "none").inc()
    intake_ms = dict(message.headers() or []).get(INTAKE_TIMESTAMP_HEADER)
    if intake_ms:
        metrics.ROUTING_LATENCY.labels(clock="processing").observe(max(0.0, now - int(intake_ms) / 1000))
    received = located.record["received_at"]
    metrics.ROUTING_LATENCY.labels(clock="event_time").observe(max(0.0, now - received.astimezone(UTC).timestamp()))


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"


def run_in_thread(loop: RouterLoop, stop: threading.Event, on_failure: Callable[[BaseException], Any]) -> threading.Thread:
    """Run the loop in a thread of a worker that also runs faust; a failure calls `on_failure` (which stops
    the worker: a router that died must not look alive)."""

    def target() -> None:
        try:
            loop.run(stop)
        except BaseException as error:
            log.critical("router: stopped by an error; the worker stops", exc_info=True)
            on_failure(error)

    thread = threading.Thread(target=target, name="router", daemon=True)
    thread.start()
    return thread
