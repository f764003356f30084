"""Quarterly supervision tasks (季度督查) raised by the clock: the pure domain function over tick times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from envgrid.domain.registry import load_registry_set
from envgrid.domain.registry.model import RegistrySet
from envgrid.domain.tasks.opening import is_task_id
from envgrid.domain.tasks.quarters import CITY_TIME_ZONE, Quarter, quarters_crossed
from envgrid.domain.tasks.supervision import load_supervision_rules, supervision_tasks

RULES = load_supervision_rules()


@cache
def registry() -> RegistrySet:
    return load_registry_set()


def _pairs(registry: RegistrySet, at: datetime) -> set[tuple[str, str]]:
    version = registry.at(at)
    return {(g.code, child.code) for g in version.grids.values() if int(g.level) in (1, 2)
            for child in version.children(g.code)}


def test_the_quarter_is_the_city_s() -> None:
    assert str(Quarter.of(datetime(2027, 3, 31, 16, 30, tzinfo=UTC))) == "2027-Q2"  # 00:30 on 1 April in Wenzhou
    assert str(Quarter.of(datetime(2027, 3, 31, 15, 59, tzinfo=UTC))) == "2027-Q1"
    assert Quarter.parse("2027-Q4").next() == Quarter(2028, 1)


def test_ticks_before_the_boundary_raise_nothing_and_the_first_past_it_raises_one_task_per_pair() -> None:
    boundary = Quarter(2027, 2).start()
    ticks = [boundary - timedelta(hours=3), boundary - timedelta(minutes=1), boundary + timedelta(minutes=1),
             boundary + timedelta(hours=2)]
    raised = [supervision_tasks(before, now, registry(), RULES) for before, now in zip([None, *ticks], ticks, strict=False)]
    assert [len(r) for r in raised[:2]] == [0, 0] and raised[3] == []
    tasks = raised[2]
    assert {(t.upper, t.lower) for t in tasks} == _pairs(registry(), boundary)
    assert len(tasks) == 15 + 191 and len({t.opening.case_id for t in tasks}) == len(tasks)
    first = next(t for t in tasks if t.upper == "3303" and t.lower == "330302")
    assert first.opening.case_id == "SUP-2027Q2-3303-330302" and is_task_id(first.opening.case_id)
    assert first.opening.opened_at == boundary and first.opening.handling_level == 1
    assert first.opening.grid_chain == ("330302", "3303")
    township = next(t for t in tasks if t.upper == "330302")
    assert township.opening.handling_level == 2 and township.opening.grid_chain[1:] == ("330302", "3303")


def test_a_replay_of_the_same_ticks_raises_the_same_tasks() -> None:
    """The function is pure: the case desk opens each id once, so a replay opens nothing new (test_task_desk)."""
    before, after = datetime(2027, 6, 30, 15, tzinfo=UTC), datetime(2027, 6, 30, 17, tzinfo=UTC)
    first = supervision_tasks(before, after, registry(), RULES)
    assert first == supervision_tasks(before, after, registry(), RULES) and first


def test_a_tick_jumping_two_quarters_raises_both_quarters_tasks_oldest_first() -> None:
    tasks = supervision_tasks(datetime(2027, 2, 1, tzinfo=CITY_TIME_ZONE), datetime(2027, 7, 2, tzinfo=CITY_TIME_ZONE),
                              registry(), RULES)
    assert [str(q) for q in dict.fromkeys(t.quarter for t in tasks)] == ["2027-Q2", "2027-Q3"]
    assert len(tasks) == 2 * (15 + 191)
    q3 = next(t for t in tasks if t.quarter == Quarter(2027, 3))
    assert q3.opening.opened_at == Quarter(2027, 3).start()


def test_the_registry_in_force_at_the_quarter_start_decides_the_pairs() -> None:
    """龙港市 (330383) split from 苍南县 on 2019-09-25: the city checks it from 2019-Q4 on."""
    q3 = supervision_tasks(datetime(2019, 6, 30, tzinfo=CITY_TIME_ZONE), datetime(2019, 7, 1, 1, tzinfo=CITY_TIME_ZONE),
                           registry(), RULES)
    q4 = supervision_tasks(datetime(2019, 9, 30, tzinfo=CITY_TIME_ZONE), datetime(2019, 10, 1, 1, tzinfo=CITY_TIME_ZONE),
                           registry(), RULES)
    assert ("3303", "330383") not in {(t.upper, t.lower) for t in q3}
    assert ("3303", "330383") in {(t.upper, t.lower) for t in q4}


def test_quarters_crossed() -> None:
    at = datetime(2027, 1, 5, tzinfo=CITY_TIME_ZONE)
    assert quarters_crossed(at, at + timedelta(days=30)) == []
    assert quarters_crossed(at, datetime(2028, 1, 1, tzinfo=CITY_TIME_ZONE)) == [Quarter(2027, 2), Quarter(2027, 3),
                                                                               Quarter(2027, 4), Quarter(2028, 1)]
    assert quarters_crossed(datetime(2027, 5, 1, tzinfo=CITY_TIME_ZONE), at) == []  # time never goes back
