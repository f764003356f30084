"""Where each partition's log starts and ends (its low and high watermarks), asked with the Admin API's ListOffsets,
never with `Consumer.get_watermark_offsets` uncached.

librdkafka's query_watermark_offsets, behind `get_watermark_offsets()` without `cached=True`, aborts the whole
process (SIGABRT, an assertion on one of its locks) when it runs while a node of the cluster is down
(librdkafka#5160): the SLA ticker asks for its inputs' ends every tick and the router for its changelog's on every
assignment, so one lost node could end every worker at once. The admin client's ListOffsets takes another path
(the admin worker looks the leaders up and sends one request per leader) and gives a request timeout of its own.
It was seen not to answer for a minute or more right after a node was lost: callers get a KafkaException
(`_TIMED_OUT`) then, as they did from the watermark query, and ask again later.

Every reader of log ends in envgrid goes through this module: `LogEnds` for (low, high) of partitions (strict: a
partition without an answer is an error), `list_offsets` for one OffsetSpec, per partition an offset or its error
(`envgrid.streams.lag` leaves those partitions out of a lag sample).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from confluent_kafka import IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

__all__ = ["LogEnds", "Partition", "list_offsets"]

Partition = tuple[str, int]  # (topic, partition)
RETRY_S = 0.25  # between two questions about partitions whose leader was moving
PASSING = frozenset({KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.FENCED_LEADER_EPOCH,
                     KafkaError.UNKNOWN_LEADER_EPOCH, KafkaError.OFFSET_NOT_AVAILABLE, KafkaError.REQUEST_TIMED_OUT,
                     KafkaError.NOT_ENOUGH_REPLICAS, KafkaError._TRANSPORT, KafkaError.BROKER_NOT_AVAILABLE})


class LogEnds:
    """(low, high) watermarks of partitions, asked through one AdminClient made on first use from `config` (the
    cluster's librdkafka settings, e.g. `ClusterAddresses.kafka_config()`; no consumer settings such as group.id).
    `admin` reuses a client the caller already has."""

    def __init__(self, config: Mapping[str, Any] | None = None, admin: AdminClient | None = None) -> None:
        if config is None and admin is None:
            raise ValueError("LogEnds needs the cluster's client settings or an AdminClient")
        self._config = dict(config or {})
        self._admin = admin

    def of(self, partitions: Iterable[Partition | TopicPartition], timeout: float = 10.0,
           isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED) -> dict[Partition, tuple[int, int]]:
        """(log start, high watermark) of every partition, both asked at once, in at most about `timeout` seconds;
        a partition whose leader is moving is asked again until then. Raises KafkaException when the broker cannot
        answer for one of them (its error: an unknown topic, still no leader; KafkaError._TIMED_OUT when nothing came
        in time), like get_watermark_offsets."""
        left = list(dict.fromkeys(_partition(p) for p in partitions))
        if not left:
            return {}
        deadline = time.monotonic() + timeout
        admin = self.admin()
        found: dict[Partition, tuple[int, int]] = {}
        while left:
            # The watermark query retried a moving leader within its timeout; ListOffsets hands the error back
            # (LEADER_NOT_AVAILABLE while a restarted node takes its partitions back): ask again until the deadline.
            budget = max(deadline - time.monotonic(), 0.1)
            low = _ask(admin, left, OffsetSpec.earliest(), budget, isolation_level)
            high = _ask(admin, left, OffsetSpec.latest(), budget, isolation_level)
            again: list[Partition] = []
            for tp in left:
                try:
                    found[tp] = (_result(low[tp], tp, deadline), _result(high[tp], tp, deadline))
                except KafkaException as error:
                    if not _passing(error) or time.monotonic() + RETRY_S >= deadline:
                        raise
                    again.append(tp)
            if again:
                time.sleep(RETRY_S)
            left = again
        return found

    def one(self, topic: str, partition: int, timeout: float = 10.0) -> tuple[int, int]:
        """(log start, high watermark) of one partition: `get_watermark_offsets(TopicPartition(topic, partition))`."""
        return self.of([(topic, partition)], timeout)[(topic, partition)]

    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(self._config)
        return self._admin


def list_offsets(admin: AdminClient, partitions: Iterable[Partition | TopicPartition], spec: OffsetSpec,
                 timeout: float = 10.0, isolation_level: IsolationLevel = IsolationLevel.READ_UNCOMMITTED
                 ) -> dict[Partition, int | KafkaException]:
    """The offset `spec` names (OffsetSpec.latest(): the log end; .earliest(): its start) of each partition, or the
    KafkaException that stands for it (KafkaError._TIMED_OUT when no answer came within `timeout`)."""
    wanted = list(dict.fromkeys(_partition(p) for p in partitions))
    if not wanted:
        return {}
    deadline = time.monotonic() + timeout
    futures = _ask(admin, wanted, spec, timeout, isolation_level)
    found: dict[Partition, int | KafkaException] = {}
    for tp in wanted:
        try:
            found[tp] = _result(futures[tp], tp, deadline)
        except KafkaException as error:
            found[tp] = error
    return found


def _ask(admin: AdminClient, partitions: list[Partition], spec: OffsetSpec, timeout: float,
         isolation_level: IsolationLevel) -> dict[Partition, Future[Any]]:
    futures = admin.list_offsets({TopicPartition(topic, partition): spec for topic, partition in partitions},
                                 isolation_level=isolation_level, request_timeout=timeout)
    return {(tp.topic, tp.partition): future for tp, future in futures.items()}


def _result(future: Future[Any], tp: Partition, deadline: float) -> int:
    try:
        # a little past the deadline: librdkafka's own request timeout answers first, with the broker's story
        return int(future.result(timeout=max(deadline - time.monotonic(), 0.0) + 1.0).offset)
    except TimeoutError:
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"no offset of {tp[0]}[{tp[1]}] in time")) from None


def _passing(error: KafkaException) -> bool:
    """Whether the error is one a moment's wait may clear (a leader moving, a broker restarting)."""
    kafka_error = error.args[0] if error.args and isinstance(error.args[0], KafkaError) else None
    return kafka_error is not None and kafka_error.code() in PASSING


def _partition(p: Partition | TopicPartition) -> Partition:
    return (p.topic, p.partition) if isinstance(p, TopicPartition) else (p[0], p[1])
