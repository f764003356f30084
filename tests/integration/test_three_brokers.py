"""A broker and a worker killed on a 3-node cluster: nothing lost, nothing doubled, the group recovers.

The test starts its own 3-node local cluster (each node a broker and a controller; replication 3,
min.insync.replicas 2; SASL/SCRAM and the StandardAuthorizer as the single node), applies the catalogue with its
`production` profile, and runs the conservation traffic at a steady rate through three worker processes in one
process, each running both stages: the router (librdkafka, group `<app>-router`) and the case desk (faust, group
`<app>`). Mid-stream it SIGKILLs the node that coordinates the router's group and, once both groups have recovered,
one worker: the two left take its partitions when its sessions time out (librdkafka's 45 s, faust's 60 s). When the traffic is over it
restarts both. The restarted worker rejoins with nothing left to do, and the final ticks (the first the group ever
sees) reach it while it restores its tables, which is where it used to drop them and the group never drained
(envgrid.streams.faust_rebalance; tests/integration/test_restarted_worker.py). Every input must then be accounted
for exactly once, with contiguous case histories (tests/integration/conservation.py).

It prints what recovery took, from the groups' committed offsets and their lag sampled every second (per group, the
sum over its inputs): after each kill, until the group has committed again wherever records wait (after the worker kill,
first until the two left have its partitions), and until the lag is back to its level before the faults; after
the restarts, until the worker is in the group again and the ticks are drained, and when the node answered and
was back in every ISR; the lag peak.
ENVGRID_THREE_BROKER_EVENTS scales the traffic (default 2,400, at 40 a second, from the moment the three workers
have the group).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter

import pytest
from confluent_kafka import OFFSET_END, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from envgrid.localcluster.quorum import MIN_INSYNC, REPLICATION, TOPIC_PROFILE
from envgrid.simulator.generator import generate
from envgrid.simulator.publish import intake_topics, make_producer, publish
from envgrid.streams.groups import pipeline_groups
from envgrid.streams.lag import committed_offsets, compute_lag, group_reader
from tests.integration.conservation import (
    CONFIG,
    account,
    drain,
    inputs_of,
    internal_topics,
    tick_past_held_notices,
    wait_for,
)
from tests.integration.pipeline_process import WorkerProcess, prepare

EVENTS = int(os.environ.get("ENVGRID_THREE_BROKER_EVENTS", "2400"))
RATE = 40.0  # events/s: the traffic lasts EVENTS / RATE seconds, the faults happen while it flows
WORKERS = 3
pytestmark = [pytest.mark.integration, pytest.mark.node_faults, pytest.mark.timeout(900)]



def test_a_killed_broker_and_worker_lose_nothing_and_the_group_recovers(three_nodes, unique_name, tmp_path, capsys):
    cluster = three_nodes.addresses()
    assert cluster is not None and len(cluster.bootstrap_servers.split(",")) == 3
    assert cluster.security.sasl, "the 3-node cluster runs under the same security as the single node"
    prefix = unique_name("three")
    catalogue, codec = prepare(cluster, prefix, profile=TOPIC_PROFILE)
    spec = catalogue.spec(catalogue.intake("PetitionComplaint"))
    assert (spec.replication_factor, spec.configs["min.insync.replicas"]) == (REPLICATION, str(MIN_INSYNC))
    events = list(generate(seed=3_000, count=EVENTS, config=CONFIG))
    topics = intake_topics(catalogue)
    complaints = catalogue.intake("PetitionComplaint")
    workers = [WorkerProcess(cluster, prefix, tmp_path / f"state-{i}", loglevel="info", env=three_nodes.topic_env(),
                             log=tmp_path / f"worker-{i}.log") for i in range(WORKERS)]
    internal, ticks = internal_topics(catalogue), [catalogue.topic("internal.sla-ticks")]
    sampler = PipelineSampler(cluster, prefix, catalogue, inputs_of(catalogue, events) + internal)
    producer = make_producer(cluster)
    published: dict[str, object] = {}
    figures: dict[str, object] = {"events": EVENTS, "rate": RATE}

    def publish_steadily() -> None:
        try:
            published["result"] = publish(producer, codec, events, topics, rate=RATE, flush_timeout_s=600)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread, which fails with it
            published["error"] = error

    def consumed() -> float:
        assert "error" not in published, f"publishing failed: {published['error']!r}"
        return sum(w.consumed(complaints) for w in workers)

    def until(predicate, timeout: float, what: str, explain=lambda: "", running=None) -> float:
        """Seconds until `predicate` holds (polled twice a second, every worker (or those `running`) running)."""
        start = time.monotonic()
        wait_for(workers if running is None else running, predicate, timeout, what, explain)
        return round(time.monotonic() - start, 1)

    t0 = time.monotonic()
    try:
        for worker in workers:
            worker.start()
        until(lambda: sampler.stable(WORKERS), 300, "the three workers in both groups")
        threading.Thread(target=publish_steadily, daemon=True).start()
        total = sum(1 for event in events if event.kind == "PetitionComplaint")
        until(lambda: consumed() > 0.2 * total, 600, "a fifth of the complaints")
        baseline = sampler.level()

        # Fault 1: the node coordinating the group, SIGKILLed (restarted with the worker, below).
        node, at_fault = sampler.coordinator(), sampler.committed()
        assert at_fault, "the group's committed offsets could not be read before the fault"
        three_nodes.kill_node(node)
        killed_node = time.monotonic()
        figures["broker_commits_resumed_s"] = until(lambda: sampler.moved_on(at_fault), 300,
                                                    "commits wherever records wait, after the broker kill",
                                                    lambda: sampler.stuck(at_fault))
        until(lambda: sampler.back_to(baseline, killed_node), 300, "the lag back to its level before the broker kill")
        figures["broker_lag_back_s"] = round(time.monotonic() - killed_node, 1)

        # Fault 2: a worker SIGKILLed; the two left take its partitions once its sessions time out (45 s, 60 s).
        victim, survivors = workers[0], workers[1:]
        members, at_fault = sampler.members(), sampler.committed()
        assert at_fault and all(len(m) == WORKERS for m in members.values()), "the groups could not be read before the fault"
        victim.kill()
        killed_worker = time.monotonic()
        until(lambda: sampler.rejoined(members, WORKERS - 1), 300, "the two left with both groups", running=survivors)
        figures["worker_partitions_taken_over_s"] = round(time.monotonic() - killed_worker, 1)
        until(lambda: sampler.moved_on(at_fault), 300, "commits wherever records wait, after the worker kill",
              lambda: sampler.stuck(at_fault), survivors)
        figures["worker_commits_resumed_s"] = round(time.monotonic() - killed_worker, 1)
        until(lambda: sampler.back_to(baseline, killed_worker), 300, "the lag back to its level before the worker kill",
              running=survivors)
        figures["worker_lag_back_s"] = round(time.monotonic() - killed_worker, 1)

        # Both restarted. The worker rejoins once the traffic is over; the final ticks reach it while it restores its
        # tables, which is where it used to drop them (tests/integration/test_restarted_worker.py).
        until(lambda: "result" in published or "error" in published, 900, "the traffic to end", running=survivors)
        result = published.get("result")
        assert result is not None, f"publishing failed: {published.get('error')!r}"
        assert not result.failed and not result.errors and sum(result.delivered.values()) == len(events), result
        restarted, members = time.monotonic(), sampler.members()
        node_back: dict[str, float] = {}
        restart = threading.Thread(target=lambda: node_back.update(s=three_nodes.restart_node(node)), daemon=True)
        restart.start()
        victim.start()
        until(lambda: sampler.rejoined(members, WORKERS), 300, "the restarted worker in both groups")
        figures["worker_rejoined_s"] = round(time.monotonic() - restarted, 1)
        drain(workers, cluster, prefix, catalogue, inputs_of(catalogue, events) + internal)
        tick_past_held_notices(producer, codec, catalogue, events)
        drain(workers, cluster, prefix, catalogue, inputs_of(catalogue, events) + internal + ticks)
        figures["ticks_drained_s"] = round(time.monotonic() - restarted, 1)
        restart.join(timeout=300)
        assert "s" in node_back, "the killed node did not answer again"
        figures["node_answered_s"] = round(node_back["s"], 1)
        until(lambda: not under_replicated(sampler.admin, prefix), 300, "the restarted node back in every ISR")
        figures["node_in_every_isr_s"] = round(time.monotonic() - restarted, 1)
        account(cluster, catalogue, codec, events)
        figures.update(killed_node=node, lag_before_faults=baseline, lag_peak=sampler.peak(),
                       lag_peak_at_s=sampler.peak_at(t0), test_s=round(time.monotonic() - t0, 1),
                       lag_every_10s=sampler.every(10, t0), lag_samples_failed=dict(sampler.why_failed))
        with capsys.disabled():
            print(f"\nthree brokers, a broker and a worker killed: {json.dumps(figures)}")
    finally:
        for worker in workers:
            worker.stop()
        sampler.close()


def under_replicated(admin: AdminClient, prefix: str) -> list[tuple[str, int]]:
    """Partitions of this test's topics whose in-sync replicas are fewer than their replicas."""
    metadata = admin.list_topics(timeout=10)
    return [(name, p.id) for name, topic in metadata.topics.items() if name.startswith(prefix)
            for p in topic.partitions.values() if len(p.isrs) < len(p.replicas)]


