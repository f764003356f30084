"""Indicators over hand-made history (tests/unit/evaluation/traffic.py), each value worked out by hand."""

from __future__ import annotations

import random

import pytest

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.indicators import DEPARTMENT, GRID, Unit, children, evaluate
from envgrid.evaluation.ledger import fold_all
from envgrid.evaluation.periods import Period
from tests.unit.evaluation.traffic import at, deadline, entry, history, sla

AS_OF = at("2027-03-20T00:00")
WORKTIME = WorkTime()


@pytest.fixture(scope="module")
def tallies():
    ledger = fold_all(history())
    return evaluate(ledger, Period.parse("2027-Q1"), WORKTIME, AS_OF)


def test_a_department_is_judged_on_the_cases_it_answered_for_last(tallies):
    epb = tallies[Unit(DEPARTMENT, "epb")]
    assert (epb.cases, epb.accepted) == (4, 3)              # A B C D; D declined; E opened in April
    assert epb.response_rate == 3 / 4                       # B acknowledged after its limit (breach)
    assert epb.on_time_rate == 2 / 3                        # B still open past its resolve deadline: late
    assert epb.resolution_rate == 2 / 3                     # A and C of A B C
    assert epb.return_rate == 1 / 4                         # D declined, of the 4 it was lead of
    assert (epb.sla_warnings, epb.sla_breaches) == (1, 2)   # A's warning was withdrawn
    assert epb.average_handling_days == pytest.approx(2.0)  # A and C: Monday 9:00 to Wednesday 9:00, 2 working days


def test_a_department_that_sent_a_case_back_is_charged_with_the_return(tallies):
    urban = tallies[Unit(DEPARTMENT, "urban-mgmt")]
    assert (urban.cases, urban.received, urban.returned, urban.return_rate) == (0, 1, 1, 1.0)


def test_nothing_due_yet_is_neither_in_time_nor_late(tallies):
    housing = tallies[Unit(DEPARTMENT, "housing")]
    assert housing.cases == 1
    assert housing.response_rate is None and housing.on_time_rate is None
    assert housing.resolution_rate == 0.0 and housing.average_handling_days is None


def test_grids_count_every_case_of_their_area(tallies):
    district = tallies[Unit(GRID, "330302", 2)]
    assert (district.cases, district.accepted) == (4, 3)
    assert district.response_rate == 3 / 4 and district.on_time_rate == 2 / 3
    assert district.return_rate == 1 / 3                   # C, of the accepted A B C
    assert (district.sla_warnings, district.sla_breaches) == (1, 2)
    city = tallies[Unit(GRID, "3303", 1)]
    assert (city.cases, city.accepted, city.resolved) == (5, 4, 2)
    assert city.resolution_rate == 1 / 2 and city.return_rate == 1 / 4
    assert city.response_rate == 3 / 4                      # F is not due yet


def test_the_roll_up_goes_level_by_level():
    ledger = fold_all(history())
    tallies = evaluate(ledger, Period.parse("2027-Q1"), WORKTIME, AS_OF)
    city = Unit(GRID, "3303", 1)
    assert children(tallies, city, ledger) == [Unit(GRID, "330302", 2), Unit(GRID, "330381", 2)]
    assert sum(tallies[u].cases for u in children(tallies, city, ledger)) == tallies[city].cases
    assert children(tallies, Unit(GRID, "330302", 2), ledger) == [Unit(GRID, "330302001", 3)]


def test_order_and_redelivery_do_not_change_the_figures(tallies):
    records = history() * 2
    random.Random(7).shuffle(records)
    again = evaluate(fold_all(records), Period.parse("2027-Q1"), WORKTIME, AS_OF)
    assert again == tallies


def test_a_month_outside_the_cases_has_no_units():
    assert evaluate(fold_all(history()), Period.parse("2027-02"), WORKTIME, AS_OF) == {}


@pytest.mark.parametrize(("text", "start", "end"), [("2027-Q1", "2027-01-01", "2027-04-01"),
                                                     ("2027-12", "2027-12-01", "2028-01-01"),
                                                     ("2027", "2027-01-01", "2028-01-01")])
def test_periods(text, start, end):
    period = Period.parse(text)
    assert (str(period.start), str(period.end), period.label) == (start, end, text)


def test_a_bad_period_says_how_to_write_one():
    with pytest.raises(ValueError, match="2027-Q1"):
        Period.parse("Q1-2027")


def test_a_breach_withdrawn_by_a_calendar_correction_is_not_late():
    """The breach went out, then a corrected holiday schedule moved the deadline: the snapshot's flag is cleared
    and the breach withdrawn; acknowledged before the new deadline, the case was answered in time. A breach that
    stands on case.sla counts even where a later entry (a new handler's clock) shows no flag."""
    created = "2027-03-01T09:00"
    records = [
        entry("W", 0, "dispatched", created, "dispatched", lead="epb", created=created,
              deadlines=[deadline("acknowledge", "2027-03-01T11:00")]),
        entry("W", 1, "progress", "2027-03-01T11:30", "dispatched", lead="epb", created=created,
              deadlines=[deadline("acknowledge", "2027-03-01T11:00", breached=True)]),
        entry("W", 2, "deadline_retimed", "2027-03-01T12:00", "dispatched", lead="epb", created=created,
              deadlines=[deadline("acknowledge", "2027-03-02T11:00")]),
        entry("W", 3, "acknowledged", "2027-03-02T10:00", "acknowledged", lead="epb", created=created,
              acknowledged="2027-03-02T10:00", deadlines=[deadline("acknowledge", None, clock="stopped")]),
        sla("W", "BREACH", "acknowledge", "2027-03-01T11:00"),
        sla("W", "WITHDRAWN", "acknowledge", "2027-03-01T12:00", withdrawn_at=1),
        entry("V", 0, "dispatched", created, "dispatched", lead="epb", created=created,
              deadlines=[deadline("acknowledge", "2027-03-01T11:00")]),
        entry("V", 1, "escalated", "2027-03-01T11:30", "escalated", lead="epb", created=created,
              deadlines=[deadline("acknowledge", "2027-03-02T11:00", handler="epb")]),
        entry("V", 2, "acknowledged", "2027-03-01T12:00", "acknowledged", lead="epb", created=created,
              acknowledged="2027-03-01T12:00", deadlines=[deadline("acknowledge", None, clock="stopped")]),
        sla("V", "BREACH", "acknowledge", "2027-03-01T11:00"),
    ]
    for shuffled in (records, list(reversed(records))):
        tallies = evaluate(fold_all(shuffled), Period.parse("2027-03"), WORKTIME, AS_OF)
        epb = tallies[Unit(DEPARTMENT, "epb")]
        assert (epb.responded_on_time, epb.responded_late, epb.sla_breaches) == (1, 1, 1)
