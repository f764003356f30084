"""Open petitions of December 2026 run under the provisional 2027; an "official" 2027 with another Spring
Festival and make-up workdays is published; the case desk moves every open deadline to the hand-counted
day, records why in the case history, withdraws what is no longer due and fires what now is (issue 13, part 3).

The official 2027 is made up (as in tests/unit/sla/test_retiming.py): Spring Festival Thu 4 – Fri 12 Feb
(the estimate: Fri 5 – Wed 10), make-up workdays Sun 31 Jan and Sat 20 Feb. So against the estimate,
Sun 31 Jan becomes a workday, Thu 4, Thu 11 and Fri 12 Feb days off, Sat 20 Feb a workday.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from envgrid.connectors import records
from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.domain.sla.calendar import CHINA_TZ, CalendarBasis
from envgrid.domain.sla.calendar_change import Publication
from envgrid.domain.sla.calendar_data import load_year_file
from tests.unit.pipeline.harness import HISTORY, SLA, InMemoryPipeline
from tests.unit.sla.calendar_fixtures import OFFICIAL_2027_YAML


def cst(month: int, day: int, hour: int = 0, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CHINA_TZ)


# Hand counts (the day after acceptance is the first counted day; a limit ends at 24:00 of its last day).
# A: accepted Tue 1 Dec 2026, 60 working days from Wed 2 Dec. December: 22 workdays, January 20 (1 Jan off).
#    Provisional: Feb 1-4 (46), 11-12 (48), 15-19 (53), 22-26 (58), Mar 1-2 (60) -> ends Tue 2 Mar.
#    Official: Sun 31 Jan (43), Feb 1-3 (46), 15-19 (51), Sat 20 (52), 22-26 (57), Mar 1-3 (60) -> ends Wed 3 Mar.
#    80 % = 48 working days: provisional Fri 12 Feb, official Tue 16 Feb.
A = {"accepted": cst(12, 1, 10, 2026), "old": cst(3, 3), "new": cst(3, 4), "warn80_old": cst(2, 13), "warn80_new": cst(2, 17)}
# C: accepted Fri 18 Dec 2026, counted from Mon 21 Dec: December 9 workdays, January 20 -> 29 by Fri 29 Jan.
#    50 % = 30 working days: provisional Mon 1 Feb, official Sun 31 Jan (a make-up workday).
#    Provisional: Feb 1-4 (33), 11-12 (35), 15-19 (40), 22-26 (45), Mar 1-5 (50), 8-12 (55), 15-19 (60) -> Fri 19 Mar.
#    Official: Jan 31 (30), Feb 1-3 (33), 15-19 (38), Sat 20 (39), 22-26 (44), Mar 1-5 (49), 8-12 (54),
#    15-19 (59), Mon 22 Mar (60).
C = {"accepted": cst(12, 18, 10, 2026), "old": cst(3, 20), "new": cst(3, 23), "warn50_old": cst(2, 2), "warn50_new": cst(2, 1)}
# E: opened Mon 18 Jan 2027 and never accepted: 15 working days to decide acceptance, counted from Tue 19 Jan.
#    Provisional: Jan 19-22 (4), 25-29 (9), Feb 1-4 (13), 11-12 (15) -> breach at 24:00 Fri 12 Feb.
#    Official: Jan 19-22 (4), 25-29 (9), Sun 31 (10), Feb 1-3 (13), 15-16 (15) -> breach at 24:00 Tue 16 Feb.
E = {"opened": cst(1, 18, 10), "old": cst(2, 13), "new": cst(2, 17)}


@pytest.fixture
def official(tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_text(OFFICIAL_2027_YAML, encoding="utf-8")
    return load_year_file(path)


def _open(pipeline: InMemoryPipeline, number: int, at: datetime, accept: bool) -> str:
    sample = sample_events()["PetitionComplaint"]
    event_id = f"00000000-0000-4000-b000-{number:012d}"
    pipeline.report(("PetitionComplaint", dict(sample, event_id=event_id, channel="LETTER", occurred_at=at,
                                               received_at=at)))
    case_id = case_id_for(event_id)
    assert case_id in pipeline.state.files, pipeline.dead
    if accept:
        notice = dict(sample_events()["DepartmentNotice"], event_id=f"ack-{number}", case_id=case_id, kind="ACKNOWLEDGE",
                      unit_code="housing", occurred_at=at, received_at=at, message="受理")
        assert not pipeline.notice(notice).refused
    return case_id


def _petitions(clock: datetime) -> tuple[InMemoryPipeline, dict[str, str]]:
    pipeline = InMemoryPipeline()
    pipeline.cases.tasks = None  # the tests count these petitions' deadlines: no 2027-Q1 supervision tasks
    pipeline.tick(cst(11, 30, 0, 2026))  # the first tick sets the partition's SLA clock
    cases = {"A": _open(pipeline, 1, A["accepted"], True), "C": _open(pipeline, 2, C["accepted"], True)}
    cases["E"] = _open(pipeline, 3, E["opened"], False)
    pipeline.tick(clock)
    return pipeline, cases


def _sla(pipeline: InMemoryPipeline, case_id: str, since: int = 0) -> list[tuple[str, str, float, datetime]]:
    return [(o.value["kind"], o.value["milestone"], o.value["fraction"], o.value["occurred_at"])
            for o in pipeline.on(SLA)[since:] if o.key == case_id]


def _retimed(pipeline: InMemoryPipeline, case_id: str) -> list[dict]:
    return [o.value for o in pipeline.on(HISTORY) if o.key == case_id and o.value["kind"] == "deadline_retimed"]


def _deadline(pipeline: InMemoryPipeline, case_id: str, milestone: str) -> datetime:
    from envgrid.domain.sla.timer import BREACH, threshold_at
    timer = pipeline.state.timers[f"{case_id}|{milestone}"]
    reckoned = threshold_at(timer, BREACH, pipeline.cases.tracker.worktime)
    assert reckoned is not None
    return reckoned.at


def test_a_late_notice_moves_every_deadline_to_the_hand_counted_day_and_fires_what_is_now_due(official):
    clock = cst(2, 1, 12)  # the notice is published on Mon 1 Feb 2027 at noon
    pipeline, cases = _petitions(clock)
    a, c, e = cases["A"], cases["C"], cases["E"]
    assert (_deadline(pipeline, a, "resolve"), _deadline(pipeline, c, "resolve")) == (A["old"], C["old"])
    assert _deadline(pipeline, e, "accept_decision") == E["old"]
    assert pipeline.cases.calendar.count(pipeline.state)[CalendarBasis.PROVISIONAL] == 3
    assert ("WARNING", "resolve", 0.5, C["warn50_old"]) not in _sla(pipeline, c)  # not due yet under the estimate
    sent = len(pipeline.on(SLA))

    handled = pipeline.calendar(records.calendar_record(Publication(official, clock)))

    assert not handled.refused and not handled.replayed
    assert (_deadline(pipeline, a, "resolve"), _deadline(pipeline, c, "resolve")) == (A["new"], C["new"])
    assert _deadline(pipeline, e, "accept_decision") == E["new"]
    # C's half-time warning: the official calendar reached it at 24:00 on Sun 31 Jan, before the noon clock
    assert _sla(pipeline, c, sent) == [("WARNING", "resolve", 0.5, C["warn50_new"])]
    [history] = _retimed(pipeline, a)
    assert history["details"]["old_deadline"] == A["old"].isoformat()
    assert history["details"]["new_deadline"] == A["new"].isoformat()
    assert history["details"]["calendar_version"] == official.id and history["details"]["milestone"] == "resolve"
    assert "2027 holiday schedule official (国务院办公厅关于2027年部分节假日安排的通知 (test)" in history["reason"]
    assert "2027-02-04 off" in history["details"]["changed_days"] and "2027-01-31 workday" in history["details"]["changed_days"]
    [history_c] = _retimed(pipeline, c)
    assert "now due: warning at 50%" in history_c["reason"] and history_c["details"]["now_due"] == "0.5"
    _revisions_are_contiguous(pipeline, (a, c, e))
    assert handled.unofficial_deadlines is not None and handled.unofficial_deadlines[CalendarBasis.PROVISIONAL] == 0
    # the old deadlines' scheduled entries are dead: the next ticks fire at the new instants only
    pipeline.tick(cst(2, 16, 12))
    assert ("WARNING", "resolve", 0.8, A["warn80_old"]) not in _sla(pipeline, a)
    pipeline.tick(cst(2, 17, 1))
    assert ("WARNING", "resolve", 0.8, A["warn80_new"]) in _sla(pipeline, a)
    assert ("BREACH", "accept_decision", 1.0, E["new"]) in _sla(pipeline, e)


def test_a_correction_withdraws_warnings_and_breaches_no_longer_due_and_keeps_the_escalation(official):
    clock = cst(2, 14, 10)  # Sun 14 Feb: the estimate's Spring Festival is over, the notice says otherwise
    pipeline, cases = _petitions(clock)
    a, e = cases["A"], cases["E"]
    assert ("WARNING", "resolve", 0.8, A["warn80_old"]) in _sla(pipeline, a)
    assert ("BREACH", "accept_decision", 1.0, E["old"]) in _sla(pipeline, e)
    escalated = [o for o in pipeline.on(HISTORY) if o.key == e and o.value["kind"] == "escalated"]
    assert len(escalated) == 1
    sent = len(pipeline.on(SLA))

    pipeline.calendar(records.calendar_record(Publication(official, clock)))

    withdrawn = [o.value for o in pipeline.on(SLA)[sent:] if o.value["kind"] == "WITHDRAWN"]
    assert {(w["case_id"], w["milestone"], w["fraction"]) for w in withdrawn} == {
        (a, "resolve", 0.8), (e, "accept_decision", 1.0)}
    assert all(w["event_id"].endswith(f":withdrawn:{int(clock.timestamp() * 1000)}") for w in withdrawn)
    assert {w["deadline"] for w in withdrawn} == {A["new"], E["new"]}
    [history_e] = _retimed(pipeline, e)
    assert "withdrawn: breach" in history_e["reason"] and "the escalation the breach caused stands" in history_e["reason"]
    assert pipeline.state.files[e].case.state.value == "escalated"  # not un-escalated
    _revisions_are_contiguous(pipeline, (a, e))
    # what is no longer due comes due again at its new instant
    pipeline.tick(cst(2, 17, 1))
    assert ("WARNING", "resolve", 0.8, A["warn80_new"]) in _sla(pipeline, a)


def test_publishing_the_same_version_again_changes_nothing(official):
    clock = cst(2, 1, 12)
    pipeline, cases = _petitions(clock)
    record = records.calendar_record(Publication(official, clock))
    pipeline.calendar(record)
    timers = dict(pipeline.state.timers)
    sent = len(pipeline.sent)
    again = pipeline.calendar(records.calendar_record(Publication(official, clock + timedelta(days=1))))
    assert again.replayed and not again.outputs
    assert dict(pipeline.state.timers) == timers and len(pipeline.sent) == sent


def test_a_record_whose_days_do_not_give_its_version_is_refused(official):
    pipeline, _ = _petitions(cst(1, 4, 12))
    record = dict(records.calendar_record(Publication(official, cst(1, 4, 12))), version_id="2027-official-0000000000")
    handled = pipeline.calendar(record)
    assert handled.refused is not None and handled.refused.reason_code == "invalid_calendar"


def _revisions_are_contiguous(pipeline: InMemoryPipeline, case_ids) -> None:
    for case_id in case_ids:
        revisions = [o.value["revision"] for o in pipeline.on(HISTORY) if o.key == case_id]
        assert sorted(set(revisions)) == list(range(max(revisions) + 1)), (case_id, revisions)
