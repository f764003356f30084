"""The case book: the open cases of a unit from its copies and its own notices, in any reading order."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from clientkit import CITY, EPB, LUCHENG, T0, book_of, copy, notice
from hypothesis import given, settings
from hypothesis import strategies as st

from envgrid.client.book import CaseBook, CaseStatus
from envgrid.client.errors import Reason, Refused

CASE = "WZ-0000000000000001"


def test_a_first_dispatch_is_an_open_new_case_with_what_the_unit_needs():
    book = book_of(EPB, copy())
    [case] = book.open_cases()
    assert (case.case_id, case.unit, case.role, case.revision, case.status) == (CASE, "epb", "LEAD", 0, CaseStatus.NEW)
    assert case.category == "construction_dust" and case.severity == "HIGH" and case.channel == "HOTLINE_12345"
    assert case.address.startswith("温州市鹿城区") and case.complainant_contact == "138****7001"
    assert case.complainant_token.startswith("k1:") and case.first_dispatched_at == case.dispatched_at == T0
    assert case.lead_department == "epb" and case.handling_grid == "330302003"
    assert case.handover_cause is None and case.acknowledged_at is None
    assert book.case(CASE) == case and len(book) == 1


def test_status_follows_the_units_own_notices_since_its_latest_copy():
    at = T0 + timedelta(hours=1)
    assert book_of(EPB, copy(), notice("ACKNOWLEDGE", at=at)).case(CASE).status is CaseStatus.ACKNOWLEDGED
    steps = [notice("ACKNOWLEDGE", at=at), notice("PROGRESS", at=at + timedelta(hours=1), message="在查")]
    assert book_of(EPB, copy(), *steps).case(CASE).status is CaseStatus.IN_PROGRESS
    steps.append(notice("RESULT", at=at + timedelta(hours=2), resolution="已整改"))
    case = book_of(EPB, copy(), *reversed(steps)).case(CASE)  # reading order does not matter
    assert case.status is CaseStatus.RESULT_SENT and case.acknowledged_at == at
    assert [kind for _, kind, _ in case.notices] == ["ACKNOWLEDGE", "PROGRESS", "RESULT"]
    assert case.last_notice_at == at + timedelta(hours=2)
    escalated = book_of(EPB, copy(), notice("ACKNOWLEDGE", at=at), notice("ESCALATION_REQUEST", at=at, reason="跨区"))
    assert escalated.case(CASE).status is CaseStatus.ESCALATION_REQUESTED
    transferring = book_of(EPB, copy(), notice("TRANSFER_REQUEST", at=at, reason="不属本局"))
    assert transferring.case(CASE).status is CaseStatus.TRANSFER_REQUESTED
    # a notice from before the latest copy belongs to an earlier role: a new assignment starts afresh
    reassigned = book_of(EPB, copy(), notice("ACKNOWLEDGE", at=at),
                         copy(role="LEAD", revision=4, change="ASSIGNED", at=at + timedelta(hours=5)))
    assert reassigned.case(CASE).status is CaseStatus.NEW and reassigned.case(CASE).revision == 4


def test_a_release_or_the_units_own_close_ends_the_case():
    released = book_of(EPB, copy(), copy(revision=2, change="RELEASED"))
    assert released.open_cases() == [] and len(released) == 0
    with pytest.raises(Refused) as refused:
        released.case(CASE)
    assert refused.value.reason is Reason.CASE_NOT_OPEN
    assert "released from its LEAD role at revision 2 (now held by housing): TRANSFER, not ours" in str(refused.value)
    closed = book_of(EPB, copy(), notice("CLOSE", message="结案"))
    assert closed.open_cases() == []
    with pytest.raises(Refused, match="it closed the case itself"):
        closed.case(CASE)


def test_an_unknown_case_is_refused_with_what_to_do():
    with pytest.raises(Refused) as refused:
        book_of(EPB, copy()).case("WZ-ffffffffffffffff")
    assert refused.value.reason is Reason.UNKNOWN_CASE
    assert "department epb has no copy of it" in str(refused.value) and "`cases` lists the open ones" in str(refused.value)


def test_a_copy_or_notice_read_twice_counts_once_and_others_units_records_are_not_taken():
    book = CaseBook(EPB)
    first = copy()
    assert book.add_copy(first) and not book.add_copy(dict(first))
    ack = notice("ACKNOWLEDGE")
    assert book.add_notice(ack) and not book.add_notice(dict(ack))
    assert not book.add_copy(copy(unit="housing", event_id="other"))  # another department's copy
    assert not book.add_notice(notice("ACKNOWLEDGE", unit="housing"))  # a forged notice on epb's topic
    assert not book.add("CaseLifecycleEvent", {})
    assert [c.case_id for c in book.open_cases()] == [CASE]


def test_a_grid_holds_a_case_in_each_of_its_units_and_the_handling_one_answers_first():
    township = "330302003"
    book = book_of(LUCHENG, copy(unit="330302", role="OWNING_GRID", kind="GRID"),
                   copy(unit=township, role="HANDLING_GRID", kind="GRID", revision=3, change="ASSIGNED", lead=None),
                   copy(unit="330303", role="OWNING_GRID", kind="GRID", case_id="WZ-2"))  # not under 330302
    assert [(c.case_id, c.unit) for c in book.open_cases()] == [(CASE, "330302"), (CASE, township)]
    assert book.case(CASE).unit == township and book.case(CASE).role == "HANDLING_GRID"
    assert [c.revision for c in book.entries(CASE)] == [3, 0]
    city = book_of(CITY, copy(unit="330302", role="OWNING_GRID", kind="GRID"))
    assert city.open_cases() == []  # the city speaks only for itself


def test_open_cases_come_oldest_first():
    book = book_of(EPB, *(copy(case_id=f"WZ-{n}", at=T0 + timedelta(hours=10 - n)) for n in range(5)))
    assert [c.case_id for c in book.open_cases()] == [f"WZ-{n}" for n in reversed(range(5))]
    assert book.open_cases()[0].to_dict()["first_dispatched_at"] == (T0 + timedelta(hours=6)).isoformat()


# --- properties ----------------------------------------------------------------------------------------

UNITS = ("epb", "housing")
CHANGES = (None, "ASSIGNED", "RELEASED")


@st.composite
def histories(draw):
    """Copies for a few cases and two departments, and epb's notices, as a topic might hold them."""
    records = []
    for case in range(draw(st.integers(1, 4))):
        case_id = f"WZ-{case}"
        for revision in sorted(draw(st.sets(st.integers(0, 8), min_size=1, max_size=5))):
            unit = draw(st.sampled_from(UNITS))
            change = None if revision == 0 else draw(st.sampled_from(CHANGES[1:]))
            role = draw(st.sampled_from(("LEAD", "ASSISTING")))
            records.append(copy(case_id, unit, role, revision, change=change))
        for index in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(("ACKNOWLEDGE", "PROGRESS", "RESULT", "TRANSFER_REQUEST", "CLOSE")))
            records.append(notice(kind, case_id, at=T0 + timedelta(hours=draw(st.integers(0, 10))),
                                  event_id=f"{case_id}:n{index}", reason="r", resolution="x"))
    return records


