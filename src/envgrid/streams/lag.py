"""Consumer lag: how far each consumer group is behind the log end, per partition.

The faust app id is the consumer group id (e.g. `envgrid`). A background `LagCollector` polls the broker
every `interval` seconds and sets `envgrid_consumer_lag_messages{group,topic,partition}`; `total_lag`
answers "has the pipeline drained?" with fresh numbers. The arithmetic lives in the pure `compute_lag`,
so it is tested without a broker; this module only adds the broker calls around it.

Committed offsets are read by a Consumer of the group that never subscribes (so it never joins the group
and takes nothing from its members), not by AdminClient.list_consumer_group_offsets: librdkafka (2.16 too)
dereferences the AdminClient's missing consumer-group handle when an OffsetFetch answer carries a
coordinator error (COORDINATOR_LOAD_IN_PROGRESS right after a broker starts, NOT_COORDINATOR once the
coordinator's node dies), and the whole process dies of SIGSEGV (confluent-kafka-python#1982,
librdkafka#5040). A Consumer retries those errors itself. Log ends still come from AdminClient.list_offsets.

A broker that is down or slow is logged and retried on the next tick; the collector thread never dies of
it, because a worker must keep processing (and exporting its other metrics) while lag is unknown.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from confluent_kafka import Consumer, IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from envgrid.connectors.log_ends import list_offsets
from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.streams import metrics

__all__ = ["Partition", "GroupReader", "LagCollector", "committed_offsets", "compute_lag", "export_lag",
           "fetch_lag", "group_reader", "log_offsets", "total_lag"]

log = logging.getLogger(__name__)

Partition = tuple[str, int]  # (topic, partition)


class GroupReader(Protocol):
    """What lag needs of a Consumer of the group (confluent_kafka.Consumer; a fake in unit tests)."""

    def committed(self, partitions: list[TopicPartition], timeout: float = ...) -> list[TopicPartition]: ...

    def list_topics(self, topic: str | None = ..., timeout: float = ...) -> Any: ...

    def close(self) -> None: ...


def compute_lag(committed: Mapping[Partition, int], end: Mapping[Partition, int],
                start: Mapping[Partition, int] | None = None) -> dict[Partition, int]:
    """Lag per partition = log end offset minus committed offset, never negative.

    `committed` holds the group's committed offsets (the next offset it will read); a negative value
    (librdkafka's OFFSET_INVALID, -1001) means "nothing committed", counted as the whole log. `start`
    (low watermarks) caps the lag of a group lagging behind retention at what is still in the log.
    Partitions missing from `end` are left out: their end is unknown, and a made-up number would be worse
    than a gap in the graph.
    """
    start = start or {}
    lag: dict[Partition, int] = {}
    for tp, end_offset in end.items():
        if tp not in committed:
            continue
        position = max(committed[tp], start.get(tp, 0), 0)
        lag[tp] = max(end_offset - position, 0)
    return lag


def fetch_lag(admin: AdminClient, reader: GroupReader, topics: Iterable[str] | None = None, timeout: float = 10.0,
              isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED) -> dict[Partition, int]:
    """Lag of the group of `reader` (a Consumer of the group, see `group_reader`), asked of the broker now:
    on every partition of `topics`, or, without topics, on every partition the group has committed to.
    Raises KafkaException (or TimeoutError) when the broker cannot answer."""
    committed = committed_offsets(reader, topics, timeout)
    if not committed:
        return {}
    end = log_offsets(admin, committed, OffsetSpec.latest(), timeout, isolation_level)
    start = log_offsets(admin, committed, OffsetSpec.earliest(), timeout, isolation_level)
    return compute_lag(committed, end, start)


def total_lag(group: str, cluster: ClusterAddresses | None = None, topics: Iterable[str] | None = None,
              admin: AdminClient | None = None, timeout: float = 10.0) -> int:
    """Messages `group` has yet to consume, over all its partitions or those of `topics` (fresh, not the
    last tick's gauge).

    Pass the cluster, or none to use the configured one (envgrid.connectors.settings:
    ENVGRID_BOOTSTRAP_SERVERS and ENVGRID_KAFKA_*, else the local one); `admin` to reuse a client."""
    cluster = cluster or _running_cluster()
    reader = group_reader(cluster, group)
    try:
        return sum(fetch_lag(admin or AdminClient(cluster.kafka_config()), reader, topics, timeout).values())
    finally:
        reader.close()


def group_reader(cluster: ClusterAddresses, group: str) -> Consumer:
    """A Consumer of `group` that only reads its committed offsets: it never subscribes (never joins the
    group), never commits."""
    return Consumer(cluster.kafka_config({"group.id": group, "enable.auto.commit": False}))


def committed_offsets(reader: GroupReader, topics: Iterable[str] | None = None,
                      timeout: float = 10.0) -> dict[Partition, int]:
    """The committed offset of the reader's group on every partition of `topics` (OFFSET_INVALID, -1001,
    where it committed nothing); without topics, on every partition of every topic the reader can see
    (but Kafka's own `__` topics) where the group committed something."""
    metadata = reader.list_topics(timeout=timeout).topics
    names = list(topics) if topics is not None else [name for name in metadata if not name.startswith("__")]
    missing = [name for name in names if name not in metadata]
    if missing:
        raise KafkaException(f"topics {missing} not known to the broker")
    partitions = [TopicPartition(name, p) for name in names for p in sorted(metadata[name].partitions)]
    if not partitions:
        return {}
    committed: dict[Partition, int] = {}
    for tp in reader.committed(partitions, timeout=timeout):
        if tp.error is not None:
            raise KafkaException(tp.error)
        if topics is not None or tp.offset >= 0:
            committed[(tp.topic, tp.partition)] = tp.offset
    return committed


def log_offsets(admin: AdminClient, partitions: Iterable[Partition], spec: OffsetSpec, timeout: float = 10.0,
                isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED) -> dict[Partition, int]:
    """The offset `spec` names (OffsetSpec.latest(): the log end; .earliest(): its start) of each partition; a
    partition the broker cannot answer for in time (a deleted topic; after a node is lost, librdkafka's admin
    client was seen not to answer for a minute or more) is left out (envgrid.connectors.log_ends)."""
    offsets: dict[Partition, int] = {}
    for (topic, partition), found in list_offsets(admin, partitions, spec, timeout, isolation_level).items():
        if isinstance(found, KafkaException):  # a deleted topic, a leader lost: skip it, keep the others
            log.info("offset of %s[%d] unavailable: %s", topic, partition, found)
        else:
            offsets[(topic, partition)] = found
    return offsets


class LagCollector:
    """Polls the lag of `groups` every `interval` seconds on a daemon thread and exports it as
    CONSUMER_LAG. `start()` / `stop()`; also usable as a context manager.

    `topics` limits it to those topics (default: every topic each group has committed to). `readers` makes the
    Consumer of a group (default `group_reader` on the cluster); one per group, closed by `stop()`."""

    def __init__(self, groups: Iterable[str], *, cluster: ClusterAddresses | None = None,
                 admin: AdminClient | None = None, topics: Iterable[str] | None = None, interval: float = 15.0,
                 timeout: float = 10.0, isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
                 readers: Callable[[str], GroupReader] | None = None) -> None:
        self.groups = tuple(dict.fromkeys(groups))
        if not self.groups:
            raise ValueError("LagCollector needs at least one consumer group id (the faust app id)")
        if interval <= 0:
            raise ValueError(f"interval must be positive seconds, got {interval!r}")
        self.topics = None if topics is None else tuple(topics)
        self.interval = interval
        self.timeout = timeout
        self.isolation_level = isolation_level
        self._admin = admin
        self._cluster = cluster
        self._make_reader = readers
        self._readers: dict[str, GroupReader] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._exported: dict[str, set[Partition]] = {g: set() for g in self.groups}
        self._last: dict[str, dict[Partition, int]] = {}
        self._lock = threading.Lock()

    def start(self) -> LagCollector:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="envgrid-lag-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (at most `timeout` seconds, default interval + timeout), then
        close the groups' consumers (unless the thread is still in a call)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + self.timeout if timeout is None else timeout)
            if self._thread.is_alive():
                return
            self._thread = None
        with self._lock:
            readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            reader.close()

    def __enter__(self) -> LagCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def collect_once(self) -> dict[str, dict[Partition, int]]:
        """One tick: fetch every group's lag and update the gauge. A group whose fetch fails is logged,
        counted in envgrid_lag_collection_errors_total and left out of the result (its gauges keep
        their last value)."""
        result: dict[str, dict[Partition, int]] = {}
        for group in self.groups:
            try:
                lag = self._fetch(group)
            except Exception as exc:  # noqa: BLE001 - broker down, timeout, auth: retried next tick, never fatal
                metrics.LAG_COLLECTION_ERRORS.labels(group=group).inc()
                log.warning("consumer lag of group %r not collected (%s: %s); retrying in %.0f s",
                            group, type(exc).__name__, exc, self.interval)
                continue
            self._export(group, lag)
            result[group] = lag
        with self._lock:
            self._last.update(result)
        return result

    def last(self, group: str) -> dict[Partition, int]:
        """The lag per partition of `group` at the last successful tick (empty before the first)."""
        with self._lock:
            return dict(self._last.get(group, {}))

    def total_lag(self, group: str) -> int:
        """Fresh total lag of `group` (asks the broker now)."""
        return sum(self._fetch(group).values())

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(self._cluster_addresses().kafka_config())
        return self._admin

    # -- helpers ---------------------------------------------------------------------------------------

    def _fetch(self, group: str) -> dict[Partition, int]:
        return fetch_lag(self.admin, self._reader(group), self.topics, self.timeout, self.isolation_level)

    def _reader(self, group: str) -> GroupReader:
        with self._lock:
            reader = self._readers.get(group)
            if reader is None:
                make = self._make_reader or (lambda g: group_reader(self._cluster_addresses(), g))
                reader = self._readers[group] = make(group)
            return reader

    def _cluster_addresses(self) -> ClusterAddresses:
        if self._cluster is None:
            self._cluster = _running_cluster()
        return self._cluster

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.collect_once()
            except Exception:  # e.g. the AdminClient cannot even be built; keep the worker alive
                log.exception("consumer lag collection failed; retrying in %.0f s", self.interval)
            self._stop.wait(self.interval)

    def _export(self, group: str, lag: Mapping[Partition, int]) -> None:
        self._exported[group] = export_lag(group, lag, self._exported[group])


def export_lag(group: str, lag: Mapping[Partition, int], exported: set[Partition]) -> set[Partition]:
    """Set CONSUMER_LAG of `group` to `lag`, and remove the partitions of `exported` (the last call's) that
    `lag` no longer has; returns the partitions exported now. A partition the group no longer commits to
    (topic deleted, offsets expired), or that a worker no longer owns after a rebalance, must not report its
    last lag forever: the new owner reports it, and a stale copy would be counted twice."""
    for (topic, partition), value in lag.items():
        metrics.CONSUMER_LAG.labels(group=group, topic=topic, partition=str(partition)).set(value)
    for topic, partition in exported - lag.keys():
        with contextlib.suppress(KeyError):
            metrics.CONSUMER_LAG.remove(group, topic, str(partition))
    return set(lag)


def _running_cluster() -> ClusterAddresses:
    from envgrid.connectors.settings import running_cluster

    return running_cluster()
