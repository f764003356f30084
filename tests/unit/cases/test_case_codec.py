"""Cases survive a JSON round trip (the lifecycle processor keeps them in a table)."""
from __future__ import annotations

import json

from casekit import acknowledged, joint, ok
from hypothesis import given, settings
from test_case_properties import actions, run, starts

from envgrid.domain.cases import NoticeKind
from envgrid.domain.cases.codec import case_from_dict, case_to_dict


def round_trip(case):
    return case_from_dict(json.loads(json.dumps(case_to_dict(case))))


def test_a_rich_case_round_trips():
    case = ok(joint(), NoticeKind.RESULT, "urban", text="sealed").case
    case = ok(case, NoticeKind.ESCALATION_REQUEST, "env", 20, reason="cross-district").case
    assert round_trip(case) == case
    plain = acknowledged()
    assert round_trip(plain) == plain


@settings(max_examples=100, deadline=None)
@given(starts, actions)
def test_every_reachable_case_round_trips(start, script):
    for _, result, _ in run(start, script):
        if hasattr(result, "case"):
            assert round_trip(result.case) == result.case
