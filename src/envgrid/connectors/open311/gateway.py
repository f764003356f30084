"""The composition root: the app wired to the real broker, registry and case store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.domain.departments import load_departments
from envgrid.domain.rules.categories import list_categories
from envgrid.localcluster.addresses import ClusterAddresses

from .app import create_app
from .keys import ApiKeys
from .sink import EVENT_NAME, KafkaComplaintSink
from .status import CaseStoreStatus


@dataclass
class Gateway:
    app: FastAPI
    sink: KafkaComplaintSink
    status: CaseStoreStatus
    topic: str

    def close(self) -> None:
        self.sink.close()
        self.status.close()


def build(cluster: ClusterAddresses, keys: ApiKeys, case_store_dsn: str, *, topic_prefix: str | None = None,
          produce_timeout_s: float = 10.0, retry_after_s: int = 10,
          clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Gateway:
    """The gateway as `cluster`'s client (the intake-gateway principal in production), producing to the complaint
    intake topic of the catalogue under `topic_prefix` and reading statuses from the store at `case_store_dsn`.
    `clock` stamps each complaint's received_at and judges what is overdue: the wall clock, or the demo's
    accelerated one, so that its complaints arrive on the same time as the pipeline's."""
    catalogue = Catalogue.load(prefix=topic_prefix)
    topic = catalogue.intake(EVENT_NAME)
    codec = EventCodec(registry_client(cluster), catalogue.event_type_of, auto_register=False)
    sink = KafkaComplaintSink(cluster, codec, topic, timeout_s=produce_timeout_s, retry_after_s=retry_after_s)
    status = CaseStoreStatus(case_store_dsn)
    agencies = {d.code: (d.name_zh, d.name_en) for d in load_departments()}
    app = create_app(sink, status, keys, list_categories(), agencies, clock=clock, retry_after_s=retry_after_s)
    return Gateway(app, sink, status, topic)

