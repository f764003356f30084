"""The Kafka clients of tests/integration/test_three_brokers.py, run in a child process of their own
(tests/integration/client_process.py): librdkafka aborted the test process's own clients while a node was down
(librdkafka#5160). `Observer` samples the pipeline groups' lag and answers about the groups and the cluster;
`Publisher` sends the traffic and the final ticks, and can resume after a predecessor died with exactly the events
the log does not hold yet.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.localcluster.cluster import LocalCluster
from envgrid.simulator.publish import PublishResult, intake_topics, make_producer, publish, record_value
from envgrid.streams.lag import committed_offsets, compute_lag, group_reader
from envgrid.streams.watermark import InputProgress, PipelineProgress
from tests.integration.conservation import tick_past_held_notices
from tests.integration.pipeline_process import read_raw

Sample = tuple[float, dict, dict]  # (monotonic time, lag per partition, committed per partition)


class Observer:
    """Samples each group's lag over its topics once a second, on a thread per group (a failed sample, while a node
    is down or the coordinator moves, is counted by error class and skipped); answers about the groups on demand.

    Committed offsets come from Consumers of the group (envgrid.streams.lag), never from
    AdminClient.list_consumer_group_offsets, which kills the process on a coordinator error
    (confluent-kafka-python#1982). Log ends are the high watermarks a Consumer reading the topics' ends learns from
    its fetches (`cached=True`), never a watermark query: the admin client's ListOffsets was seen not to answer for
    over a minute after a node was lost, and query_watermark_offsets aborted the process (librdkafka#5160)."""

    def __init__(self, cluster, groups: dict[str, list[str]]) -> None:
        self.cluster, self.groups = cluster, groups
        self.admin = AdminClient(cluster.kafka_config({"log_level": 0}))
        self._admins = {group: AdminClient(cluster.kafka_config({"log_level": 0})) for group in groups}
        self._readers = {group: group_reader(cluster, group) for group in groups}
        self._progress: dict[tuple, PipelineProgress] = {}
        self._samples: list[tuple[str, Sample]] = []
        self._failures: list[tuple[str, str]] = []  # (group, error class)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample, args=(group,), name=f"lag-{group}", daemon=True)
                         for group in groups]
        for thread in self._threads:
            thread.start()

    def take_samples(self) -> tuple[list[tuple[str, Sample]], list[tuple[str, str]]]:
        """The samples and failures since the last call."""
        with self._lock:
            taken, self._samples, failed, self._failures = self._samples, [], self._failures, []
        return taken, failed

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        """The group's committed offset on each partition of its topics ({} while the coordinator does not answer)."""
        try:
            return committed_offsets(self._readers[group], self.groups[group], 5)
        except Exception:  # noqa: BLE001 - the coordinator moves: no answer yet
            return {}

    def coordinator(self, group: str) -> int:
        return int(self._describe(group, 10).coordinator.id)

    def group(self, group: str) -> tuple[str, frozenset[str]]:
        """The group's state and its members' ids (("UNKNOWN (why)", {}) while no coordinator answers)."""
        try:
            described = self._describe(group, 5)
        except Exception as error:  # noqa: BLE001 - the coordinator moves
            return (f"UNKNOWN ({type(error).__name__}: {error})", frozenset())
        return (described.state.name, frozenset(member.member_id for member in described.members))

    def under_replicated(self, prefix: str) -> list[tuple[str, int]]:
        """Partitions of the topics named `prefix...` whose in-sync replicas are fewer than their replicas."""
        metadata = self.admin.list_topics(timeout=10)
        return [(name, p.id) for name, topic in metadata.topics.items() if name.startswith(prefix)
                for p in topic.partitions.values() if len(p.isrs) < len(p.replicas)]

    def brokers(self) -> list[int]:
        """The ids of the nodes the cluster's metadata lists (those that answer)."""
        return sorted(self.admin.list_topics(timeout=10).brokers)

    def caught_up(self, by_group: dict[str, list[str]]) -> bool:
        """Whether each group has committed everything of its topics (envgrid.streams.watermark)."""
        return self._progress_of(by_group).caught_up()

    def behind(self, by_group: dict[str, list[str]]) -> list[tuple[str, int, int, int]]:
        return self._progress_of(by_group).behind()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        for progress in self._progress.values():
            progress.close()
        for reader in self._readers.values():
            reader.close()

    def _describe(self, group: str, timeout: float) -> Any:
        """The group's description, with a request timeout of its own. Without one, the case desk's group could not be
        described for minutes after the node kill (every call gave up after 5 s, the router's group answered): each
        abandoned request stays in the admin client up to socket.timeout.ms (60 s), and they seem to have queued up
        behind the dead coordinator. One admin client per group, so that one group's wait cannot hold up the other's."""
        future = self._admins[group].describe_consumer_groups([group], request_timeout=timeout)[group]
        return future.result(timeout=timeout + 2)

    def _progress_of(self, by_group: dict[str, list[str]]) -> PipelineProgress:
        key = tuple(sorted((group, tuple(topics)) for group, topics in by_group.items()))
        if key not in self._progress:
            self._progress[key] = PipelineProgress([InputProgress(self.cluster, group, list(topics),
                                                                  lambda value, topic: ("", {}))
                                                    for group, topics in by_group.items()])
        return self._progress[key]

    def _sample(self, group: str) -> None:
        topics = self.groups[group]
        reader = group_reader(self.cluster, group)
        ends = Consumer(self.cluster.kafka_config({"group.id": f"{group}-lag-sampler", "log_level": 0,
                                                   "enable.auto.commit": False, "fetch.wait.max.ms": 200}))
        try:
            metadata = ends.list_topics(timeout=30).topics
            ends.assign([TopicPartition(topic, partition, OFFSET_END) for topic in topics
                         for partition in metadata[topic].partitions])
            while not self._stop.is_set():
                began = time.monotonic()
                while time.monotonic() - began < 1.0 and not self._stop.is_set():
                    ends.consume(10_000, timeout=0.2)  # fetch responses carry each partition's high watermark
                try:
                    lag, committed = _lag(reader, ends, topics)
                    with self._lock:
                        self._samples.append((group, (began, lag, committed)))
                except Exception as error:  # noqa: BLE001 - a node is down or the group is moving: next second
                    with self._lock:
                        self._failures.append((group, type(error).__name__))
        finally:
            ends.close()
            reader.close()


def _lag(reader: Consumer, ends: Consumer, topics: list[str]) -> tuple[dict[tuple[str, int], int],
                                                                       dict[tuple[str, int], int]]:
    """Every partition's lag and committed offset, or an error: a sample missing a partition would understate
    the lag."""
    committed = committed_offsets(reader, topics, timeout=5)
    start, end = {}, {}
    for topic, partition in committed:
        low, high = ends.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        if high < 0:
            raise LookupError(f"no fetch has told the end of {topic}[{partition}] yet")
        start[(topic, partition)], end[(topic, partition)] = max(low, 0), high
    return compute_lag(committed, end, start), committed


class Publisher:
    """Publishes `events` at `rate` on a thread (envgrid.simulator.publish), and the ticks past held notices.

    `start(resume=True)` is for a publisher that follows one that died: records the dead one sent may still be on
    their way into the log (acks=all waits for the in-sync replicas, which a lost node delays until it leaves the
    ISR, replica.lag.time.max.ms, 30 s), so it waits `settle` seconds, reads the intake topics, and publishes only
    the events the log does not hold: every event ends up in the log once, and the accounting stays exact."""

    def __init__(self, cluster, prefix: str, profile: str, events: list, rate: float) -> None:
        self.cluster, self.events, self.rate = cluster, events, rate
        self.catalogue = Catalogue.load(prefix=prefix, profile=profile, env={})
        self.codec = EventCodec(registry_client(cluster), self.catalogue.event_type_of)
        self.topics = intake_topics(self.catalogue)
        self.producer = make_producer(cluster)
        self.result: PublishResult | None = None
        self.error: str | None = None
        self.found_in_log = 0  # events a dead predecessor had published, found when resuming
        self._thread: threading.Thread | None = None

    def start(self, resume: bool = False, settle: float = 35.0) -> None:
        self._thread = threading.Thread(target=self._publish, args=(resume, settle), name="publisher", daemon=True)
        self._thread.start()

    def status(self) -> dict[str, Any]:
        """done, and (once done) produced/delivered/failed counts by label, errors, and the events found in the log."""
        done = self._thread is not None and not self._thread.is_alive()
        result = self.result
        return {"done": done, "error": self.error, "found_in_log": self.found_in_log,
                "produced": dict(result.produced) if result else {}, "delivered": dict(result.delivered) if result else {},
                "failed": dict(result.failed) if result else {}, "errors": list(result.errors) if result else []}

    def tick_past_held_notices(self) -> None:
        tick_past_held_notices(self.producer, self.codec, self.catalogue, self.events)

    def close(self) -> None:
        self.producer.flush(10)

    def _publish(self, resume: bool, settle: float) -> None:
        try:
            pending = self.events
            if resume:
                time.sleep(settle)
                pending = self._unpublished()
                self.found_in_log = len(self.events) - len(pending)
            self.result = publish(self.producer, self.codec, pending, self.topics, rate=self.rate, flush_timeout_s=600)
        except BaseException as error:  # noqa: BLE001 - reported by status()
            self.error = repr(error)

    def _unpublished(self) -> list:
        """The events whose records are not in the intake topics. Equal records (a duplicate resent with the same
        bytes) go to one partition in publishing order, so the first n of them are the n the log holds."""
        left = Counter((topic, value) for topic, records in read_raw(self.cluster, self.topics.all()).items()
                       for _key, value, _headers in records)
        pending = []
        for event in self.events:
            record = (topic := self.topics.topic_of(event), record_value(self.codec, event, topic))
            if left[record] > 0:
                left[record] -= 1
            else:
                pending.append(event)
        return pending


class NodeKeeper:
    """Restarts a killed node of the test's local cluster: waiting until it answers asks it for metadata (librdkafka)
    while it is still down, which is no call for the test process (envgrid.localcluster.broker.wait_ready)."""

    def __init__(self, var_dir: Path, nodes: int, broker_timeout: float) -> None:
        self.cluster = LocalCluster(var_dir=var_dir, nodes=nodes, broker_timeout=broker_timeout)

    def restart_node(self, node_id: int) -> float:
        return self.cluster.restart_node(node_id)


def published_once(cluster, catalogue, codec: EventCodec, events: list) -> list[str]:
    """What is wrong with the intake topics as a record of `events` published once each ([] when nothing is)."""
    topics = intake_topics(catalogue)
    found = Counter((topic, value) for topic, records in read_raw(cluster, topics.all()).items()
                    for _key, value, _headers in records)
    expected = Counter((topic := topics.topic_of(event), record_value(codec, event, topic)) for event in events)
    missing, extra = expected - found, found - expected
    return ([f"{sum(missing.values())} event(s) never published, in {sorted({t for t, _v in missing})}"] if missing
            else []) + ([f"{sum(extra.values())} record(s) published twice or unknown, in {sorted({t for t, _v in extra})}"]
                        if extra else [])
