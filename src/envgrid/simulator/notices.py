"""Department and grid notices for the cases the generator opened.

Every original report opens a case (`envgrid.domain.case_ids.case_id_for`). Each case gets a short script when it
opens, e.g. ACKNOWLEDGE → PROGRESS → TRANSFER_REQUEST → RESULT → CLOSE; a notice is the next step of a
random open case, so notices of one case come in a plausible order and always after its report.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from envgrid.simulator.rand import pick, randint
from envgrid.simulator.reference import department_codes, lead_departments

MAX_OPEN_CASES = 20_000
# A case gets notices only once its report is this old, in simulated time and in events, so that the
# pipeline has seen the report before the first notice even when both are produced at full speed.
MIN_CASE_AGE = timedelta(minutes=10)
MIN_CASE_AGE_EVENTS = 50

# (kind, probability that a case's script includes it), in script order; one optional branch at most.
_BRANCHES = (
    ("TRANSFER_REQUEST", 0.12), ("ESCALATION_REQUEST", 0.07), ("JOINT_ENFORCEMENT_REQUEST", 0.08),
    ("ENFORCEMENT_ORDER", 0.05), ("EXTENSION_REQUEST", 0.06),
)
_MESSAGES: dict[str, tuple[str, ...]] = {
    "ACKNOWLEDGE": ("已签收，安排人员核查", "已收到，正在派员现场查看", "已签收"),
    "PROGRESS": ("已到现场核查，情况属实，正在处理", "已约谈当事人，责令限期整改", "正在调查取证"),
    "TRANSFER_REQUEST": ("经核查不属于本单位职责，申请移交", "该事项属其他部门管辖，申请退回改派"),
    "ESCALATION_REQUEST": ("本级无法解决，请求上级网格协调", "当事人拒不整改，申请提级处理"),
    "JOINT_ENFORCEMENT_REQUEST": ("涉及多个部门职责，申请联合执法", "需公安、环保等部门联合查处"),
    "RESULT": ("已处理完毕", "已整改到位，现场复查无异常", "已立案查处"),
    "CLOSE": ("已办结，回访群众满意", "办结归档", "已办结"),
    "ENFORCEMENT_ORDER": ("对拒不停产的企业实施停电停水", "下达停产整治通知"),
    "EXTENSION_REQUEST": ("案情复杂，申请延期办理", "需第三方检测，申请延长办理期限"),
}
_REASONS = {
    "TRANSFER_REQUEST": ("不属于本部门职责范围", "事发地属相邻区县管辖", "应由属地乡镇先行处置"),
    "ESCALATION_REQUEST": ("涉及跨区域污染，需上级协调", "当事人拒不配合，本级无执法权", "疑似环境犯罪"),
}
_RESOLUTIONS = ("已责令停止施工并罚款", "已督促覆盖裸土、冲洗车辆", "已清理垃圾并恢复原状",
                "已查封排污设施，立案处罚", "已移送公安机关侦办", "经监测达标，向群众解释说明")
_ORDERS = ("停电停水", "停产整治", "查封扣押排污设备", "限期拆除")


@dataclass
class OpenCase:
    case_id: str
    first_event_id: str
    category: str
    district_code: str
    township_code: str
    opened_at: datetime
    lead: str
    steps: list[str] = field(default_factory=list)


class CaseBook:
    """The cases the generator opened and the notices still to come for each."""

    def __init__(self) -> None:
        self._open: list[OpenCase] = []
        self._pending: deque[tuple[int, OpenCase]] = deque()  # (event index, case) not yet eligible

    def __len__(self) -> int:
        return len(self._open) + len(self._pending)

    def open_case(self, rng: random.Random, case_id: str, first_event_id: str, category: str,
                  district_code: str, township_code: str, opened_at: datetime, index: int) -> None:
        """Plan the notices of the case `case_id` (= `case_id_for(first_event_id)`)."""
        steps = ["ACKNOWLEDGE"] if rng.random() < 0.95 else []
        if rng.random() < 0.6:
            steps.append("PROGRESS")
        roll, floor = rng.random(), 0.0
        for kind, share in _BRANCHES:
            if floor <= roll < floor + share:
                steps.append(kind)
            floor += share
        if rng.random() < 0.9:
            steps.append("RESULT")
            if rng.random() < 0.85:
                steps.append("CLOSE")
        leads = lead_departments(category, opened_at.date())
        lead = leads[0] if rng.random() < 0.85 else pick(rng, leads)
        if steps:
            self._pending.append((index, OpenCase(case_id, first_event_id, category, district_code,
                                                  township_code, opened_at, lead, steps)))

    def next_notice(self, rng: random.Random, event_id: str, now: datetime,
                    index: int) -> tuple[dict[str, Any], OpenCase] | None:
        """The next notice of a random open case, as a DepartmentNotice value, or None without cases."""
        pending = self._pending
        while pending and pending[0][0] <= index - MIN_CASE_AGE_EVENTS and pending[0][1].opened_at <= now - MIN_CASE_AGE:
            if len(self._open) >= MAX_OPEN_CASES:  # forget the oldest; their notices never come
                del self._open[: MAX_OPEN_CASES // 10]
            self._open.append(pending.popleft()[1])
        if not self._open:
            return None
        # Mostly the oldest open case, so that lifecycles run to the end; otherwise any open case.
        position = 0 if rng.random() < 0.6 else int(rng.random() * len(self._open))
        case = self._open[position]
        kind = case.steps.pop(0)
        if not case.steps:
            del self._open[position]
        return _notice_value(rng, case, kind, event_id, now), case


def _notice_value(rng: random.Random, case: OpenCase, kind: str, event_id: str, now: datetime) -> dict[str, Any]:
    departments = department_codes()
    unit_kind, unit_code = "DEPARTMENT", case.lead
    if kind == "ESCALATION_REQUEST" or (kind in ("PROGRESS", "ENFORCEMENT_ORDER") and rng.random() < 0.3):
        unit_kind, unit_code = "GRID", case.township_code if rng.random() < 0.7 else case.district_code
    value: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": max(now - timedelta(milliseconds=int(rng.random() * 5_400_000)), case.opened_at),
        "received_at": now,
        "case_id": case.case_id,
        "kind": kind,
        "unit_kind": unit_kind,
        "unit_code": unit_code,
        "message": pick(rng, _MESSAGES[kind]),
        "reason": pick(rng, _REASONS[kind]) if kind in _REASONS else None,
        "suggested_department": None,
        "assisting_departments": [],
        "resolution": pick(rng, _RESOLUTIONS) if kind == "RESULT" else None,
        "order": pick(rng, _ORDERS) if kind == "ENFORCEMENT_ORDER" else None,
        "extension_days": pick(rng, (5, 10, 15, 30)) if kind == "EXTENSION_REQUEST" else None,
        "rating": None,
    }
    others = [code for code in departments if code != case.lead]
    if kind == "TRANSFER_REQUEST" and others:
        value["suggested_department"] = case.lead = pick(rng, others)
    elif kind == "JOINT_ENFORCEMENT_REQUEST" and others:
        value["assisting_departments"] = rng.sample(others, k=min(len(others), randint(rng, 1, 3)))
    return value
