"""The faust app and everything its processors share: settings, codec, catalogue, sender, dead letters.

Processing guarantee: at-least-once with idempotent consumers (see the README's "Nothing lost, nothing
doubled"). Agents run with concurrency 1, so faust never commits past a message still being processed.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import faust

from envgrid import paths
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.domain.privacy import Pseudonymiser
from envgrid.localcluster.addresses import ClientSecurity, ClusterAddresses
from envgrid.streams import metrics
from envgrid.streams.deadletter import DeadLetterSink
from envgrid.streams.faust_rebalance import install_rebalance_corrections
from envgrid.streams.output_encoder import OutputEncoder
from envgrid.streams.routing_service import Output

if TYPE_CHECKING:
    import aiokafka

log = logging.getLogger("envgrid.streams")


@dataclass(frozen=True)
class WorkerConfig:
    cluster: ClusterAddresses  # where the broker and registry are, and the worker's credentials
    app_id: str = "envgrid"
    topic_prefix: str | None = None
    datadir: Path = field(default_factory=lambda: paths.var_dir() / "faust")
    processors: frozenset[str] = frozenset({"router", "cases", "ticker"})
    clock: str = "wall"  # wall | accelerated | manual
    speedup: float = 1.0  # accelerated clock: simulated seconds per real second
    clock_start: str | None = None  # accelerated clock: ISO instant it shows at `clock_origin` (default: now)
    clock_origin: float | None = None  # accelerated clock: wall epoch seconds of `clock_start` (default: now)
    tick_interval_s: float = 2.0
    clock_until: str | None = None  # ISO instant the SLA clock stops at (a demo's or replay's end)
    metrics_port: int = 9464
    store: str = "rocksdb://"


@dataclass
class Runtime:
    """What the agents need, built once per worker."""

    config: WorkerConfig
    app: faust.App
    catalogue: Catalogue
    codec: EventCodec
    pseudonymiser: Pseudonymiser  # the complainant token's key, read once by the worker's command
    deadletters: DeadLetterSink = field(init=False)
    encoder: OutputEncoder = field(init=False)
    # Sources of inputs the pipeline's progress does not show (the demo's department simulator, which reads in
    # groups of its own): the ticker calls each in its executor right after reading the pipeline's progress,
    # with the monotonic time that read began; each returns the event times the SLA clock must wait for, may
    # block, and raises ProgressUnknown to hold the clock.
    waiting_sources: list[Callable[[float], list[datetime]]] = field(default_factory=list)

    def waiting_outside(self, since: float) -> list[datetime]:
        return [t for source in self.waiting_sources for t in source(since)]

    def __post_init__(self) -> None:
        self.deadletters = DeadLetterSink(self.catalogue.topic("deadletter"), self.codec.encode, self.send_bytes,
                                          processor=self.config.app_id)
        self.encoder = OutputEncoder(self.codec)

    async def send(self, output: Output, partition: int | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> None:
        value = self.codec.encode(output.event_name, output.value, output.topic)
        all_headers = [*output.headers, *(headers or [])] or None
        await self.send_bytes(output.topic, output.key.encode(), value, partition, all_headers)

    async def send_all(self, outputs: Sequence[Output]) -> None:
        """Send a report's outputs, encoded together (`OutputEncoder`: what its copies share, once); nothing is
        sent when one of them does not encode."""
        for output, value in zip(outputs, self.encoder.encode_all(outputs), strict=True):
            await self.send_bytes(output.topic, output.key.encode(), value, None, list(output.headers) or None)

    async def send_bytes(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None,
                         headers: list[tuple[str, bytes]] | None = None) -> None:
        # The transport producer, not Topic.send: no per-record serializer machinery. Faust flushes this
        # producer before every offset commit, so an output is acknowledged before its input is committed.
        # (Sending through librdkafka instead was tried: no faster here, and it crashed once under load.)
        await self.app.producer.send(topic, key, value, partition, None, headers)
        metrics.EVENTS_PRODUCED.labels(topic=topic).inc()


FETCH_MAX_WAIT_MS = 250


def _shorten_fetch_wait() -> None:
    """faust hard-codes the consumer's fetch_max_wait_ms to 1,500 ms; the worker's consumer asks the broker to
    answer within FETCH_MAX_WAIT_MS instead. (A fetch returns at once when any partition it names has data; the
    wait only bounds how long a partition left out of the fetch in flight, because it still had records
    buffered, waits for the next one.) Measured on the case desk (2 shared cores; README, "Benchmarks"): 10 ms,
    the value while the router ran on faust, spent ~19% of a core at rest on empty fetches of its ~120
    partitions and, by holding the GIL, delayed the agent: report → case opened p90 5.5 s at 20 reports/s,
    6.1 ms CPU per case command. 250 ms: p99 ~100–130 ms at 20–50/s, 4.0 ms per command, 2% of a core at rest;
    1,500 ms: p99 431 ms at 50/s."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread, "_envgrid_fetch_wait", False):
        return
    create = thread._create_worker_consumer

    def create_with_short_fetch_wait(
        self: faust_aiokafka.AIOKafkaConsumerThread, transport: faust_aiokafka.Transport
    ) -> aiokafka.AIOKafkaConsumer:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by the fetcher built in consumer.start()
        return consumer

    thread._create_worker_consumer = create_with_short_fetch_wait  # type: ignore[method-assign]
    thread._envgrid_fetch_wait = True  # type: ignore[attr-defined]


