"""Consumer lag arithmetic and the collector's behaviour, in memory (fake admin client)."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
from confluent_kafka import KafkaException
from prometheus_client import REGISTRY

from envgrid.streams.lag import LagCollector, compute_lag, export_lag

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


class _TP:
    def __init__(self, topic, partition, offset):
        self.topic, self.partition, self.offset, self.error = topic, partition, offset, None


class _Group:
    def __init__(self, tps):
        self.topic_partitions = tps


def _done(value):
    f: Future = Future()
    f.set_result(value)
    return f


class FakeAdmin:
    """Answers like AdminClient: committed offsets per group, end offsets per partition."""

    def __init__(self, committed, end, fail=False):
        self.committed, self.end, self.fail = committed, end, fail
        self.calls = 0

    def list_consumer_group_offsets(self, requests, **kwargs):
        self.calls += 1
        if self.fail:
            raise KafkaException("broker down")
        group = requests[0].group_id
        tps = [_TP(t, p, o) for (g, t, p), o in self.committed.items() if g == group]
        return {group: _done(_Group(tps))}

    def list_offsets(self, request, **kwargs):
        latest = "Latest" in type(next(iter(request.values()))).__name__
        return {tp: _done(_Answer(self.end[(tp.topic, tp.partition)] if latest else 0)) for tp in request}


def gauge(group, topic, partition):
    return REGISTRY.get_sample_value("envgrid_consumer_lag_messages",
                                     {"group": group, "topic": topic, "partition": str(partition)})


def test_collector_sets_and_clears_the_gauge():
    admin = FakeAdmin({("g-unit", "t", 0): 4, ("g-unit", "t", 1): 9}, {("t", 0): 10, ("t", 1): 10})
    collector = LagCollector(["g-unit"], admin=admin, interval=60)
    assert collector.collect_once() == {"g-unit": {("t", 0): 6, ("t", 1): 1}}
    assert gauge("g-unit", "t", 0) == 6 and gauge("g-unit", "t", 1) == 1
    assert collector.total_lag("g-unit") == 7
    del admin.committed[("g-unit", "t", 1)]  # offsets expired: the stale series goes away
    collector.collect_once()
    assert gauge("g-unit", "t", 1) is None
    assert collector.last("g-unit") == {("t", 0): 6}


def test_broker_errors_are_counted_and_do_not_kill_the_thread():
    admin = FakeAdmin({}, {}, fail=True)
    errors_before = REGISTRY.get_sample_value("envgrid_lag_collection_errors_total", {"group": "g-down"}) or 0
    collector = LagCollector(["g-down"], admin=admin, interval=0.01)
    assert collector.collect_once() == {}
    collector.start()
    try:
        deadline = threading.Event()
        for _ in range(200):
            if admin.calls >= 4:
                break
            deadline.wait(0.01)
        assert collector.running
    finally:
        collector.stop(timeout=2)
    assert not collector.running
    assert admin.calls >= 4
    errors = REGISTRY.get_sample_value("envgrid_lag_collection_errors_total", {"group": "g-down"})
    assert errors - errors_before >= 4


def test_collector_needs_a_group_and_a_positive_interval():
    with pytest.raises(ValueError):
        LagCollector([], admin=FakeAdmin({}, {}))
    with pytest.raises(ValueError):
        LagCollector(["g"], admin=FakeAdmin({}, {}), interval=0)


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