class LagSampler:
    """The group's total lag over `topics`, sampled once a second on a thread of its own (a failed sample, while a
    node is down or the coordinator moves, is skipped), with committed offsets and the group's state on demand.
    Committed offsets come from Consumers of the group (envgrid.streams.lag), never from
    AdminClient.list_consumer_group_offsets, which kills the process on a coordinator error
    (confluent-kafka-python#1982). Log ends are the high watermarks a Consumer reading the topics' ends learns from
    its fetches (`cached=True`), never a watermark query: librdkafka's query_watermark_offsets aborted the test
    process while a node was down (librdkafka#5160), and the admin client's ListOffsets was seen not to answer for
    over a minute after a node was lost. Only the sampling thread touches those clients."""

    def __init__(self, cluster, group_id: str, topics: list[str]) -> None:
        self.cluster, self.group_id, self.topics = cluster, group_id, topics
        self.admin = AdminClient(cluster.kafka_config({"log_level": 0}))
        self.samples: list[tuple[float, int]] = []  # (monotonic time, total lag)
        self.why_failed: Counter[str] = Counter()  # error class -> samples not taken
        self.latest: tuple[float, dict, dict] | None = None  # (monotonic time, lag, committed) of the last sample
        self._reader: Consumer = group_reader(cluster, group_id)
        self._asked_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-sampler", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._reader.close()

    def _run(self) -> None:
        reader = group_reader(self.cluster, self.group_id)
        ends = Consumer(self.cluster.kafka_config({"group.id": f"{self.group_id}-lag-sampler", "log_level": 0,
                                                   "enable.auto.commit": False, "fetch.wait.max.ms": 200}))
        try:
            metadata = ends.list_topics(timeout=30).topics
            ends.assign([TopicPartition(topic, partition, OFFSET_END) for topic in self.topics
                         for partition in metadata[topic].partitions])
            while not self._stop.is_set():
                began = time.monotonic()
                while time.monotonic() - began < 1.0 and not self._stop.is_set():
                    ends.consume(10_000, timeout=0.2)  # fetch responses carry each partition's high watermark
                try:
                    lag, committed = self._lag(reader, ends)
                    self.latest = (began, lag, committed)
                    self.samples.append((began, sum(lag.values())))
                except Exception as error:  # noqa: BLE001 - a node is down or the group is moving: next second
                    self.why_failed[type(error).__name__] += 1
        finally:
            ends.close()
            reader.close()

    def _lag(self, reader: Consumer, ends: Consumer) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        """Every partition's lag and committed offset, or an error: a sample missing a partition would understate
        the lag."""
        committed = committed_offsets(reader, self.topics, timeout=5)
        start, end = {}, {}
        for topic, partition in committed:
            low, high = ends.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high < 0:
                raise LookupError(f"no fetch has told the end of {topic}[{partition}] yet")
            start[(topic, partition)], end[(topic, partition)] = max(low, 0), high
        return compute_lag(committed, end, start), committed

    def level(self, last: int = 5) -> int:
        """The lag as it stands: the highest of the last samples."""
        wait_for([], lambda: bool(self.samples), 60, f"a first lag sample of group {self.group_id}")
        return max(lag for _t, lag in self.samples[-last:])

    def back_to(self, level: int, since: float) -> bool:
        """Whether a sample taken after `since` (monotonic) is at or below `level`."""
        return any(t > since and lag <= level for t, lag in self.samples[-3:])

    def peak(self) -> int:
        return max((lag for _t, lag in self.samples), default=0)

    def peak_at(self, t0: float) -> float:
        return round(max(self.samples, key=lambda s: s[1])[0] - t0, 1) if self.samples else 0.0

    def every(self, seconds: float, t0: float) -> list[tuple[int, int]]:
        """(seconds since t0, lag) about every `seconds`: the shape of the run."""
        shown: list[tuple[int, int]] = []
        for t, lag in self.samples:
            if not shown or t - t0 >= shown[-1][0] + seconds:
                shown.append((round(t - t0), lag))
        return shown

    def committed(self) -> dict[tuple[str, int], int]:
        """The group's committed offset on each partition of its topics ({} while the coordinator does not answer);
        `moved_on` then judges samples taken after this call only."""
        self._asked_at = time.monotonic()
        try:
            return committed_offsets(self._reader, self.topics, 5)
        except Exception:  # noqa: BLE001 - the coordinator moves: no answer yet
            return {}

    def _since_asked(self) -> tuple[dict, dict] | None:
        latest = self.latest
        return (latest[1], latest[2]) if latest is not None and latest[0] > self._asked_at else None

    def moved_on(self, at_fault: dict[tuple[str, int], int]) -> bool:
        """Whether, in a sample taken since `at_fault` was read, every partition has either been committed past its
        offset of `at_fault` or has nothing waiting: no records stuck behind the fault."""
        sample = self._since_asked()
        if sample is None:
            return False
        lag, committed = sample
        return all(committed[tp] > at_fault.get(tp, -1) or behind == 0 for tp, behind in lag.items())

    def stuck(self, at_fault: dict[tuple[str, int], int]) -> str:
        sample = self._since_asked()
        if sample is None:
            return f"no lag sample since the fault (failed samples: {dict(self.why_failed)})"
        lag, committed = sample
        return "stuck since the fault (topic, partition, committed, lag): " + repr(
            [(*tp, committed[tp], behind) for tp, behind in lag.items()
             if behind and committed[tp] <= at_fault.get(tp, -1)])

    def coordinator(self) -> int:
        """The node id of the group's coordinator."""
        return int(self.admin.describe_consumer_groups([self.group_id])[self.group_id].result(timeout=10).coordinator.id)

    def group_state(self) -> tuple[str, int]:
        """The group's state and member count (("UNKNOWN", 0) while no coordinator answers)."""
        state, members = self.group()
        return state, len(members)

    def rejoined(self, before: frozenset[str], size: int) -> bool:
        """Whether the group is stable with `size` members, not those of `before`: a dead worker stays a member
        until its session times out (faust's 60 s), a restarted one joins under a new member id."""
        state, members = self.group()
        return state == "STABLE" and len(members) == size and members != before

    def group(self) -> tuple[str, frozenset[str]]:
        """The group's state and its members' ids (("UNKNOWN", {}) while no coordinator answers)."""
        try:
            described = self.admin.describe_consumer_groups([self.group_id])[self.group_id].result(timeout=5)
        except Exception:  # noqa: BLE001 - the coordinator moves
            return ("UNKNOWN", frozenset())
        return (described.state.name, frozenset(member.member_id for member in described.members))


