"""Helpers for tests that run the real worker process against the real broker: start, kill, read back."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.catalogue_apply import apply
from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.serde import EventCodec, register_all, registry_client
from envgrid.streams.clock import tick_record
from tests.unit.pipeline.harness import TEST_KEY

REPO = Path(__file__).resolve().parents[2]
# The workers' pseudonym key: the in-memory harness's fixed test key (tokens the tests can recompute)
TEST_KEY_ENV = {"ENVGRID_PSEUDONYM_KEY": TEST_KEY.secret.decode(), "ENVGRID_PSEUDONYM_KEY_VERSION": TEST_KEY.version}


def prepare(cluster, prefix: str, profile: str | None = None) -> tuple[Catalogue, EventCodec]:
    """Apply the catalogue under `prefix` (its `profile` of config/topics.yaml: default local, replication 1)
    and register every schema."""
    from confluent_kafka.admin import AdminClient

    catalogue = Catalogue.load(prefix=prefix, profile=profile, env={})
    statuses = apply(AdminClient(cluster.kafka_config()), catalogue)
    assert not [s for s in statuses if s.status == "failed"], statuses
    client = registry_client(cluster)
    register_all(client)
    return catalogue, EventCodec(client, catalogue.event_type_of)


def delete_topics_named(admin, prefix: str, timeout: float = 60.0) -> None:
    """Delete every topic whose name starts with `prefix` (a test's or a benchmark run's catalogue and its
    workers' changelogs), best effort. The session's broker would otherwise hold every run's topics
    (thousands), and each client's full metadata refresh decodes them all (~90 ms of CPU in aiokafka for 2,000
    topics, several times a minute in a faust worker)."""
    with contextlib.suppress(KafkaException):  # the cluster may be going down
        made = [name for name in admin.list_topics(timeout=timeout).topics if name.startswith(prefix)]
        for future in (admin.delete_topics(made, operation_timeout=timeout) if made else {}).values():
            with contextlib.suppress(KafkaException):
                future.result(timeout=timeout)


@contextlib.contextmanager
def topics_deleted_after(cluster, prefix: str):
    """Run the block, then delete the topics named from `prefix` (`delete_topics_named`)."""
    from confluent_kafka.admin import AdminClient

    try:
        yield
    finally:
        delete_topics_named(AdminClient(cluster.kafka_config()), prefix)


class WorkerProcess:
    """The worker in its own process group, with its metrics endpoint: `python -m envgrid.streams.worker`,
    or `python -m envgrid.demo.worker` when the department simulator is among its processors."""

    def __init__(self, cluster, prefix: str, datadir: Path, processors: str = "router,cases",
                 clock: str = "manual", log: Path | None = None, store: str = "rocksdb://",
                 loglevel: str = "warn", env: dict[str, str] | None = None) -> None:
        self.cluster, self.prefix, self.datadir, self.processors, self.clock = cluster, prefix, datadir, processors, clock
        self.loglevel = loglevel
        self.log = log or REPO / "var" / "log" / f"test-worker-{prefix}.log"
        self.port_file = datadir / "metrics.port"
        self.store = store
        self.env = env or {}  # more variables, e.g. ENVGRID_TOPIC_PROFILE on a 3-node cluster
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        if "departments" in self.processors.split(","):
            grant_units(self.prefix)  # the simulated departments and grids log in as themselves
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        env = {**self.cluster.child_env(os.environ), **TEST_KEY_ENV, **self.env}  # addresses, credentials, the test key
        env.pop("ENVGRID_PSEUDONYM_KEY_FILE", None)  # a shell's own key file would clash with the test key
        module = "envgrid.demo.worker" if "departments" in self.processors.split(",") else "envgrid.streams.worker"
        command = [sys.executable, "-m", module, "--app-id", self.prefix, "--topic-prefix", self.prefix,
                   "--datadir", str(self.datadir), "--processors", self.processors, "--clock", self.clock,
                   "--metrics-port", "0", "--port-file", str(self.port_file), "--store", self.store,
                   "--loglevel", self.loglevel]
        self.process = subprocess.Popen(command, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                        env=env, start_new_session=True, cwd=REPO)
        return self

    def metrics(self) -> dict[str, float]:
        """`name{labels}` -> value, {} while not serving."""
        if not self.port_file.exists():
            return {}
        try:
            port = int(self.port_file.read_text())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                text = response.read().decode()
        except (OSError, ValueError):
            return {}
        values: dict[str, float] = defaultdict(float)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[sample.name] += sample.value
                for key, label in sample.labels.items():
                    values[f"{sample.name}{{{key}={label}}}"] += sample.value
        return values

    def consumed(self, topic: str) -> float:
        return self.metrics().get(f"envgrid_events_consumed_total{{topic={topic}}}", 0.0)

    def wait_for(self, predicate, timeout: float, what: str, explain=lambda: "") -> None:
        """Poll `predicate`; on timeout fail with `explain()` and the end of the worker's log (CI keeps no files)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.process is not None and self.process.poll() is None, \
                f"worker died; see {self.log}\n{self.log_tail()}"
            assert time.monotonic() < deadline, \
                f"timed out after {timeout:.0f}s waiting for {what}; see {self.log}\n{explain()}\n{self.log_tail()}"
            time.sleep(0.5)

    def log_tail(self, lines: int = 60) -> str:
        """The last `lines` lines of the worker's log, without the producer's routine back-pressure notes."""
        if not self.log.exists():
            return "(no worker log)"
        noise = ("producer buffer full", "Timer commit is overlapping")
        kept = [line for line in self.log.read_text(errors="replace").splitlines()
                if not any(n in line for n in noise)]
        return "--- worker log (end) ---\n" + "\n".join(line[:300] for line in kept[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, no final commit."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until_drained(worker: WorkerProcess, cluster, app_id: str, catalogue, topics: list[str],
                       timeout: float = 300) -> None:
    """Until the pipeline's groups (the router's and the case desk's) have committed everything of `topics`,
    three checks in a row."""
    from envgrid.streams.watermark import progress_of

    progress = progress_of(cluster, app_id, catalogue, topics, lambda value, topic: ("", {}))
    streak = [0]

    def drained() -> bool:
        streak[0] = streak[0] + 1 if progress.caught_up() else 0
        return streak[0] >= 3

    try:
        worker.wait_for(drained, timeout, "the worker to drain its inputs", lambda: repr(progress.behind()))
    finally:
        progress.close()


def grant_units(prefix: str) -> None:
    """Every principal's ACLs on the topics of `prefix` (departments and grids read and answer their own), set as
    the local cluster's super user. Nothing on a cluster that is not the local secured one: its ACLs are set apart."""
    from confluent_kafka.admin import AdminClient

    from envgrid.connectors.acls import apply_acls
    from envgrid.connectors.principals import load_principals
    from envgrid.localcluster.cluster import LocalCluster

    local = LocalCluster()
    if local.status().get("security") != "sasl" or local.addresses("admin") is None:
        return
    admin = AdminClient(local.addresses("admin").kafka_config())
    apply_acls(admin, Catalogue.load(prefix=prefix, env={}), load_principals())


class SimulatorProgress:
    """Where the demo worker's department simulator stands: each unit's group (`<prefix>-simulator-<app id>`)
    against the end of the unit's cases topic."""

    def __init__(self, cluster, catalogue: Catalogue, app_id: str) -> None:
        from envgrid.connectors.principals import load_principals
        from envgrid.streams.watermark import InputProgress

        self.progress = []
        for principal in (*load_principals().of_kind("department"), *load_principals().of_kind("grid")):
            kind, code = principal.binding
            group = f"{principal.grants.groups.format(**{kind: code})}-simulator-{app_id}"
            self.progress.append(InputProgress(cluster, group, [catalogue.topic_for((kind, code))],
                                               lambda value, topic: ("", {})))

    def caught_up(self) -> bool:
        return all(progress.caught_up() for progress in self.progress)

    def behind(self) -> list:
        return [(p.group, *row) for p in self.progress for row in p.behind()]

    def close(self) -> None:
        for progress in self.progress:
            progress.close()


def send_ticks(producer, codec: EventCodec, catalogue: Catalogue, now) -> None:
    """What the ticker of a worker on the manual clock never sends: the pipeline time `now`, to every
    partition of the tick topic."""
    topic = catalogue.topic("internal.sla-ticks")
    for partition in range(catalogue.spec(topic).partitions):
        producer.produce(topic, codec.encode("ClockTick", tick_record("manual", partition, now), topic), b"",
                         partition=partition)
    assert producer.flush(60) == 0


def read_all(cluster, codec: EventCodec, topics: list[str], timeout: float = 60.0) -> dict[str, list]:
    """Every record of `topics` from the beginning up to their current end: topic -> [(key, event, value, raw)]."""
    return defaultdict(list, {topic: [(key, *codec.decode(value, topic), value) for key, value, _headers in found]
                              for topic, found in read_raw(cluster, topics, timeout).items()})


def read_raw(cluster, topics: list[str], timeout: float = 60.0) -> dict[str, list]:
    """Every record of `topics` from the beginning up to their current end, undecoded:
    topic -> [(key, value, headers)] (headers as a list of (name, bytes) pairs)."""
    consumer = Consumer(cluster.kafka_config({"group.id": f"reader-{time.time_ns()}",
                                              "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    metadata = consumer.list_topics(timeout=10).topics
    log_ends = LogEnds(cluster.kafka_config())
    assignments, ends = [], {}
    for topic in topics:
        for partition in metadata[topic].partitions:
            low, high = _watermarks(log_ends, topic, partition)
            if high > low:
                assignments.append(TopicPartition(topic, partition, low))
                ends[(topic, partition)] = high
    consumer.assign(assignments)
    result: dict[str, list] = defaultdict(list)
    remaining = dict(ends)
    deadline = time.monotonic() + timeout
    while remaining and time.monotonic() < deadline:
        for message in consumer.consume(2000, timeout=1.0):
            if message.error():
                continue
            key = (message.topic(), message.partition())
            result[message.topic()].append((message.key(), message.value(), list(message.headers() or [])))
            if key in remaining and message.offset() + 1 >= remaining[key]:
                del remaining[key]
    consumer.close()
    assert not remaining, f"could not read to the end of {sorted(remaining)} within {timeout:.0f}s"
    return result


def _watermarks(log_ends: LogEnds, topic: str, partition: int, attempts: int = 20) -> tuple[int, int]:
    """Low and high watermark, retried while a new topic's leadership is still settling."""
    for attempt in range(attempts):
        try:
            return log_ends.one(topic, partition, timeout=10)
        except KafkaException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")
