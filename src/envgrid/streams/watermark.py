"""Where the pipeline's inputs stand: the oldest input each consumer group still has to process.

The SLA ticker (`envgrid.streams.ticker`) and tests on the manual clock ask `InputProgress.waiting()` for the event
times of the first unprocessed record of every input partition that is behind, and let the clock go only
as far as `envgrid.domain.sla.watermark.watermark` allows. "Processed" means committed by the pipeline's consumer
group: faust commits an input only after the outputs it caused were acknowledged, so everything before
the committed offset has had its effect on the case desk's state. Progress is read from outside the
agents (a plain librdkafka client, in a thread), so it covers every worker of the group alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaException, TopicPartition

from envgrid.connectors import records
from envgrid.connectors.log_ends import LogEnds
from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.streams.groups import pipeline_groups, reader_group

Decode = Callable[[bytes, str], tuple[str, dict[str, Any]]]


class ProgressUnknown(RuntimeError):
    """The inputs' progress could not be read (broker unreachable, a record not decodable yet): hold the clock."""


@dataclass
class InputProgress:
    cluster: ClusterAddresses
    group: str
    topics: list[str]
    decode: Decode
    client_settings: dict[str, Any] = field(default_factory=dict)
    _committed: Consumer | None = field(default=None, init=False, repr=False)
    _reader: Consumer | None = field(default=None, init=False, repr=False)
    _ends: LogEnds | None = field(default=None, init=False, repr=False)

    def waiting(self, timeout: float = 10.0, patience: float = 0.0) -> list[datetime]:
        """Event times of the first unprocessed record of each input partition that is behind; tried again
        for up to `patience` seconds while the progress is unknown (e.g. the group coordinator is loading)."""
        give_up = time.monotonic() + patience
        while True:
            try:
                behind = self._behind(timeout)
                return self._first_event_times(behind, timeout) if behind else []
            except ProgressUnknown:
                if time.monotonic() >= give_up:
                    raise
                time.sleep(0.5)

    def caught_up(self, timeout: float = 10.0) -> bool:
        """Whether the group has processed (committed) everything of its topics (False while unknown)."""
        try:
            return not self._behind(timeout)
        except ProgressUnknown:
            return False

    def close(self) -> None:
        for client in (self._committed, self._reader):
            if client is not None:
                client.close()
        self._committed = self._reader = self._ends = None

    def behind(self, timeout: float = 10.0) -> list[tuple[str, int, int, int]]:
        """(topic, partition, processed up to, end offset) of every input partition the group is behind on."""
        return [(tp.topic, tp.partition, tp.offset, end) for tp, end in self._positions(timeout) if tp.offset < end]

    def _behind(self, timeout: float) -> list[TopicPartition]:
        return [tp for tp, end in self._positions(timeout) if tp.offset < end]

    def _positions(self, timeout: float) -> list[tuple[TopicPartition, int]]:
        """Every input partition with the group's position in it (committed, else its start) and its end."""
        consumer = self._committed_client()
        try:
            metadata = consumer.list_topics(timeout=timeout).topics
            partitions = [TopicPartition(t, p) for t in self.topics for p in metadata[t].partitions]
            committed = consumer.committed(partitions, timeout=timeout)
            ends = self._log_ends().of(committed, timeout)
            positions = []
            for tp in committed:
                low, high = ends[(tp.topic, tp.partition)]
                position = low if tp.offset in (OFFSET_INVALID, -1) or tp.offset < low else tp.offset
                positions.append((TopicPartition(tp.topic, tp.partition, position), high))
            return positions
        except (KafkaException, KeyError) as error:
            raise ProgressUnknown(f"cannot read the progress of group {self.group}: {error}") from error

    def _first_event_times(self, behind: list[TopicPartition], timeout: float) -> list[datetime]:
        reader = self._reader_client()
        reader.assign(behind)
        reader.resume(behind)  # librdkafka keeps a partition paused across assignments
        remaining = {(tp.topic, tp.partition) for tp in behind}
        times: list[datetime] = []
        deadline = time.monotonic() + timeout
        try:
            while remaining and time.monotonic() < deadline:
                for message in reader.consume(len(remaining), timeout=0.5):
                    key = (message.topic(), message.partition())
                    if message.error() or key not in remaining:
                        continue
                    remaining.discard(key)
                    topic = message.topic()
                    assert topic is not None  # a record without error names its topic
                    event_time = self._event_time(message.value(), topic)
                    if event_time is not None:
                        times.append(event_time)
                    reader.pause([TopicPartition(*key)])
        finally:
            reader.unassign()
        if remaining:
            raise ProgressUnknown(f"could not read the first waiting record of {sorted(remaining)}")
        return times

    def _event_time(self, value: bytes | None, topic: str) -> datetime | None:
        if value is None:
            return None
        try:
            event_name, record = self.decode(value, topic)
        except Exception as error:
            raise ProgressUnknown(f"first waiting record of {topic} is not decodable yet: {error}") from error
        return records.event_time_of(event_name, record)

    def _committed_client(self) -> Consumer:
        if self._committed is None:
            self._committed = Consumer(self.cluster.kafka_config(
                {**self.client_settings, "group.id": self.group, "enable.auto.commit": False}))
        return self._committed

    def _log_ends(self) -> LogEnds:
        """Never the consumer's watermark query: it aborted the process while a node was down (librdkafka#5160),
        and the ticker asks every tick (envgrid.connectors.log_ends)."""
        if self._ends is None:
            self._ends = LogEnds(self.cluster.kafka_config(self.client_settings))
        return self._ends

    def _reader_client(self) -> Consumer:
        if self._reader is None:
            self._reader = Consumer(self.cluster.kafka_config(
                {**self.client_settings, "group.id": f"{self.group}-progress-reader", "enable.auto.commit": False,
                 "enable.partition.eof": False}))
        return self._reader


@dataclass
class PipelineProgress:
    """The progress of several groups (the router's and the case desk's) read as one: what is waiting in any."""

    parts: list[InputProgress]

    def waiting(self, timeout: float = 10.0, patience: float = 0.0) -> list[datetime]:
        return [t for part in self.parts for t in part.waiting(timeout, patience)]

    def caught_up(self, timeout: float = 10.0) -> bool:
        return all(part.caught_up(timeout) for part in self.parts)

    def behind(self, timeout: float = 10.0) -> list[tuple[str, int, int, int]]:
        return [entry for part in self.parts for entry in part.behind(timeout)]

    def close(self) -> None:
        for part in self.parts:
            part.close()


def pipeline_progress(cluster: ClusterAddresses, app_id: str, catalogue: Any, decode: Decode,
                      client_settings: dict[str, Any] | None = None) -> PipelineProgress:
    """The progress of every pipeline input that can still change a case (`envgrid.streams.groups`)."""
    return PipelineProgress([InputProgress(cluster, group, topics, decode, dict(client_settings or {}))
                             for group, topics in pipeline_groups(app_id, catalogue).items()])


def progress_of(cluster: ClusterAddresses, app_id: str, catalogue: Any, topics: list[str], decode: Decode,
                client_settings: dict[str, Any] | None = None) -> PipelineProgress:
    """The pipeline's progress on `topics`, each read in the group that consumes it."""
    by_group: dict[str, list[str]] = {}
    for topic in topics:
        by_group.setdefault(reader_group(app_id, catalogue, topic), []).append(topic)
    return PipelineProgress([InputProgress(cluster, group, group_topics, decode, dict(client_settings or {}))
                             for group, group_topics in by_group.items()])
