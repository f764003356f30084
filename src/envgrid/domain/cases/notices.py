"""Department notices: what a department or grid says about a case (the lifecycle's inputs)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class NoticeKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"  # 签收/受理
    PROGRESS = "progress"
    TRANSFER_REQUEST = "transfer_request"  # "not ours", with a reason  # 移交移送
    ESCALATION_REQUEST = "escalation_request"  # hand to the upper grid  # 上报
    JOINT_ENFORCEMENT_REQUEST = "joint_enforcement_request"  # 联合执法
    RESULT = "result"  # a unit's task done, with its resolution text
    CLOSE = "close"  # 结案
    ENFORCEMENT_ORDER = "enforcement_order"  # a work-starting notice, e.g. 停电停水
    DECLINE = "decline"  # the petition is not accepted  # 不予受理
    EXTENSION_REQUEST = "extension_request"  # the lead asks for more time; the resolve clock pauses  # 申请延期
    EXTENSION_DECISION = "extension_decision"  # a grid grants (`extension` > 0) or refuses (0) it
    RATING = "rating"  # the complainant's answer to the result, through the feedback channel  # 回访评价


# What only a complainant sends, through the feedback channel; a closed case still takes it.
FROM_COMPLAINANTS = frozenset({NoticeKind.RATING})


class Rating(StrEnum):
    """A complainant's verdict on the result (the 12345 hotline's three grades)."""

    SATISFIED = "satisfied"                      # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"                # 不满意 (满意率 counts the other two as satisfied)


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice about one case from one unit (`unit`: a department code or a grid code; for a RATING the
    complainant, named by the id of the report they made).

    Fields beyond the common ones matter only for some kinds: `reason` (transfer, escalation, decline),
    `target_department` (transfer: suggested target; joint enforcement: lead, default the current lead),
    `assisting_departments` (joint enforcement), `text` (progress note, result resolution, order name),
    `extension` (extension decision: granted units of the resolve limit's basis, e.g. working days; 0 refuses),
    `rating` (rating).
    """

    notice_id: str
    case_id: str
    kind: NoticeKind
    unit: str
    reason: str = ""
    target_department: str | None = None
    assisting_departments: tuple[str, ...] = ()
    text: str = ""
    extension: float = 0.0
    rating: Rating | None = None