def build_runtime(config: WorkerConfig, pseudonymiser: Pseudonymiser) -> Runtime:
    _shorten_fetch_wait()
    install_rebalance_corrections()  # no input record skipped after a rebalance (see the module)
    catalogue = Catalogue.load(prefix=config.topic_prefix)
    (config.datadir / config.app_id).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        config.app_id,
        broker=[f"kafka://{server}" for server in config.cluster.bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(config.cluster.security),
        store=config.store,
        datadir=str(config.datadir / config.app_id),
        topic_partitions=catalogue.spec(catalogue.topic("internal.case-commands")).partitions,
        topic_replication_factor=catalogue.spec(catalogue.topic("case.history")).replication_factor,
        web_enabled=False,
        producer_acks=-1,
        broker_commit_every=500,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=16384,
        producer_linger=0.005,
        consumer_auto_offset_reset="earliest",
    )
    codec = EventCodec(registry_client(config.cluster), catalogue.event_type_of, auto_register=True)
    return Runtime(config, app, catalogue, codec, pseudonymiser)


def broker_credentials(security: ClientSecurity) -> faust.types.auth.CredentialsT | None:
    """faust's (aiokafka's) form of the client security settings; None for PLAINTEXT."""
    if not security.sasl:
        return None
    context = ssl.create_default_context(cafile=security.ca_location) if security.protocol == "SASL_SSL" else None
    return faust.SASLCredentials(username=security.username, password=security.password,
                                 mechanism=security.mechanism, ssl_context=context)


def raw_topic(runtime: Runtime, *names: str) -> faust.TopicT:
    return runtime.app.topic(*names, key_serializer="raw", value_serializer="raw", allow_empty=True)


def declare_changelog_topics(runtime: Runtime, timeout: float = 60.0) -> None:
    """Create the tables' changelog topics before the agents start, and wait until the broker lists them.

    faust creates them itself at start-up, but its agents may begin before its metadata shows the new
    topics; a table written then fails (PartitionsMismatch: "changelog topic has 0 partitions") and the
    input is dead-lettered. Declared up front (compacted, the source's partitions), they are simply there.
    """
    replication = runtime.catalogue.spec(runtime.catalogue.topic("case.history")).replication_factor
    wanted = {table.changelog_topic.get_topic_name(): int(table.partitions or 0)
              for table in runtime.app.tables.values()}
    declare_compacted_topics(runtime.config.cluster, wanted, replication, timeout)


def declare_compacted_topics(cluster: ClusterAddresses, wanted: dict[str, int], replication: int,
                             timeout: float = 60.0) -> None:
    """Create the compacted topics (name -> partitions) that are missing, and wait until the broker lists them."""
    import time as _time

    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(cluster.kafka_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [NewTopic(name, partitions, replication, config={"cleanup.policy": "compact"})
               for name, partitions in wanted.items() if name not in existing]
    for future in (admin.create_topics(missing) if missing else {}).values():
        try:
            future.result(timeout)
        except Exception as error:
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise
    give_up = _time.monotonic() + timeout
    while not set(wanted) <= set(admin.list_topics(timeout=timeout).topics):
        if _time.monotonic() > give_up:
            raise TimeoutError(f"topics {sorted(set(wanted))} not listed by the broker after {timeout:.0f}s")
        _time.sleep(0.2)
