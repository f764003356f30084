"""Realistic sample values of every event type, as the dicts the serde takes and returns.

Used by the contract and serde tests and handy for trying a topic by hand. Times are tz-aware UTC
datetimes with millisecond precision (what `timestamp-millis` round-trips to).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

_T0 = datetime(2024, 5, 13, 1, 30, 0, tzinfo=timezone.utc)  # 09:30 Beijing time, a Monday

_LOCATION = {
    "longitude": 120.6554,
    "latitude": 28.0185,
    "datum": "GCJ02",
    "address": "温州市鹿城区五马街道鼓楼社区解放街12号",
}
_COMPLAINANT = {"name": "陈先生", "phone": "13800577001", "id_number": None}
_GRID_CHAIN = [
    {"level": 4, "code": "330302003001", "name": "鼓楼社区"},
    {"level": 3, "code": "330302003", "name": "五马街道"},
    {"level": 2, "code": "330302", "name": "鹿城区"},
    {"level": 1, "code": "330300", "name": "温州市"},
]


def sample_events() -> dict[str, dict[str, Any]]:
    """One realistic value of each event type, by event name (fresh dicts on every call)."""
    return {
        "PetitionComplaint": {
            "event_id": "b3f1c2de-5a7e-4c1b-9f0a-6d2e8c4a1b01",
            "occurred_at": _T0 - timedelta(hours=2),
            "received_at": _T0,
            "channel": "HOTLINE_12345",
            "channel_reference": "WZ12345-20240513-000871",
            "category": "construction_dust",
            "severity": "HIGH",
            "description": "解放街工地夜间施工，扬尘很大，没有覆盖防尘网。",
            "location": dict(_LOCATION),
            "complainant": dict(_COMPLAINANT),
            "key_entity": None,
            "suspected_crime": False,
            "cross_district": False,
            "attachments": ["oss://envgrid-evidence/2024/05/13/871-1.jpg"],
        },
        "PatrolReport": {
            "event_id": "8a6c0f7e-2d4b-4e55-a0c3-91f2b7d6e402",
            "occurred_at": _T0 + timedelta(minutes=45),
            "received_at": _T0 + timedelta(minutes=47),
            "grid_code": "330302003001",
            "reporter_id": "WG-330302003001-02",
            "category": "river_outfall",
            "severity": "MEDIUM",
            "description": "塘河支流排污口有黑水排出，气味明显。",
            "location": {"longitude": 120.6489, "latitude": 28.0152, "datum": "WGS84", "address": None},
            "stopped_on_site": False,
            "needs_escalation": True,
            "key_entity": "温州某印染有限公司",
            "suspected_crime": False,
            "cross_district": False,
            "evidence_refs": ["oss://envgrid-evidence/2024/05/13/p-402.mp4"],
        },
        "DepartmentNotice": {
            "event_id": "f0e9d8c7-b6a5-4321-8765-43210fedcb03",
            "occurred_at": _T0 + timedelta(days=1, hours=1),
            "received_at": _T0 + timedelta(days=1, hours=1, seconds=3),
            "case_id": "CASE-b3f1c2de5a7e",
            "kind": "TRANSFER_REQUEST",
            "unit_kind": "DEPARTMENT",
            "unit_code": "epb",
            "message": "经核查，属建筑工地扬尘，建议移交住建部门处理。",
            "reason": "施工扬尘监管属住建部门职责",
            "suggested_department": "housing",
            "assisting_departments": [],
            "resolution": None,
            "order": None,
            "extension_days": None,
        },
        "CaseDispatched": {
            "event_id": "CASE-b3f1c2de5a7e:0:department:epb",
            "case_id": "CASE-b3f1c2de5a7e",
            "revision": 0,
            "dispatched_at": _T0,
            "source_event_id": "b3f1c2de-5a7e-4c1b-9f0a-6d2e8c4a1b01",
            "source_kind": "PETITION_COMPLAINT",
            "channel": "HOTLINE_12345",
            "category": "construction_dust",
            "severity": "HIGH",
            "description": "解放街工地夜间施工，扬尘很大，没有覆盖防尘网。",
            "occurred_at": _T0 - timedelta(hours=2),
            "location": dict(_LOCATION),
            "complainant": None,
            "target": {"kind": "DEPARTMENT", "code": "epb", "role": "LEAD"},
            "decision": {
                "grid_chain": [dict(g) for g in _GRID_CHAIN],
                "handling_level": 3,
                "lead_department": "epb",
                "assisting_departments": ["housing"],
                "resolution_path": "COORDINATES",
                "registry_version": "wenzhou-2016",
                "rules_version": "2016-01",
                "rule_id": "construction_dust.township",
                "near_boundary": True,
                "boundary_candidates": ["330302003001", "330302003002"],
                "boundary_policy": "nearest_centroid",
                "synthetic_geometry": True,
                "reason": "GCJ02→WGS84 后落在鼓楼社区网格（距边界 35 米）；扬尘类由乡镇级处理，环保牵头、住建协办。",
            },
            "handover": None,
        },
        "CaseLifecycleEvent": {
            "event_id": "hist:f0e9d8c7-b6a5-4321-8765-43210fedcb03",
            "case_id": "CASE-b3f1c2de5a7e",
            "occurred_at": _T0 + timedelta(days=1, hours=1),
            "kind": "transferred",
            "from_state": "ACKNOWLEDGED",
            "to_state": "DISPATCHED",
            "cause_event_id": "f0e9d8c7-b6a5-4321-8765-43210fedcb03",
            "actor_unit": "epb",
            "reason": "环保局申请移交：施工扬尘监管属住建部门职责",
            "details": {"transfer_target": "housing"},
            "revision": 3,
        },
        "CaseFeedback": {
            "event_id": "fb:CASE-b3f1c2de5a7e:accepted:complainant",
            "case_id": "CASE-b3f1c2de5a7e",
            "occurred_at": _T0 + timedelta(minutes=5),
            "stage": "ACCEPTED",
            "audience": "COMPLAINANT",
            "recipient": "b3f1c2de-5a7e-4c1b-9f0a-6d2e8c4a1b01",
            "channel": "HOTLINE_12345",
            "message": "您反映的解放街工地扬尘问题已受理，已交市生态环境局鹿城分局办理。",
        },
        "SlaEvent": {
            "event_id": "sla:CASE-b3f1c2de5a7e:acknowledge:0.8",
            "case_id": "CASE-b3f1c2de5a7e",
            "occurred_at": _T0 + timedelta(hours=6, minutes=24),
            "kind": "WARNING",
            "milestone": "acknowledge",
            "policy_id": "complaint-standard",
            "fraction": 0.8,
            "started_at": _T0,
            "deadline": _T0 + timedelta(days=1),
            "handler_unit": "epb",
            "supervising_grid": "330302003",
            "calendar": "cn_official",
            "calendar_version": "chinesecalendar-1.11.0:2004-2026+holidays-0.109",
        },
        "DeadLetter": {
            "event_id": "dl:envgrid.intake.patrol-reports:2:1187",
            "failed_at": _T0 + timedelta(seconds=1, milliseconds=250),
            "stage": "DECODE",
            "reason_code": "not_confluent_framed",
            "error_class": "UndecodableRecord",
            "error_message": "envgrid.intake.patrol-reports: value does not start with the Confluent magic byte 0",
            "processor": "router",
            "source_topic": "envgrid.intake.patrol-reports",
            "source_partition": 2,
            "source_offset": 1187,
            "source_key": "330302003001".encode(),
            "original_value": b"{\"not\": \"avro\"}",
            "original_headers": [{"key": "traceparent", "value": b"00-4bf92f3577b34da6-00f067aa0ba902b7-01"}],
            "original_event_id": None,
            "reinjections": 0,
        },
        "ClockTick": {
            "event_id": "tick:wall:3:1748941200000",
            "now": _T0 + timedelta(hours=2),
            "clock": "wall",
        },
    }
