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

The test process itself holds no Kafka client while a node is down: librdkafka aborted it (SIGABRT, librdkafka#5160)
in 2 runs of 5 when its own clients asked something then. The lag sampling, the groups' descriptions, the drain's
progress and the ISR check run in one child process, the traffic and the ticks in another, the restart of the
killed node (its wait asks the node for metadata) in a third (tests/integration/three_broker_clients.py, started by
tests/integration/client_process.py). The observer is restarted
when it dies, and the gap is printed with the figures; a publisher that dies is followed by one that publishes
exactly the events the intake topics do not hold yet, and the intake topics are checked to hold every event once
before the outputs are accounted for.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from envgrid.localcluster.quorum import MIN_INSYNC, REPLICATION, TOPIC_PROFILE
from envgrid.simulator.generator import generate
from envgrid.streams.groups import pipeline_groups, reader_group
from tests.integration.client_process import ChildDied, ChildError, ClientProcess
from tests.integration.conservation import CONFIG, account, drain, inputs_of, internal_topics, wait_for
from tests.integration.pipeline_process import WorkerProcess, prepare
from tests.integration.three_broker_clients import published_once

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
    complaints = catalogue.intake("PetitionComplaint")
    workers = [WorkerProcess(cluster, prefix, tmp_path / f"state-{i}", loglevel="info", env=three_nodes.topic_env(),
                             log=tmp_path / f"worker-{i}.log") for i in range(WORKERS)]
    internal, ticks = internal_topics(catalogue), [catalogue.topic("internal.sla-ticks")]
    t0 = time.monotonic()
    sampler = PipelineSampler(cluster, prefix, catalogue, inputs_of(catalogue, events) + internal,
                              tmp_path / "observer.log")
    publisher = PublisherProcess(cluster, prefix, events, tmp_path / "publisher.log")
    figures: dict[str, object] = {"events": EVENTS, "rate": RATE}

    def consumed() -> float:
        publisher.check()
        return sum(w.consumed(complaints) for w in workers)

    def until(predicate, timeout: float, what: str, explain=lambda: "", running=None) -> float:
        """Seconds until `predicate` holds (polled twice a second, every worker (or those `running`) running)."""
        start = time.monotonic()
        wait_for(workers if running is None else running, predicate, timeout, what, explain)
        return round(time.monotonic() - start, 1)

    try:
        for worker in workers:
            worker.start()
        until(lambda: sampler.stable(WORKERS), 300, "the three workers in both groups")
        publisher.start()
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
        # The groups are read again until both answer with the three workers: right after the node kill a description
        # may find no coordinator for a moment (the observer then says why).
        victim, survivors = workers[0], workers[1:]
        before: dict[str, object] = {}

        def readable() -> bool:
            before.update(groups=sampler.groups(), at_fault=sampler.committed())
            return bool(before["at_fault"]) and all(len(m) == WORKERS for _s, m in before["groups"].values())

        until(readable, 120, "both groups read with the three workers, before the worker kill", lambda: repr(before))
        members = {group: m for group, (_state, m) in before["groups"].items()}
        at_fault = before["at_fault"]
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
        until(publisher.done, 900, "the traffic to end", running=survivors)
        result = publisher.status
        assert not result["failed"] and not result["errors"] and \
            sum(result["delivered"].values()) + result["found_in_log"] == len(events), result
        restarted, members = time.monotonic(), sampler.members()
        node_back: dict[str, float] = {}
        keeper = ClientProcess("tests.integration.three_broker_clients:NodeKeeper",
                               (three_nodes.var, three_nodes.nodes, three_nodes.broker_timeout), log=tmp_path / "keeper.log")
        restart = threading.Thread(target=lambda: node_back.update(s=restart_node(keeper, node, sampler)), daemon=True)
        restart.start()
        victim.start()
        until(lambda: sampler.rejoined(members, WORKERS), 300, "the restarted worker in both groups")
        figures["worker_rejoined_s"] = round(time.monotonic() - restarted, 1)
        drain(workers, cluster, prefix, catalogue, inputs_of(catalogue, events) + internal,
              sampler.progress(inputs_of(catalogue, events) + internal))
        publisher.tick_past_held_notices()
        drain(workers, cluster, prefix, catalogue, inputs_of(catalogue, events) + internal + ticks,
              sampler.progress(inputs_of(catalogue, events) + internal + ticks))
        figures["ticks_drained_s"] = round(time.monotonic() - restarted, 1)
        restart.join(timeout=300)
        assert "s" in node_back, "the killed node did not answer again"
        figures["node_answered_s"] = round(node_back["s"], 1)
        until(lambda: not sampler.under_replicated(prefix), 300, "the restarted node back in every ISR")
        figures["node_in_every_isr_s"] = round(time.monotonic() - restarted, 1)
        # Every node answers again: from here on the test process reads the log itself.
        assert not (wrong := published_once(cluster, catalogue, codec, events)), wrong
        account(cluster, catalogue, codec, events)
        figures.update(killed_node=node, lag_before_faults=baseline, lag_peak=sampler.peak(),
                       lag_peak_at_s=sampler.peak_at(t0), test_s=round(time.monotonic() - t0, 1),
                       lag_every_10s=sampler.every(10, t0), lag_samples_failed=dict(sampler.why_failed),
                       observer_deaths=sampler.deaths(t0), publisher_deaths=publisher.deaths(t0),
                       node_keeper_deaths=[death.summary(t0) for death in keeper.deaths])
        with capsys.disabled():
            print(f"\nthree brokers, a broker and a worker killed: {json.dumps(figures)}")
    finally:
        for worker in workers:
            worker.stop()
        publisher.close()
        sampler.close()


def restart_node(keeper: ClientProcess, node: int, sampler: PipelineSampler) -> float:
    """Seconds until the killed node answers again, restarted by `keeper` (a child process: waiting for the node asks
    it for metadata while it is down). If the keeper dies meanwhile, the node may run already: the observer's
    metadata then tells when it answers."""
    started = time.monotonic()
    try:
        return float(keeper.call("restart_node", node, timeout=300))
    except ChildDied:
        wait_for([], lambda: node in sampler.brokers(), 240, f"node {node} to answer after its keeper died")
        return time.monotonic() - started
    finally:
        keeper.close()


class LagSampler:
    """One group's lag samples (taken by the observer process, tests/integration/three_broker_clients.py), and what
    the test asks of them."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.samples: list[tuple[float, int]] = []  # (monotonic time, total lag)
        self.why_failed: Counter[str] = Counter()  # error class -> samples not taken
        self.latest: tuple[float, dict, dict] | None = None  # (monotonic time, lag, committed) of the last sample
        self.asked_at = 0.0  # when the committed offsets `moved_on` compares with were read

    def add(self, sample: tuple[float, dict, dict]) -> None:
        self.latest = sample
        self.samples.append((sample[0], sum(sample[1].values())))

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

    def _since_asked(self) -> tuple[dict, dict] | None:
        latest = self.latest
        return (latest[1], latest[2]) if latest is not None and latest[0] > self.asked_at else None

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


class PipelineSampler:
    """A LagSampler per pipeline group (the router's and the case desk's), each over the test's topics it reads;
    conditions hold when they hold for both groups, lag figures are given per group. The Kafka clients live in the
    observer process; a thread here takes its samples every second. When it dies it is started again (on the next
    call), and until then every question gets the answer "not known yet"."""

    def __init__(self, cluster, app_id: str, catalogue, topics: list[str], log: Path) -> None:
        self.app_id, self.catalogue = app_id, catalogue
        groups = {group: [t for t in topics if t in inputs] for group, inputs in pipeline_groups(app_id, catalogue).items()}
        self.samplers = {group: LagSampler(group) for group in groups}
        self.router = next(g for g in groups if g != app_id)
        self.clients = ClientProcess("tests.integration.three_broker_clients:Observer", (cluster, groups), log=log)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._take_samples, name="lag-samples", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.clients.close()

    def _ask(self, method: str, *args: Any, unknown: Any = None, timeout: float = 60.0) -> Any:
        """The observer's answer, or `unknown` when it died meanwhile (it is started again on the next call)."""
        try:
            return self.clients.call(method, *args, timeout=timeout)
        except ChildDied:
            return unknown

    def _take_samples(self) -> None:
        while not self._stop.wait(1.0):
            taken, failed = self._ask("take_samples", unknown=([], []))
            for group, sample in taken:
                self.samplers[group].add(sample)
            for group, kind in failed:
                self.samplers[group].why_failed[kind] += 1

    def deaths(self, t0: float) -> list[dict[str, Any]]:
        """Each death of the observer, with the gap in the samples around it."""
        times = sorted(t for sampler in self.samplers.values() for t, _lag in sampler.samples)
        found = []
        for death in self.clients.deaths:
            before = max((t for t in times if t < death.at), default=t0)
            after = min((t for t in times if t > death.at), default=time.monotonic())
            found.append({**death.summary(t0), "gap_s": round(after - before, 1)})
        return found

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
        """Every group's committed offsets ({} while a coordinator does not answer: the topics are the groups' own);
        `moved_on` then judges samples taken after this call only."""
        found = []
        for group, sampler in self.samplers.items():
            sampler.asked_at = time.monotonic()
            found.append(self._ask("committed", group, unknown={}))
        return {} if not all(found) else {tp: offset for offsets in found for tp, offset in offsets.items()}

    def moved_on(self, at_fault: dict[tuple[str, int], int]) -> bool:
        return all(sampler.moved_on(at_fault) for sampler in self.samplers.values())

    def stuck(self, at_fault: dict[tuple[str, int], int]) -> str:
        return "; ".join(f"{group}: {sampler.stuck(at_fault)}" for group, sampler in self.samplers.items())

    def coordinator(self) -> int:
        """The node coordinating the router's group (the busier one); asked again if the observer dies meanwhile."""
        for _attempt in range(3):
            node = self._ask("coordinator", self.router)
            if node is not None:
                return int(node)
        raise AssertionError(f"the observer died three times asking for the coordinator: {self.deaths(0)}")

    def group(self, group: str) -> tuple[str, frozenset[str]]:
        return self._ask("group", group, unknown=("UNKNOWN", frozenset()))

    def stable(self, size: int) -> bool:
        return all((state, len(members)) == ("STABLE", size) for state, members in map(self.group, self.samplers))

    def members(self) -> dict[str, frozenset[str]]:
        return {group: self.group(group)[1] for group in self.samplers}

    def groups(self) -> dict[str, tuple[str, frozenset[str]]]:
        return {group: self.group(group) for group in self.samplers}

    def rejoined(self, before: dict[str, frozenset[str]], size: int) -> bool:
        """Whether each group is stable with `size` members, not those of `before`: a dead worker stays a member
        until its session times out (faust's 60 s), a restarted one joins under a new member id."""
        for group in self.samplers:
            state, members = self.group(group)
            if not (state == "STABLE" and len(members) == size and members != before[group]):
                return False
        return True

    def brokers(self) -> list[int]:
        return self._ask("brokers", unknown=[])

    def under_replicated(self, prefix: str) -> list[tuple[str, int]]:
        """Partitions of this test's topics whose in-sync replicas are fewer than their replicas (unknown while the
        observer is down: not proven otherwise)."""
        return self._ask("under_replicated", prefix, unknown=[("(observer restarting)", -1)])

    def progress(self, topics: list[str]) -> ObservedProgress:
        """The pipeline's progress on `topics` (envgrid.streams.watermark), read in the observer."""
        by_group: dict[str, list[str]] = {}
        for topic in topics:
            by_group.setdefault(reader_group(self.app_id, self.catalogue, topic), []).append(topic)
        return ObservedProgress(self, by_group)


class ObservedProgress:
    """What tests/integration/conservation.drain asks of the pipeline's progress, answered by the observer."""

    def __init__(self, sampler: PipelineSampler, by_group: dict[str, list[str]]) -> None:
        self.sampler, self.by_group = sampler, by_group

    def caught_up(self) -> bool:
        return bool(self.sampler._ask("caught_up", self.by_group, unknown=False))

    def behind(self) -> list[tuple[str, int, int, int]]:
        return self.sampler.clients.call("behind", self.by_group)

    def close(self) -> None:
        """The observer keeps its readers until it closes."""


class PublisherProcess:
    """The traffic, published by a child process (tests/integration/three_broker_clients.Publisher) watched every two
    seconds: when it dies, the next one publishes what the log does not hold yet."""

    def __init__(self, cluster, prefix: str, events: list, log: Path) -> None:
        self.clients = ClientProcess("tests.integration.three_broker_clients:Publisher",
                                     (cluster, prefix, TOPIC_PROFILE, events, RATE), log=log)
        self.status: dict[str, Any] = {"done": False}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="publisher-watch", daemon=True)

    def start(self) -> None:
        self.clients.call("start", False)
        self._thread.start()

    def done(self) -> bool:
        return bool(self.check()["done"])

    def check(self) -> dict[str, Any]:
        """The last status; fails the test if publishing raised."""
        status = self.status
        assert not status.get("error"), f"publishing failed: {status['error']}"
        return status

    def tick_past_held_notices(self) -> None:
        for _attempt in range(3):
            try:
                return self.clients.call("tick_past_held_notices", timeout=180)
            except ChildDied:  # ticks are idempotent: a new publisher sends them again
                continue
        raise AssertionError(f"the publisher died three times sending the ticks: {self.deaths(0)}")

    def deaths(self, t0: float) -> list[dict[str, Any]]:
        return [death.summary(t0) for death in self.clients.deaths]

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.clients.close()

    def _watch(self) -> None:
        resume = False
        while not self.status["done"] and not self._stop.wait(2.0):
            try:
                if resume:  # in a new child: waits for the log to settle, then publishes what it lacks
                    self.clients.call("start", True)
                    resume = False
                self.status = self.clients.call("status")
            except ChildDied:
                resume = True
                if len(self.clients.deaths) > 5:
                    self.status = {"done": True, "error": f"the publisher died {len(self.clients.deaths)} times: "
                                                          f"{self.deaths(0)}"}
            except ChildError as error:
                self.status = {"done": True, "error": f"{error}\n{error.trace}"}