class PipelineSampler:
    """A LagSampler per pipeline group (the router's and the case desk's), each over the test's topics it reads;
    conditions hold when they hold for both groups, lag figures are given per group."""

    def __init__(self, cluster, app_id: str, catalogue, topics: list[str]) -> None:
        self.samplers = {group: LagSampler(cluster, group, [t for t in topics if t in inputs])
                         for group, inputs in pipeline_groups(app_id, catalogue).items()}
        self.router = next(s for g, s in self.samplers.items() if g != app_id)
        self.admin = self.router.admin

    def close(self) -> None:
        for sampler in self.samplers.values():
            sampler.close()

    def level(self) -> dict[str, int]:
        return {group: sampler.level() for group, sampler in self.samplers.items()}

    def back_to(self, levels: dict[str, int], since: float) -> bool:
        return all(sampler.back_to(levels[group], since) for group, sampler in self.samplers.items())

    def peak(self) -> dict[str, int]:
        return {group: sampler.peak() for group, sampler in self.samplers.items()}

    def peak_at(self, t0: float) -> dict[str, float]:
        return {group: sampler.peak_at(t0) for group, sampler in self.samplers.items()}

    def every(self, seconds: float, t0: float) -> dict[str, list[tuple[int, int]]]:
        return {group: sampler.every(seconds, t0) for group, sampler in self.samplers.items()}

    @property
    def why_failed(self) -> Counter[str]:
        return sum((sampler.why_failed for sampler in self.samplers.values()), Counter())

    def committed(self) -> dict[tuple[str, int], int]:
        """Every group's committed offsets ({} while a coordinator does not answer: the topics are the groups' own)."""
        found = [sampler.committed() for sampler in self.samplers.values()]
        return {} if not all(found) else {tp: offset for offsets in found for tp, offset in offsets.items()}

    def moved_on(self, at_fault: dict[tuple[str, int], int]) -> bool:
        return all(sampler.moved_on(at_fault) for sampler in self.samplers.values())

    def stuck(self, at_fault: dict[tuple[str, int], int]) -> str:
        return "; ".join(f"{group}: {sampler.stuck(at_fault)}" for group, sampler in self.samplers.items())

    def coordinator(self) -> int:
        """The node coordinating the router's group (the busier one)."""
        return self.router.coordinator()

    def stable(self, size: int) -> bool:
        return all(sampler.group_state() == ("STABLE", size) for sampler in self.samplers.values())

    def members(self) -> dict[str, frozenset[str]]:
        return {group: sampler.group()[1] for group, sampler in self.samplers.items()}

    def rejoined(self, before: dict[str, frozenset[str]], size: int) -> bool:
        return all(sampler.rejoined(before[group], size) for group, sampler in self.samplers.items())