def _summary(book: CaseBook) -> list[tuple]:
    return [(c.case_id, c.unit, c.role, c.revision, c.status, c.notices) for c in book.open_cases()]


@settings(max_examples=300)
@given(histories(), st.randoms(use_true_random=False), st.integers(0, 3))
def test_the_book_does_not_depend_on_reading_order_or_redelivery(records, rng, repeats):
    reference = _summary(book_of(EPB, *records))
    shuffled = records + [dict(r) for r in rng.sample(records, min(repeats, len(records)))]  # re-sent records
    rng.shuffle(shuffled)
    assert _summary(book_of(EPB, *shuffled)) == reference


@settings(max_examples=300)
@given(histories())
def test_a_case_is_open_exactly_when_its_latest_copy_assigns_it_and_the_unit_did_not_close_it(records):
    book = book_of(EPB, *records)
    ours = [r for r in records if "target" in r and r["target"]["code"] == "epb"]
    closed = {r["case_id"] for r in records if "target" not in r and r["kind"] == "CLOSE"}
    expected = set()
    for case_id in {r["case_id"] for r in ours}:
        latest = max((r for r in ours if r["case_id"] == case_id), key=lambda r: r["revision"])
        if (latest["handover"] or {}).get("change") != "RELEASED" and case_id not in closed:
            expected.add((case_id, latest["target"]["role"], latest["revision"]))
    assert {(c.case_id, c.role, c.revision) for c in book.open_cases()} == expected


def test_reading_thousands_of_records_in_random_order_gives_the_same_book():
    rng = random.Random(7)
    records = [copy(f"WZ-{n % 300}", rng.choice(UNITS), "LEAD", rev, change=None if rev == 0 else rng.choice(CHANGES[1:]))
               for n in range(3000) for rev in (n // 300,)]
    reference = _summary(book_of(EPB, *records))
    rng.shuffle(records)
    assert _summary(book_of(EPB, *records)) == reference
