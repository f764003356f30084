"""Copies and notices as a unit reads them from its topics, for the client's book and desk tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from envgrid.client.book import CaseBook
from envgrid.client.notices import notice_record
from envgrid.connectors.samples import sample_events
from envgrid.domain.intake_contract import NoticeAuthor

T0 = datetime(2024, 5, 13, 1, 30, tzinfo=UTC)
EPB = NoticeAuthor("DEPARTMENT", "epb")
LUCHENG = NoticeAuthor("GRID", "330302", covers_subgrids=True)  # a level-2 grid: speaks for the grids under it
CITY = NoticeAuthor("GRID", "330300")
CHAIN = [{"level": 4, "code": "330302003001", "name": "鼓楼社区"}, {"level": 3, "code": "330302003", "name": "五马街道"},
         {"level": 2, "code": "330302", "name": "鹿城区"}, {"level": 1, "code": "330300", "name": "温州市"}]


def copy(case_id: str = "WZ-0000000000000001", unit: str = "epb", role: str = "LEAD", revision: int = 0, *,
         kind: str = "DEPARTMENT", change: str | None = None, at: datetime | None = None, lead: str | None = "epb",
         handling_level: int = 3, event_id: str | None = None, cause: str = "TRANSFER") -> dict[str, Any]:
    """A CaseDispatched copy for `unit` at `revision`: the router's first dispatch (`change` None, revision 0)
    or a hand-over (ASSIGNED / RELEASED)."""
    record = sample_events()["CaseDispatched"]
    decision = dict(record["decision"], grid_chain=[dict(g) for g in CHAIN], handling_level=handling_level,
                    lead_department=lead or "")
    handover = None if change is None else {"change": change, "cause": cause, "previous_holder": None,
                                            "next_holder": "housing" if change == "RELEASED" else None,
                                            "cause_event_id": "n-1", "reason": "not ours"}
    record.update(case_id=case_id, revision=revision, target={"kind": kind, "code": unit, "role": role},
                  dispatched_at=at or T0 + timedelta(hours=revision), decision=decision, handover=handover,
                  event_id=event_id or f"{case_id}:r{revision}:{kind.lower()}:{unit}:{role}:{change}")
    return record


def notice(kind: str, case_id: str = "WZ-0000000000000001", unit: str = "epb", *, unit_kind: str = "DEPARTMENT",
           at: datetime | None = None, event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return notice_record(kind, case_id, unit_kind, unit, at=at or T0 + timedelta(days=1), event_id=event_id, **fields)


def book_of(author: NoticeAuthor, *records: dict[str, Any]) -> CaseBook:
    book = CaseBook(author)
    for record in records:
        book.add("CaseDispatched" if "target" in record else "DepartmentNotice", record)
    return book
