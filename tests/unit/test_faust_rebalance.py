"""The corrections of envgrid.streams.faust_rebalance, against faust's and aiokafka's own code where it decides (no
broker): aiokafka's fetcher reads an empty set of partitions as every partition, faust's consumer thread handed it
faust's live set (emptied by recovery before the thread ran the call), and aiokafka's seek to the committed offsets
leaves a partition without one where it is. tests/integration/test_restarted_worker.py shows the stall they caused."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace

import pytest
from aiokafka.consumer.fetcher import Fetcher, FetchResult
from aiokafka.structs import TopicPartition
from faust.tables.recovery import Recovery
from faust.transport.drivers import aiokafka as faust_aiokafka

from envgrid.streams import faust_rebalance
from envgrid.streams.faust_rebalance import (
    ORIGINALS,
    fetch_from_active,
    install_rebalance_corrections,
    seek_to_committed_or_start,
    stop_flow_until_resumed,
)

TICKS = TopicPartition("internal.sla-ticks", 0)
CHANGELOG = TopicPartition("app-sla-cursors-changelog", 0)


def run(coroutine):
    return asyncio.run(coroutine)


class _Records:
    """What aiokafka's PartitionRecords offers FetchResult: the records, and the offset after the last one handed out
    (the fetch offset before any)."""

    def __init__(self, offsets):
        self.offsets, self.next_fetch_offset = offsets, offsets[0]

    def __iter__(self):
        for offset in self.offsets:
            self.next_fetch_offset = offset + 1
            yield SimpleNamespace(offset=offset)


class _Position:
    def __init__(self, position):
        self.paused, self.position = False, position

    def consumed_to(self, offset):
        self.position = offset


class _Assignment:
    active = True

    def __init__(self):
        self.states = {}

    def state_value(self, tp):
        return self.states[tp]


def buffered_fetcher(buffered):
    """aiokafka's Fetcher with records in its buffer (tp -> offsets), fetched but not yet handed out."""
    fetcher = Fetcher.__new__(Fetcher)
    assignment = _Assignment()
    fetcher._records = {}
    for tp, offsets in buffered.items():
        records = _Records(offsets)
        assignment.states[tp] = _Position(offsets[0])  # the position: where the buffered records start
        fetcher._records[tp] = FetchResult(tp, assignment=assignment, partition_records=records, backoff=0)
    fetcher._subscriptions = SimpleNamespace(reassignment_in_progress=False, is_assigned=lambda tp: True,
                                             fetch_context=contextlib.nullcontext)
    fetcher._wait_consume_future = None
    fetcher._closed = False
    fetcher.positions = assignment.states
    return fetcher


def consumer_thread(fetcher):
    """What AIOKafkaConsumerThread._fetch_records uses of the thread and of aiokafka's consumer."""
    thread = SimpleNamespace(consumer=SimpleNamespace(flow_active=True))
    return thread, SimpleNamespace(_fetcher=fetcher, _closed=False)


@pytest.fixture(scope="module", autouse=True)
def corrections():
    install_rebalance_corrections()


def test_aiokafka_hands_out_every_partition_for_an_empty_set():
    """Why faust asks for records only while some partition is active: aiokafka takes an empty set as no filter."""
    fetcher = buffered_fetcher({TICKS: [0]})
    assert run(fetcher.fetched_records(set(), timeout=0)) == {TICKS: [SimpleNamespace(offset=0)]}
    assert fetcher.positions[TICKS].position == 1  # handed out: the next fetch starts after it


def test_faust_handed_the_set_emptied_by_recovery_to_aiokafka():
    """faust checks its live set of active partitions in its own thread and hands the set itself to the consumer
    thread, which runs the call later; recovery had emptied it by then ("Done reading from changelog topics"): the
    ticks waiting in the buffer came out, and faust dropped them (their partition was not active)."""
    fetcher = buffered_fetcher({TICKS: [0]})
    thread, consumer = consumer_thread(fetcher)
    active = {CHANGELOG}  # what faust checked: a changelog being read
    active.clear()  # what recovery did before the consumer thread ran the call
    handed_out = run(ORIGINALS["_fetch_records"](thread, consumer, active, timeout=0))
    assert list(handed_out) == [TICKS] and fetcher.positions[TICKS].position == 1


