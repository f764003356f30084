"""满意率 and 重办率 over hand-made history, worked out by hand (the definitions: docs/evaluation.md)."""

from __future__ import annotations

import random

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.indicators import DEPARTMENT, GRID, Unit, evaluate
from envgrid.evaluation.ledger import fold_all
from envgrid.evaluation.periods import Period
from tests.unit.evaluation.traffic import at, entry

AS_OF = at("2027-03-31T00:00")
OPENED = "2027-03-01T09:00"
ACKED, DONE = "2027-03-01T10:00", "2027-03-02T09:00"


def _step(case, revision, kind, when, state, *, resolved=None, details=None):
    record = entry(case, revision, kind, when, state, lead="epb", created=OPENED, acknowledged=ACKED, resolved=resolved)
    record["details"] = details or {}
    return record


def _rated(case, revision, when, grade, rater, state="closed"):
    return _step(case, revision, "rated", when, state, resolved=DONE, details={"rating": grade, "rater_report": rater})


def history() -> list[dict]:
    """G  rated satisfied;
    H  dissatisfied in time: reopened, done again, then rated basically satisfied (the complainant's latest counts);
    I  two complainants: one dissatisfied too late to reopen, one satisfied;
    J  dissatisfied and reopened, still being redone;
    K  resolved, never rated (in no rate's denominator but 重办率's)."""
    records = []
    for case in "GHIJK":
        records += [_step(case, 0, "dispatched", OPENED, "dispatched"),
                    _step(case, 1, "resolved", DONE, "resolved", resolved=DONE)]
    records += [
        _rated("G", 2, "2027-03-03T09:00", "satisfied", "rG"),
        _rated("H", 2, "2027-03-03T09:00", "dissatisfied", "rH"),
        _step("H", 3, "reopened", "2027-03-03T09:00", "in_progress", details={"reopen": "1"}),
        _step("H", 4, "resolved", "2027-03-05T09:00", "resolved", resolved="2027-03-05T09:00"),
        _rated("H", 5, "2027-03-06T09:00", "basically_satisfied", "rH"),
        _rated("I", 2, "2027-03-25T09:00", "dissatisfied", "rI1"),
        _rated("I", 3, "2027-03-25T10:00", "satisfied", "rI2"),
        _rated("J", 2, "2027-03-03T09:00", "dissatisfied", "rJ"),
        _step("J", 3, "reopened", "2027-03-03T09:00", "in_progress", details={"reopen": "1"}),
    ]
    return records


def test_satisfaction_counts_each_complainants_latest_rating_and_redo_counts_reopened_cases():
    epb = evaluate(fold_all(history()), Period.parse("2027-Q1"), WorkTime(), AS_OF)[Unit(DEPARTMENT, "epb")]
    assert (epb.rated, epb.satisfied) == (5, 3)          # G 1 of 1, H 1 of 1 (latest: basically), I 1 of 2, J 0 of 1
    assert epb.satisfaction_rate == 3 / 5
    assert (epb.with_result, epb.reopened) == (5, 2)      # G H I J K had a result; H and J were reopened
    assert epb.redo_rate == 2 / 5
    assert epb.resolved == 4                              # J is being redone: no result now


def test_the_grids_of_the_area_count_them_too_and_the_order_of_arrival_does_not_matter():
    records = history()
    random.Random(7).shuffle(records)
    tallies = evaluate(fold_all(records + records[:4]), Period.parse("2027-Q1"), WorkTime(), AS_OF)
    for unit in (Unit(GRID, "330302", 2), Unit(GRID, "3303", 1), Unit(DEPARTMENT, "epb")):
        tally = tallies[unit]
        assert (tally.rated, tally.satisfied, tally.with_result, tally.reopened) == (5, 3, 5, 2), unit
