"""Consumer lag arithmetic and the collector's behaviour, in memory (a fake admin client and a fake consumer of
the group)."""

from __future__ import annotations

import ast
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec
from prometheus_client import REGISTRY

from envgrid.streams.lag import LagCollector, committed_offsets, compute_lag, export_lag, fetch_lag, log_offsets

REPO = Path(__file__).resolve().parents[2]

OFFSET_INVALID = -1001


def test_lag_is_end_minus_committed():
    assert compute_lag({("t", 0): 4, ("t", 1): 10}, {("t", 0): 10, ("t", 1): 10}) == {("t", 0): 6, ("t", 1): 0}


def test_no_commit_counts_the_whole_log():
    assert compute_lag({("t", 0): OFFSET_INVALID}, {("t", 0): 7}) == {("t", 0): 7}


def test_lag_is_capped_by_retention():
    # committed 2 but the log now starts at 5: only 5..9 can still be read
    assert compute_lag({("t", 0): 2}, {("t", 0): 10}, start={("t", 0): 5}) == {("t", 0): 5}
    assert compute_lag({("t", 0): OFFSET_INVALID}, {("t", 0): 10}, start={("t", 0): 5}) == {("t", 0): 5}


def test_lag_is_never_negative():
    # a commit can briefly be ahead of a stale end offset
    assert compute_lag({("t", 0): 12}, {("t", 0): 10}) == {("t", 0): 0}


def test_unknown_partitions_are_left_out():
    assert compute_lag({("t", 0): 1}, {("u", 0): 3}) == {}
    assert compute_lag({}, {("t", 0): 3}) == {}


class _Answer:
    def __init__(self, offset):
        self.offset = offset


class _Metadata:
    def __init__(self, partitions):
        self.topics = {}
        for topic, partition in partitions:
            self.topics.setdefault(topic, _Topic()).partitions[partition] = object()


class _Topic:
    def __init__(self):
        self.partitions = {}


def _done(value):
    f: Future = Future()
    f.set_result(value)
    return f


class FakeAdmin:
    """Answers like AdminClient.list_offsets: end offsets per partition (start 0). It has no
    list_consumer_group_offsets: that call kills the process with SIGSEGV on a coordinator error
    (confluent-kafka-python#1982), so the collector must never make it."""

    def __init__(self, end):
        self.end = end

    def list_offsets(self, request, **kwargs):
        latest = "Latest" in type(next(iter(request.values()))).__name__
        return {tp: _done(_Answer(self.end[(tp.topic, tp.partition)] if latest else 0)) for tp in request}

    def list_consumer_group_offsets(self, *args, **kwargs):
        raise AssertionError("AdminClient.list_consumer_group_offsets crashes librdkafka on coordinator errors")


class FakeReader:
    """Answers like a Consumer of one group: the topics it can see, the group's committed offsets
    (OFFSET_INVALID where it committed nothing)."""

    def __init__(self, group, committed, topics, fail=False):
        self.group, self.committed_offsets, self.topics, self.fail = group, committed, topics, fail
        self.calls = 0
        self.closed = False

    def list_topics(self, topic=None, timeout=-1):
        self.calls += 1
        if self.fail:
            raise KafkaException("broker down")
        return _Metadata(self.topics)

    def committed(self, partitions, timeout=-1):
        return [TopicPartition(tp.topic, tp.partition,
                               self.committed_offsets.get((self.group, tp.topic, tp.partition), OFFSET_INVALID))
                for tp in partitions]

    def close(self):
        self.closed = True


def collector_of(group, committed, end, fail=False, **kwargs):
    """A collector of `group` over fakes: the reader sees the topics of `end` and the broker's own topic."""
    reader = FakeReader(group, committed, [*end, ("__consumer_offsets", 0)], fail)
    return LagCollector([group], admin=FakeAdmin(end), readers=lambda g: reader, **kwargs), reader


def gauge(group, topic, partition):
    return REGISTRY.get_sample_value("envgrid_consumer_lag_messages",
                                     {"group": group, "topic": topic, "partition": str(partition)})


def test_collector_sets_and_clears_the_gauge():
    committed = {("g-unit", "t", 0): 4, ("g-unit", "t", 1): 9, ("other", "t", 2): 1}
    collector, reader = collector_of("g-unit", committed, {("t", 0): 10, ("t", 1): 10, ("t", 2): 10})
    # t[2]: the group committed nothing there (another group did): not its partition, no lag reported
    assert collector.collect_once() == {"g-unit": {("t", 0): 6, ("t", 1): 1}}
    assert gauge("g-unit", "t", 0) == 6 and gauge("g-unit", "t", 1) == 1
    assert collector.total_lag("g-unit") == 7
    del committed[("g-unit", "t", 1)]  # offsets expired: the stale series goes away
    collector.collect_once()
    assert gauge("g-unit", "t", 1) is None
    assert collector.last("g-unit") == {("t", 0): 6}
    collector.stop()
    assert reader.closed


