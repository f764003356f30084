"""How complainants answer results: the rating (回访评价) a complainant gives when the feedback channel tells them
their case was resolved, for the demo and tests.

`answer(feedback)` takes one CaseFeedback record and returns the RATING notice the complainant sends back
through the feedback channel (on `notices.complainants`), or None: feedback that is not a result told to a
complainant, or a complainant the channel did not reach (about a third, as hotline call-backs go). It is pure
and deterministic: the same seed and feedback give the same notice, event id included. A reopened case's
second result is told again, and answered again on its own.

The grades follow what hotline call-backs report (mostly satisfied, a tenth or so not): satisfied 72 %,
basically satisfied 16 %, dissatisfied 12 %. A dissatisfied answer soon after the result reopens the case (重办).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import timedelta
from typing import Any

from envgrid.domain.cases.notices import Rating
from envgrid.domain.intake_contract import COMPLAINANT

REACHED_SHARE = 0.66
GRADES = ((Rating.SATISFIED, 0.72), (Rating.BASICALLY_SATISFIED, 0.16), (Rating.DISSATISFIED, 0.12))
ANSWER_DELAY_HOURS = (1.0, 24.0)  # after the result was told (12345 call-backs: within a day or so)
_WORDS = {
    Rating.SATISFIED: ("处理及时，很满意", "问题已解决，谢谢", "满意"),
    Rating.BASICALLY_SATISFIED: ("基本解决，希望持续关注", "还可以，就是慢了点", "基本满意"),
    Rating.DISSATISFIED: ("问题依旧存在，不满意", "现场没有整改到位", "处理敷衍，要求重新处理"),
}
_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-4e59-9a0c-5d2e8f1b7c30")


def answer(feedback: dict[str, Any], *, seed: int = 0) -> dict[str, Any] | None:
    """The complainant's RATING of a RESOLVED feedback told to them (a DepartmentNotice value), or None."""
    if str(feedback.get("stage")) != "RESOLVED" or str(feedback.get("audience")) != "COMPLAINANT":
        return None
    rng = random.Random(hashlib.sha256(f"{seed}:{feedback['event_id']}".encode()).digest())
    if rng.random() >= REACHED_SHARE:
        return None
    roll, floor, grade = rng.random(), 0.0, GRADES[-1][0]
    for candidate, share in GRADES:
        if roll < floor + share:
            grade = candidate
            break
        floor += share
    at = feedback["occurred_at"] + timedelta(hours=rng.uniform(*ANSWER_DELAY_HOURS))
    return {
        "event_id": str(uuid.uuid5(_NAMESPACE, f"{seed}:{feedback['event_id']}")),
        "occurred_at": at, "received_at": at, "case_id": feedback["case_id"], "kind": "RATING",
        "unit_kind": COMPLAINANT, "unit_code": feedback["recipient"], "message": rng.choice(_WORDS[grade]),
        "reason": None, "suggested_department": None, "assisting_departments": [], "resolution": None,
        "order": None, "extension_days": None, "rating": grade.name,
    }
