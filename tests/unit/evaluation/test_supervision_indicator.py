"""季度督查 in the evaluation: a supervision task counts for the upper grid that does it, in its supervision
counts only (the lower grid's and everyone's case indicators stay as they were)."""

from __future__ import annotations

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.indicators import DEPARTMENT, GRID, Unit, evaluate
from envgrid.evaluation.ledger import fold_all
from envgrid.evaluation.periods import Period
from tests.unit.evaluation.traffic import at, deadline, entry, history

Q2 = Period.parse("2027-Q2")
START = "2027-04-01T00:00"


def _task(case_id: str, chain: list[str], *, acknowledged: str | None, resolved: str | None, due: str) -> list[dict]:
    entries = [entry(case_id, 0, "dispatched", START, "dispatched", lead="epb", created=START, chain=chain,
                     channel="supervision", deadlines=[deadline("acknowledge", "2027-04-08T00:00")])]
    if acknowledged:
        entries.append(entry(case_id, 1, "acknowledged", acknowledged, "acknowledged", lead="epb", created=START,
                             chain=chain, channel="supervision", acknowledged=acknowledged,
                             deadlines=[deadline("acknowledge", None, clock="stopped"), deadline("resolve", due)]))
    if resolved:
        entries.append(entry(case_id, 2, "resolved", resolved, "resolved", lead="epb", created=START, chain=chain,
                             channel="supervision", acknowledged=acknowledged, resolved=resolved,
                             deadlines=[deadline("resolve", None, clock="stopped")]))
    return entries


def test_the_upper_grid_is_credited_with_its_supervision_tasks_and_nobody_else_is_charged() -> None:
    due = "2027-05-27T23:59"
    records = [
        *_task("SUP-2027Q2-330302-330302004", ["330302004", "330302", "3303"], acknowledged="2027-04-02T09:00",
               resolved="2027-04-20T09:00", due=due),                                  # in time
        *_task("SUP-2027Q2-330302-330302002", ["330302002", "330302", "3303"], acknowledged="2027-04-02T09:00",
               resolved="2027-06-10T09:00", due=due),                                  # after its deadline
        *_task("SUP-2027Q2-330302-330302003", ["330302003", "330302", "3303"], acknowledged="2027-04-03T09:00",
               resolved=None, due=due),                                                # still open, past it
        *_task("SUP-2027Q2-3303-330302", ["330302", "3303"], acknowledged=None, resolved=None, due=due),
    ]
    tallies = evaluate(fold_all([*history(), *records]), Q2, WorkTime(), at("2027-06-20T00:00"))
    district = tallies[Unit(GRID, "330302", 2)]
    assert (district.supervision_tasks, district.supervision_done) == (3, 2)
    assert (district.supervision_on_time, district.supervision_late, district.supervision_rate) == (1, 2, 1 / 3)
    assert district.cases == 1  # case E of the hand-made history (opened in April), not the tasks
    city = tallies[Unit(GRID, "3303", 1)]
    assert (city.supervision_tasks, city.supervision_done, city.supervision_late) == (1, 0, 0)  # no resolve clock yet
    assert Unit(GRID, "330302004", 3) not in tallies  # the lower grid is not charged with its upper's task
    assert tallies[Unit(DEPARTMENT, "epb")].cases == 1  # nor the department that answers alongside
