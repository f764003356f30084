"""The feedback channel as the demo runs it (never in production): logged in as `feedback-gateway`, it reads
case.feedback, and when a result is told to a complainant, sends back the rating they give
(`envgrid.simulator.complainants.answer`) on notices.complainants, as the 12345 hotline's call-back would.

The department simulator runs it beside the departments' clients, in its thread and on its clock: a rating is
sent when the worker's clock reaches its time, and holds the SLA clock until then like a department's notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, Producer

from envgrid.client.errors import BrokerRefused, Reason, Refused
from envgrid.client.watch import CopyWatcher, WatchedCopy
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.principals import Principal, load_principals
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.domain.intake_contract import check_author, check_notice
from envgrid.localcluster.addresses import ClusterAddresses

PRINCIPAL = "feedback-gateway"


class ComplainantChannel:
    def __init__(self, addresses: ClusterAddresses, catalogue: Catalogue, group_suffix: str, timeout: float = 10.0) -> None:
        self.principal: Principal = load_principals()[PRINCIPAL]
        self.notice_topic = catalogue.topic("notices.complainants")
        self._author = catalogue.notice_author(self.notice_topic)
        self._timeout = timeout
        self._codec = EventCodec(registry_client(addresses), catalogue.event_type_of, auto_register=False)
        self._producer = Producer(addresses.kafka_config({"acks": "all", "enable.idempotence": True,
                                                         "partitioner": "murmur2_random"}))
        self._addresses, self._feedback_topic = addresses, catalogue.topic("case.feedback")
        self._group = f"{PRINCIPAL}-simulator-{group_suffix}"
        self._watcher: CopyWatcher | None = None

    def start(self) -> None:
        """Join the channel's group on case.feedback (when the worker starts, like the departments' watchers)."""
        self._watcher = CopyWatcher(self._addresses.kafka_config({"queued.max.messages.kbytes": 4096}),
                                    self._feedback_topic, self._group, self._codec.decode, timeout=self._timeout,
                                    event_type="CaseFeedback")

    def poll(self) -> list[WatchedCopy]:
        """New feedback records (CaseFeedback); mark each `done` once its answer is planned."""
        return [] if self._watcher is None else self._watcher.poll(timeout=0)

    def done(self, feedback: WatchedCopy) -> None:
        if self._watcher is not None:
            self._watcher.done(feedback)

    def commit(self) -> None:
        if self._watcher is not None:
            self._watcher.commit(asynchronous=True)

    def send_all(self, notices: Sequence[dict[str, Any]], *, check: bool = True) -> None:
        """Send ratings on notices.complainants, each checked as the pipeline's notice gate checks it, and wait
        for the broker's acknowledgement."""
        failures: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                failures.append(error)

        for notice in notices:
            breach = check_notice(notice) or check_author(notice, self._author) if check else None
            if breach is not None:
                raise Refused(Reason.INPUT_CONTRACT, breach.message)
            self._producer.produce(self.notice_topic, self._codec.encode("DepartmentNotice", notice, self.notice_topic),
                                   notice["case_id"].encode(), on_delivery=delivered)
        left = self._producer.flush(self._timeout * 3)
        if left or failures:
            raise BrokerRefused(Reason.DELIVERY, f"{PRINCIPAL}: {left} ratings not acknowledged, "
                                                 f"{len(failures)} refused ({failures[:1]})")

    def close(self) -> None:
        try:
            if self._watcher is not None:
                self._watcher.close()
        finally:
            self._producer.flush(self._timeout)
