"""The demo's complainants: they answer results told to them, in the shares the module says, with notices the
pipeline's notice gate admits on the feedback channel's topic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from envgrid.connectors.catalogue import Catalogue
from envgrid.domain.intake_contract import check_author, check_notice
from envgrid.simulator.complainants import GRADES, REACHED_SHARE, answer

CATALOGUE = Catalogue.load(prefix="envgrid", env={})
AT = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _feedback(number: int, stage: str = "RESOLVED", audience: str = "COMPLAINANT") -> dict:
    return {"event_id": f"C{number}:3:resolved:E{number}", "case_id": f"C{number}", "occurred_at": AT, "stage": stage,
            "audience": audience, "recipient": f"report-{number}", "channel": "HOTLINE_12345", "message": "已处理"}


def test_only_a_result_told_to_a_complainant_is_answered_and_always_the_same_way():
    assert answer(_feedback(1, stage="ACCEPTED")) is None
    assert answer(_feedback(1, audience="REPORTING_UNIT")) is None
    answered = [n for n in (answer(_feedback(i)) for i in range(200)) if n is not None]
    assert answered and all(a == answer(_feedback(int(a["case_id"][1:]))) for a in answered)
    assert [answer(_feedback(i), seed=1) for i in range(50)] != [answer(_feedback(i)) for i in range(50)]


def test_the_shares_are_those_the_module_says():
    count = 4000
    answered = [n for n in (answer(_feedback(i)) for i in range(count)) if n is not None]
    assert abs(len(answered) / count - REACHED_SHARE) < 0.03
    grades = Counter(n["rating"] for n in answered)
    for grade, share in GRADES:
        assert abs(grades[grade.name] / len(answered) - share) < 0.03, grades


def test_every_answer_passes_the_notice_gate_on_the_feedback_channels_topic():
    author = CATALOGUE.notice_author(CATALOGUE.topic("notices.complainants"))
    for i in range(100):
        notice = answer(_feedback(i))
        if notice is None:
            continue
        assert check_notice(notice) is None and check_author(notice, author) is None, notice
        assert notice["unit_code"] == f"report-{i}" and notice["occurred_at"] > AT