def test_named_topics_count_a_partition_without_commits_as_its_whole_log():
    committed = {("g-topics", "t", 0): 4}
    collector, _reader = collector_of("g-topics", committed, {("t", 0): 10, ("t", 1): 3, ("u", 0): 5},
                                      topics=["t"])
    assert collector.collect_once() == {"g-topics": {("t", 0): 6, ("t", 1): 3}}


def test_an_unknown_topic_is_an_error_not_zero_lag():
    collector, _reader = collector_of("g-unknown", {}, {("t", 0): 10}, topics=["nope"])
    with pytest.raises(KafkaException, match="nope"):
        collector.total_lag("g-unknown")


def test_committed_offsets_come_from_a_consumer_of_the_group_not_the_admin_client():
    reader = FakeReader("g", {("g", "t", 0): 2}, [("t", 0), ("__consumer_offsets", 0)])
    assert committed_offsets(reader) == {("t", 0): 2}
    assert fetch_lag(FakeAdmin({("t", 0): 5}), reader) == {("t", 0): 3}


def test_no_code_of_the_project_lists_group_offsets_with_the_admin_client():
    """AdminClient.list_consumer_group_offsets kills the whole process (SIGSEGV) when the broker answers with a
    coordinator error (confluent-kafka-python#1982, librdkafka#5040): committed offsets are read by a Consumer
    of the group (envgrid.streams.lag.committed_offsets). Only this test's fake may define the name."""
    calls = []
    for root in ("src", "tests", "bench", "scripts"):
        for path in (REPO / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute) and node.attr == "list_consumer_group_offsets":
                    calls.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert calls == []


def test_broker_errors_are_counted_and_do_not_kill_the_thread():
    errors_before = REGISTRY.get_sample_value("envgrid_lag_collection_errors_total", {"group": "g-down"}) or 0
    collector, reader = collector_of("g-down", {}, {}, fail=True, interval=0.01)
    assert collector.collect_once() == {}
    collector.start()
    try:
        deadline = threading.Event()
        for _ in range(200):
            if reader.calls >= 4:
                break
            deadline.wait(0.01)
        assert collector.running
    finally:
        collector.stop(timeout=2)
    assert not collector.running
    assert reader.calls >= 4
    errors = REGISTRY.get_sample_value("envgrid_lag_collection_errors_total", {"group": "g-down"})
    assert errors - errors_before >= 4


def test_collector_needs_a_group_and_a_positive_interval():
    with pytest.raises(ValueError):
        LagCollector([], admin=FakeAdmin({}))
    with pytest.raises(ValueError):
        LagCollector(["g"], admin=FakeAdmin({}), interval=0)


def test_a_partition_given_up_stops_being_reported():
    """After a rebalance the new owner reports the partition; the old owner's last value must go, or a sum
    over workers counts it twice and a stale lag keeps an alert firing."""
    exported = export_lag("g-rebalance", {("t", 0): 5, ("t", 1): 7}, set())
    assert REGISTRY.get_sample_value("envgrid_consumer_lag_messages",
                                     {"group": "g-rebalance", "topic": "t", "partition": "1"}) == 7
    exported = export_lag("g-rebalance", {("t", 0): 3}, exported)
    assert exported == {("t", 0)}
    assert REGISTRY.get_sample_value("envgrid_consumer_lag_messages",
                                     {"group": "g-rebalance", "topic": "t", "partition": "0"}) == 3
    assert REGISTRY.get_sample_value("envgrid_consumer_lag_messages",
                                     {"group": "g-rebalance", "topic": "t", "partition": "1"}) is None


def test_a_partition_whose_end_does_not_come_is_left_out():
    """After a node is lost librdkafka's admin client was seen not to answer ListOffsets for a minute or more: the
    partitions that do answer are reported, the others left out (their lag unknown, not made up)."""

    class SlowAdmin:
        def list_offsets(self, request, **kwargs):
            return {tp: _done(_Answer(9)) if tp.partition == 0 else Future() for tp in request}

    assert log_offsets(SlowAdmin(), [("t", 0), ("t", 1)], OffsetSpec.latest(), timeout=0.01) == {("t", 0): 9}
