"""Consumer lag: how far each consumer group is behind the log end, per partition.

The faust app id is the consumer group id (e.g. `envgrid`). A background `LagCollector` polls the broker
every `interval` seconds and sets `envgrid_consumer_lag_messages{group,topic,partition}`; `total_lag`
answers "has the pipeline drained?" with fresh numbers. The arithmetic lives in the pure `compute_lag`,
so it is tested without a broker; this module only adds the two admin calls around it.

A broker that is down or slow is logged and retried on the next tick; the collector thread never dies of
it, because a worker must keep processing (and exporting its other metrics) while lag is unknown.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Mapping

from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.streams import metrics

__all__ = ["Partition", "LagCollector", "compute_lag", "export_lag", "total_lag", "fetch_lag"]

log = logging.getLogger(__name__)

Partition = tuple[str, int]  # (topic, partition)


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


def fetch_lag(admin: AdminClient, group: str, timeout: float = 10.0,
              isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED) -> dict[Partition, int]:
    """Lag of every partition `group` has committed to, asked of the broker now. Raises KafkaException
    (or TimeoutError) when the broker cannot answer."""
    committed = _committed_offsets(admin, group, timeout)
    if not committed:
        return {}
    end = _offsets(admin, committed, OffsetSpec.latest(), timeout, isolation_level)
    start = _offsets(admin, committed, OffsetSpec.earliest(), timeout, isolation_level)
    return compute_lag(committed, end, start)


def total_lag(group: str, admin: AdminClient | None = None, cluster: ClusterAddresses | None = None,
              timeout: float = 10.0) -> int:
    """Messages `group` has yet to consume, over all its partitions (fresh, not the last tick's gauge).

    Pass an AdminClient, or the cluster, or neither to use the configured cluster
    (envgrid.connectors.settings: ENVGRID_BOOTSTRAP_SERVERS and ENVGRID_KAFKA_*, else the local one)."""
    return sum(fetch_lag(admin or _admin(cluster), group, timeout).values())


class LagCollector:
    """Polls the lag of `groups` every `interval` seconds on a daemon thread and exports it as
    CONSUMER_LAG. `start()` / `stop()`; also usable as a context manager."""

    def __init__(self, groups: Iterable[str], *, cluster: ClusterAddresses | None = None,
                 admin: AdminClient | None = None, interval: float = 15.0, timeout: float = 10.0,
                 isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED) -> None:
        self.groups = tuple(dict.fromkeys(groups))
        if not self.groups:
            raise ValueError("LagCollector needs at least one consumer group id (the faust app id)")
        if interval <= 0:
            raise ValueError(f"interval must be positive seconds, got {interval!r}")
        self.interval = interval
        self.timeout = timeout
        self.isolation_level = isolation_level
        self._admin = admin
        self._cluster = cluster
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
        """Ask the thread to stop and wait for it (at most `timeout` seconds, default interval + timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + self.timeout if timeout is None else timeout)
            self._thread = None

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
                lag = fetch_lag(self.admin, group, self.timeout, self.isolation_level)
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
        return sum(fetch_lag(self.admin, group, self.timeout, self.isolation_level).values())

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = _admin(self._cluster)
        return self._admin

    # -- helpers ---------------------------------------------------------------------------------------

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


def _admin(cluster: ClusterAddresses | None) -> AdminClient:
    if cluster is None:
        from envgrid.connectors.settings import running_cluster

        cluster = running_cluster()
    return AdminClient(cluster.kafka_config())


def _committed_offsets(admin: AdminClient, group: str, timeout: float) -> dict[Partition, int]:
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                                request_timeout=timeout)
    answer = futures[group].result(timeout=timeout)
    committed: dict[Partition, int] = {}
    for tp in answer.topic_partitions or []:
        if tp.error is not None:
            raise KafkaException(tp.error)
        committed[(tp.topic, tp.partition)] = tp.offset
    return committed


def _offsets(admin: AdminClient, partitions: Iterable[Partition], spec: OffsetSpec, timeout: float,
             isolation_level: IsolationLevel) -> dict[Partition, int]:
    request = {TopicPartition(topic, partition): spec for topic, partition in partitions}
    futures = admin.list_offsets(request, isolation_level=isolation_level, request_timeout=timeout)
    offsets: dict[Partition, int] = {}
    for tp, future in futures.items():
        try:
            offsets[(tp.topic, tp.partition)] = future.result(timeout=timeout).offset
        except KafkaException as exc:  # e.g. a deleted topic: skip this partition, keep the others
            log.info("offset of %s[%d] unavailable: %s", tp.topic, tp.partition, exc)
    return offsets
