"""The watcher's bookkeeping without a broker (librdkafka's consumer replaced by a list): what it delivers, what
it commits and when, what it drops, and what it does when the registry does not answer."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import TopicPartition

from envgrid.client import watch
from envgrid.client.errors import BrokerRefused, Reason
from envgrid.client.watch import CopyWatcher
from envgrid.connectors.serde import UndecodableRecord

TOPIC = "t.dept.epb.cases"


class Message:
    def __init__(self, partition: int, offset: int, value: bytes) -> None:
        self._partition, self._offset, self._value = partition, offset, value

    def error(self) -> None:
        return None

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def topic(self) -> str:
        return TOPIC


class FakeConsumer:
    """One topic's partitions as lists of values; a group's committed offsets shared between instances."""

    log: dict[int, list[bytes]] = {}
    committed_offsets: dict[int, int] = {}

    def __init__(self, config: dict[str, Any]) -> None:
        self.position: dict[int, int] = {}
        self.on_assign = None
        self.commits: list[list[tuple[int, int]]] = []

    def list_topics(self, topic: str, timeout: float) -> Any:
        metadata = type("T", (), {"partitions": {p: None for p in self.log}, "error": None})
        return type("M", (), {"topics": {topic: metadata}})

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.committed_offsets.get(tp.partition, -1001)) for tp in partitions]

    def subscribe(self, topics: list[str], on_assign: Any, on_revoke: Any) -> None:
        self.on_assign = on_assign

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.position = {tp.partition: tp.offset for tp in partitions}

    def unassign(self) -> None:
        self.position = {}

    def consume(self, count: int, timeout: float) -> list[Message]:
        if self.on_assign is not None and not self.position:
            assigned = [TopicPartition(TOPIC, p) for p in self.log]
            self.on_assign(self, assigned)
            self.position = {tp.partition: max(self.committed_offsets.get(tp.partition, 0), 0) for tp in assigned}
        messages = []
        for partition, offset in self.position.items():
            messages += [Message(partition, o, v) for o, v in enumerate(self.log[partition]) if o >= offset]
            self.position[partition] = len(self.log[partition])
        return messages[:count]

    def seek(self, tp: TopicPartition) -> None:
        self.position[tp.partition] = tp.offset

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.commits.append([(tp.partition, tp.offset) for tp in offsets])
        self.committed_offsets.update({tp.partition: tp.offset for tp in offsets})

    def close(self) -> None:
        pass


class FakeLogEnds:
    """envgrid.connectors.log_ends.LogEnds over the same lists: every log starts at 0."""

    def __init__(self, config: dict[str, Any]) -> None:
        pass

    def of(self, partitions: list[TopicPartition], timeout: float) -> dict[tuple[str, int], tuple[int, int]]:
        return {(tp.topic, tp.partition): (0, len(FakeConsumer.log[tp.partition])) for tp in partitions}


def decode(value: bytes, topic: str) -> tuple[str, dict[str, Any]]:
    if value == b"bad":
        raise UndecodableRecord("avro_decode_error", topic, "broken")
    if value == b"registry down":
        raise ConnectionError("registry timed out")
    return "CaseDispatched", {"event_id": value.decode()}


@pytest.fixture
def topic(monkeypatch):
    monkeypatch.setattr(watch, "Consumer", FakeConsumer)
    monkeypatch.setattr(watch, "LogEnds", FakeLogEnds)
    FakeConsumer.log = {0: [], 1: []}
    FakeConsumer.committed_offsets = {}
    return FakeConsumer.log


def _watcher() -> CopyWatcher:
    return CopyWatcher({}, TOPIC, "dept-epb-desk", decode)


def test_copies_come_in_partition_order_and_only_what_was_handled_is_committed(topic):
    topic[0] += [b"a", b"b", b"c"]
    topic[1] += [b"x"]
    watcher = _watcher()
    copies = watcher.poll()
    assert [(c.partition, c.offset, c.record["event_id"]) for c in copies] == [(0, 0, "a"), (0, 1, "b"), (0, 2, "c"),
                                                                               (1, 0, "x")]
    watcher.done(copies[0])
    watcher.done(copies[2])  # c handled before b: c may not be committed yet
    watcher.commit()
    assert watcher.positions() == {0: 1, 1: 0} and FakeConsumer.committed_offsets == {0: 1}
    watcher.done(copies[1])
    watcher.done(copies[3])
    watcher.commit()
    assert watcher.positions() == {0: 3, 1: 1} and FakeConsumer.committed_offsets == {0: 3, 1: 1}
    watcher.commit()  # nothing new: no commit
    assert len(watcher._consumer.commits) == 2


def test_a_copy_read_twice_and_an_undecodable_record_are_skipped_without_handling(topic):
    topic[0] += [b"a", b"bad", b"a", b"b"]
    watcher = _watcher()
    copies = watcher.poll()
    assert [c.record["event_id"] for c in copies] == ["a", "b"]
    watcher.done(copies[0])
    assert watcher.positions()[0] == 3  # past the undecodable record and the repeat, not past b
    watcher.done(copies[1])
    assert watcher.positions()[0] == 4


def test_after_a_restart_nothing_committed_comes_again_and_a_copy_sent_again_is_dropped(topic):
    topic[0] += [b"a", b"b"]
    first = _watcher()
    for copy in first.poll():
        first.done(copy)
    first.close()
    topic[0] += [b"a", b"c"]  # the pipeline sends a again, then a new copy
    second = _watcher()  # reads back what came before its committed offsets, remembers their event ids
    assert [c.record["event_id"] for c in second.poll()] == ["c"]


def test_when_the_registry_does_not_answer_nothing_is_delivered_and_the_batch_is_read_again(topic):
    topic[0] += [b"a", b"registry down"]
    watcher = _watcher()
    with pytest.raises(BrokerRefused) as refused:
        watcher.poll()
    assert refused.value.reason is Reason.REGISTRY and "try again" in str(refused.value)
    assert watcher._consumer.position[0] == 0  # put back to the batch's first record
    topic[0][1] = b"b"  # the registry answers again (here: the record decodes)
    assert [c.record["event_id"] for c in watcher.poll()] == ["a", "b"]