def test_the_consumer_thread_fetches_nothing_when_no_partition_is_active():
    fetcher = buffered_fetcher({TICKS: [0]})
    thread, consumer = consumer_thread(fetcher)
    active = {CHANGELOG}
    active.clear()
    assert run(faust_aiokafka.AIOKafkaConsumerThread._fetch_records(thread, consumer, active, timeout=0)) == {}
    assert fetcher.positions[TICKS].position == 0 and TICKS in fetcher._records  # still waiting, to be handed out


def test_the_consumer_thread_fetches_from_the_partitions_active_when_it_runs():
    fetcher = buffered_fetcher({TICKS: [0, 1], CHANGELOG: [7]})
    thread, consumer = consumer_thread(fetcher)
    handed_out = run(faust_aiokafka.AIOKafkaConsumerThread._fetch_records(thread, consumer, {CHANGELOG}, timeout=0))
    assert list(handed_out) == [CHANGELOG]
    assert TICKS in fetcher._records


def test_fetch_from_active_copies_the_set_and_keeps_none_for_a_client():
    asked = []

    async def fetch(partitions):
        asked.append(partitions)
        return {}

    live = {TICKS}
    run(fetch_from_active(fetch, live))
    live.clear()
    run(fetch_from_active(fetch, live))
    run(fetch_from_active(fetch, None))
    assert asked == [frozenset({TICKS}), None]


class _Consumer:
    """aiokafka's consumer as seek_to_committed_or_start uses it: its own seek_to_committed answers the committed
    offsets (None where there is none) and seeks only those above 0, as aiokafka does."""

    def __init__(self, committed):
        self._committed, self.sought, self.to_beginning = committed, {}, []

    async def seek_to_committed(self):
        self.sought = {tp: offset for tp, offset in self._committed.items() if offset and offset > 0}
        return dict(self._committed)

    async def seek_to_beginning(self, *partitions):
        self.to_beginning.extend(partitions)


def test_inputs_without_a_committed_offset_are_sought_to_their_beginning():
    committed = {TopicPartition("notices", 0): None, TopicPartition("notices", 1): 0, TICKS: 12, CHANGELOG: None}
    consumer = _Consumer(committed)
    answer = run(seek_to_committed_or_start(consumer, lambda tp: not tp.topic.endswith("-changelog")))
    assert answer == committed
    assert consumer.sought == {TICKS: 12}
    assert consumer.to_beginning == [TopicPartition("notices", 0), TopicPartition("notices", 1)]


def test_the_latest_reset_policy_keeps_aiokafkas_seek():
    consumer = _Consumer({TopicPartition("notices", 0): None})
    run(seek_to_committed_or_start(consumer, lambda tp: True, reset="latest"))
    assert consumer.to_beginning == []


def test_recovery_stops_the_flow_before_it_resumes_the_inputs_and_seeks():
    """faust resumed the flow early in recovery (to read the changelogs), so records of the inputs reached the
    agents' queues while recovery sought them, and `app.flow_control.resume()` then emptied the queues."""
    steps = []
    consumer = SimpleNamespace(stop_flow=lambda: steps.append("stop flow"))

    async def complete():
        steps.append("resume inputs, seek, resume flow")

    run(stop_flow_until_resumed(consumer, complete))
    assert steps == ["stop flow", "resume inputs, seek, resume flow"]


def test_the_corrections_are_installed_once_in_faust():
    install_rebalance_corrections()
    assert faust_aiokafka.AIOKafkaConsumerThread._fetch_records is not ORIGINALS["_fetch_records"]
    assert faust_aiokafka.AIOKafkaConsumerThread.seek_to_committed is not ORIGINALS["seek_to_committed"]
    assert Recovery.on_recovery_completed is not ORIGINALS["on_recovery_completed"]
    assert faust_rebalance.ORIGINALS["_fetch_records"].__qualname__ == "AIOKafkaConsumerThread._fetch_records"
