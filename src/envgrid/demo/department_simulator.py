"""The department simulator (demo, tests and benchmarks; never in production): every department and grid with a
topic of its own, logged in as itself, answering the copies it reads through its own `DepartmentClient`.

One client per unit, with the unit's own credentials (`<var>/credentials/<principal>.properties` of the local
cluster, or `--department-credentials DIR`): each reads its cases topic in its own consumer group
(`<principal prefix>-simulator-<app id>`), plans `envgrid.simulator.departments.respond(copy, seed)` for each copy
and sends each planned notice when the worker's clock reaches its time (the manual clock: at once; the
accelerated clock: scaled), through the client of the unit the notice names, on that unit's own notice topic.
A notice naming a unit with no topic of its own (the simulator's deliberately wrong units) goes out from the
receiving unit's topic with `check=False`, and the pipeline refuses it there as `forged_unit`. Offsets are
committed after a copy's due notices were sent; notices planned for later live in memory only (a simulator may
forget). The clients run in one thread of the worker.

The SLA clock must not judge a deadline that a planned notice could still meet. The simulator reads outside the
pipeline's consumer group, so the ticker asks it (`waiting`, run in the ticker's executor right after the
pipeline's own progress was read): it compares each client's read position with its topic's end offsets asked
of the broker now (`EndOffsets`, not librdkafka's cached watermarks), and waits (up to `patience`) until every
copy up to them is read. Reading and planning a copy happen under one lock, so under that lock a copy is
either unread (the clock is held) or its notices are pending; `waiting` returns the event times of those still
pending or in flight, and of those delivered since the pipeline's read began (which that read may have missed).
A copy written after the end offsets were asked comes from an input the pipeline had not processed at its
read, which holds the clock itself.

Complainants answer too: the feedback channel (`envgrid.demo.feedback_channel`, logged in as `feedback-gateway`)
reads case.feedback in the same thread, and each rating a complainant gives to a result
(`envgrid.simulator.complainants.answer`) is planned and sent like a department's notice, on
notices.complainants. The clock waits for planned ratings, not for feedback the channel has not read yet.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from envgrid import paths
from envgrid.client.client import DepartmentClient
from envgrid.client.errors import ClientError
from envgrid.client.watch import CopyWatcher
from envgrid.connectors.catalogue import Catalogue, CatalogueError
from envgrid.connectors.principals import load_principals
from envgrid.connectors.settings import client_security
from envgrid.demo.feedback_channel import PRINCIPAL as FEEDBACK_CHANNEL
from envgrid.demo.feedback_channel import ComplainantChannel
from envgrid.localcluster.addresses import KAFKA_CONFIG_ENV, ClusterAddresses
from envgrid.localcluster.credentials import directory
from envgrid.simulator.complainants import answer
from envgrid.simulator.departments import respond
from envgrid.streams.app import Runtime
from envgrid.streams.clock import clock_for
from envgrid.streams.watermark import ProgressUnknown

log = logging.getLogger("envgrid.simulator")

SENT_MEMORY_S = 600.0  # how long a delivered notice's time is kept for a ticker whose read began before it


def install_department_simulator(runtime: Runtime, seed: int = 0, credentials: Path | None = None) -> DepartmentSimulator:
    """Log every unit in (SimulatorSetupError if one cannot), start the simulator with the worker, stop it with
    the worker, and make the SLA ticker wait for it."""
    config = runtime.config
    credentials = credentials or directory(paths.var_dir())
    clients = unit_clients(config.cluster, runtime.catalogue, credentials)
    channel = ComplainantChannel(logged_in(config.cluster, FEEDBACK_CHANNEL, credentials), runtime.catalogue, config.app_id)
    simulator = DepartmentSimulator(
        clients, runtime.catalogue, config.app_id, EndOffsets(config.cluster), seed=seed,
        clock=clock_for(config.clock, config.speedup, config.clock_start, config.clock_origin),
        speedup=config.speedup if config.clock == "accelerated" else 1.0,
        until=datetime.fromisoformat(config.clock_until) if config.clock_until else None, channel=channel)
    runtime.waiting_sources.append(simulator.waiting)
    log.warning("department simulator: %d departments and grids logged in, each as itself", len(clients))

    @runtime.app.task
    async def start_department_simulator() -> None:
        simulator.start()

    async def stop_department_simulator(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, simulator.stop)

    runtime.app.on_before_shutdown.connect(stop_department_simulator)
    return simulator


class Clock(Protocol):
    def now(self) -> datetime: ...


EndOffsetsOf = Callable[[Sequence[str]], dict[tuple[str, int], int]]


class SimulatorSetupError(ValueError):
    """The simulator cannot log its units in (no credentials file, a refused login): the message says which."""


@dataclass(order=True)
class _Planned:
    due: float  # monotonic time to send at
    seq: int
    occurred_at: datetime = field(compare=False)
    notice: dict[str, Any] = field(compare=False)
    client: DepartmentClient | ComplainantChannel = field(compare=False)
    check: bool = field(compare=False)


class DepartmentSimulator:
    def __init__(self, clients: Sequence[DepartmentClient], catalogue: Catalogue, group_suffix: str,
                 end_offsets: EndOffsetsOf, *, seed: int = 0, clock: Clock | None = None, speedup: float = 1.0,
                 until: datetime | None = None, channel: ComplainantChannel | None = None) -> None:
        self.clients = list(clients)
        self._channel = channel
        self._end_offsets = end_offsets
        self._catalogue, self._group_suffix, self._seed = catalogue, group_suffix, seed
        self._clock, self._speedup, self._until = clock, speedup, until
        self._by_topic = {client.notice_topic: client for client in self.clients}
        self._watchers: list[tuple[DepartmentClient, CopyWatcher]] = []
        self._lock = threading.Lock()
        self._pending: list[_Planned] = []  # a heap by due time
        self._in_flight: list[_Planned] = []
        self._sent: deque[tuple[float, datetime]] = deque()  # (delivered at, monotonic; event time)
        self._order = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent_count = 0

    def start(self) -> None:
        self._watchers = [(client, client.watcher(f"{client.group_prefix}-simulator-{self._group_suffix}",
                                                  {"queued.max.messages.kbytes": 4096}))  # 30-odd consumers in one process
                          for client in self.clients]
        if self._channel is not None:
            self._channel.start()
        self._thread = threading.Thread(target=self._run, name="department-simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for client, watcher in self._watchers:
            try:
                watcher.close()
            finally:
                client.close()
        if self._channel is not None:
            self._channel.close()

    def waiting(self, since: float, patience: float = 10.0) -> list[datetime]:
        """Event times of the notices the SLA clock must wait for (see the module's doc); blocks until every copy
        up to the topics' end offsets now is read, ProgressUnknown after `patience` seconds."""
        ends = self._end_offsets([client.cases_topic for client in self.clients])  # a partition not assigned yet
        # (or a simulator not started yet) has no read position: it counts as behind
        give_up = time.monotonic() + patience
        while True:
            with self._lock:
                read = {(watcher.topic, partition): offset for _, watcher in self._watchers
                        for partition, offset in watcher.positions().items()}
                behind = [(*tp, read.get(tp), end) for tp, end in ends.items() if read.get(tp, -1) < end]
                if not behind:
                    while self._sent and self._sent[0][0] < since:
                        self._sent.popleft()
                    return [p.occurred_at for p in (*self._pending, *self._in_flight)] + [t for _, t in self._sent]
            if time.monotonic() > give_up:
                raise ProgressUnknown(f"the department simulator has not read every copy yet: {len(behind)} partitions "
                                      f"behind (topic, partition, read up to, end), e.g. {behind[:3]}")
            time.sleep(0.05)

    # --- the thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                read = self._read()
                self._send_due()
                for _, watcher in self._watchers:
                    watcher.commit(asynchronous=True)
                if self._channel is not None:
                    self._channel.commit()
            except ClientError as error:
                log.warning("department simulator: %s", error)
                read = 0
                self._stop.wait(1.0)
            except Exception:
                log.exception("department simulator: unexpected error; carrying on")
                read = 0
                self._stop.wait(1.0)
            if not read:
                self._stop.wait(self._idle_wait())

    def _read(self) -> int:
        """Read every client's new copies and plan their notices, under the lock (see the module's doc)."""
        read = 0
        with self._lock:
            for client, watcher in self._watchers:
                for copy in watcher.poll(timeout=0):
                    self._plan(client, copy.record)
                    watcher.done(copy)
                    read += 1
            if self._channel is not None:
                for feedback in self._channel.poll():
                    rating = answer(feedback.record, seed=self._seed)
                    if rating is not None:
                        self._schedule(rating, self._channel, True, time.monotonic())
                    self._channel.done(feedback)
                    read += 1
        return read

    def _plan(self, receiver: DepartmentClient, copy: dict[str, Any]) -> None:
        now = time.monotonic()
        for planned in respond(copy, seed=self._seed):
            self._schedule(planned.notice, *self._sender(planned.notice, receiver), now)

    def _schedule(self, notice: dict[str, Any], client: DepartmentClient | ComplainantChannel, check: bool,
                  now: float) -> None:
        """Send `notice` when the worker's clock reaches its time (never after the run's end: the clock stops there)."""
        occurred_at: datetime = notice["occurred_at"]
        if self._until is not None and occurred_at > self._until:
            return
        wait = 0.0 if self._clock is None else (occurred_at - self._clock.now()).total_seconds() / self._speedup
        heapq.heappush(self._pending, _Planned(now + max(0.0, wait), next(self._order), occurred_at, notice, client, check))

    def _sender(self, notice: dict[str, Any], receiver: DepartmentClient) -> tuple[DepartmentClient, bool]:
        """The client of the unit the notice names; for a unit with no topic (or no client) of its own, the
        receiving unit's, unchecked: the pipeline refuses it as forged."""
        try:
            client = self._by_topic.get(self._catalogue.notice_topic(notice["unit_kind"], notice["unit_code"]))
        except CatalogueError:
            client = None
        return (client, True) if client is not None else (receiver, False)

    def _send_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            while self._pending and self._pending[0].due <= now:
                self._in_flight.append(heapq.heappop(self._pending))
            due = list(self._in_flight)
        batches: dict[tuple[int, bool], list[_Planned]] = {}
        for planned in due:
            batches.setdefault((id(planned.client), planned.check), []).append(planned)
        try:
            for batch in batches.values():
                try:
                    batch[0].client.send_all([p.notice for p in batch], check=batch[0].check)
                    self.sent_count += len(batch)
                except ClientError as error:  # a simulated department may forget
                    log.warning("department simulator: %d notices of %s not sent: %s", len(batch),
                                batch[0].client.principal.name, error)
        finally:
            delivered = time.monotonic()
            with self._lock:
                done = {id(p) for p in due}
                self._in_flight = [p for p in self._in_flight if id(p) not in done]
                self._sent.extend((delivered, p.occurred_at) for p in due)
                while self._sent and self._sent[0][0] < delivered - SENT_MEMORY_S:
                    self._sent.popleft()

    def _idle_wait(self) -> float:
        with self._lock:
            next_due = self._pending[0].due - time.monotonic() if self._pending else 0.05
        return min(0.05, max(0.0, next_due))


class EndOffsets:
    """The end offsets of topics now, asked of the broker in one request (the worker's own admin client: a
    consumer's connection would queue each question behind its fetch, which waits up to fetch.wait.max.ms)."""

    def __init__(self, cluster: ClusterAddresses, timeout: float = 10.0) -> None:
        self._admin = AdminClient(cluster.kafka_config())
        self._timeout = timeout

    def __call__(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        try:
            metadata = self._admin.list_topics(timeout=self._timeout).topics
            wanted = {TopicPartition(topic, partition): OffsetSpec.latest()
                      for topic in topics for partition in metadata[topic].partitions}
            futures = self._admin.list_offsets(wanted, request_timeout=self._timeout)
            return {(tp.topic, tp.partition): future.result().offset for tp, future in futures.items()}
        except (KafkaException, KeyError) as error:
            raise ProgressUnknown(f"cannot read the end offsets of the units' topics: {error}") from error


def logged_in(cluster: ClusterAddresses, principal: str, credentials: Path) -> ClusterAddresses:
    """The cluster's addresses with `principal`'s own credentials (`credentials/<principal>.properties`); on a
    cluster without authentication, the worker's."""
    if not cluster.security.sasl:
        return cluster
    path = credentials / f"{principal}.properties"
    if not path.is_file():
        raise SimulatorSetupError(
            f"no credentials for {principal}: {path} does not exist. The department simulator logs in as each "
            f"department and grid, and as the feedback channel; give --department-credentials a directory with "
            f"<principal>.properties files (the local cluster's: <var>/credentials)")
    return replace(cluster, security=client_security({KAFKA_CONFIG_ENV: str(path)}))


def unit_clients(cluster: ClusterAddresses, catalogue: Catalogue, credentials: Path) -> list[DepartmentClient]:
    """A logged-in client for every department and grid principal, each with its own credentials file in
    `credentials` (on a cluster without authentication, the worker's addresses with the principal named)."""
    clients = []
    for principal in (*load_principals().of_kind("department"), *load_principals().of_kind("grid")):
        client = DepartmentClient(logged_in(cluster, principal.name, credentials), principal=principal.name, catalogue=catalogue)
        try:
            clients.append(client.login())
        except ClientError as error:
            raise SimulatorSetupError(f"the department simulator cannot log in as {principal.name}: {error}") from None
    return clients
