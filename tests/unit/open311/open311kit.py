"""The Open311 app with its collaborators in memory: a sink that records (or refuses) what it is sent and a status
source of fixed case views. Only for tests of the HTTP layer; the integration test runs the real ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from envgrid.connectors.open311.app import create_app
from envgrid.connectors.open311.keys import ApiKeys, Partner, digest_of
from envgrid.connectors.open311.sink import SinkUnavailable
from envgrid.connectors.open311.status import CaseView, ListFilter
from envgrid.domain.rules.categories import list_categories

KEY = "test-key-web"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
AGENCIES = {"epb": ("环保局", "Environmental Protection Bureau"), "housing": ("住建委", "Housing Commission")}


class FakeSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.down = False

    async def send(self, key: str, record: dict[str, Any]) -> None:
        if self.down:
            raise SinkUnavailable("broker down (fake)", 7)
        self.sent.append((key, record))


class FakeStatus:
    def __init__(self) -> None:
        self.views: dict[str, CaseView] = {}
        self.down = False
        self.asked: list[ListFilter] = []

    def case_of(self, request_id: str) -> CaseView | None:
        self._check()
        return self.views.get(request_id)

    def cases(self, chosen: ListFilter, now: datetime) -> list[tuple[str, CaseView]]:
        self._check()
        self.asked.append(chosen)
        return [(i, v) for i, v in self.views.items()
                if not chosen.service_codes or v.category in chosen.service_codes]

    def _check(self) -> None:
        if self.down:
            from envgrid.connectors.open311.status import StatusUnavailable

            raise StatusUnavailable("case store down (fake)")


def make_client() -> tuple[TestClient, FakeSink, FakeStatus]:
    sink, status = FakeSink(), FakeStatus()
    keys = ApiKeys({digest_of(KEY): Partner("test-web", "WEB")})
    app = create_app(sink, status, keys, list_categories(), AGENCIES, clock=lambda: NOW)
    return TestClient(app), sink, status


def view(state: str = "dispatched", **changes: Any) -> CaseView:
    values: dict[str, Any] = dict(case_id="WZ-0123456789ABCDEF", state=state, category="water_pollution",
                                  requested_at=NOW, updated_at=NOW, lead_department="epb",
                                  deadline=datetime(2026, 12, 9, 9, 30, tzinfo=UTC), merged=False)
    return CaseView(**{**values, **changes})


FORM = {"api_key": KEY, "service_code": "water_pollution", "lat": "27.9936", "long": "120.6994", "datum": "GCJ-02",
        "address_string": "温州市鹿城区五马街道解放街12号", "description": "河水发黑发臭 The river is black and smells",
        "media_url": "https://example.org/p/1.jpg", "first_name": "三", "last_name": "张", "phone": "13800000000",
        "email": "zhang@example.org"}
