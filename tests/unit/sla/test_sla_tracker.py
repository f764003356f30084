"""SLA timers through the case desk (its timer store and due-minute schedule, `tests.unit.sla.case_desk_sla`):
warnings at 0.5 and 0.8, breach at 1.0 with escalation, pauses, extensions."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from envgrid.domain.sla.calendar import CHINA_TZ, CalendarBasis, WorkingCalendar
from envgrid.domain.sla.commands import Milestone, PauseReason, SlaAction, SlaCommand
from envgrid.domain.sla.policy import load_sla_policies
from envgrid.domain.sla.timer import SlaEscalation, SlaEvent, SlaEventKind, TimerState, threshold_at
from envgrid.domain.sla.tracker import ExtensionRefusal, ExtensionRejected
from tests.unit.sla.case_desk_sla import CaseDeskSla, RecordingTracker

POLICIES = load_sla_policies()
ACK, RESOLVE = Milestone.ACKNOWLEDGE, Milestone.RESOLVE


def cst(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


START = cst(2025, 9, 25)


def desk(start: datetime | None = None) -> CaseDeskSla:
    """A case desk whose SLA clock starts at `start` (by default before every test's first command)."""
    return CaseDeskSla(RecordingTracker(POLICIES), start or START)


def command(action, milestone, at, channel="hotline_12369", handler="env", reason=None, supervisor="town-3",
            case_id="C1") -> SlaCommand:
    return SlaCommand(action, case_id, milestone, at, channel, "dust", handler, supervisor, reason)


def summary(signals) -> list[tuple]:
    return [(s.kind, s.fraction, s.at) if isinstance(s, SlaEvent) else ("escalation", s.to_grid, s.at) for s in signals]


def test_hotline_acknowledgement_warns_at_half_and_eighty_percent_then_breaches_and_escalates():
    sla = desk()
    sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 9)))
    assert sla.tick(cst(2025, 9, 29, 9, 59)) == []
    assert summary(sla.tick(cst(2025, 9, 29, 10))) == [(SlaEventKind.WARNING, 0.5, cst(2025, 9, 29, 10))]
    assert summary(sla.tick(cst(2025, 9, 29, 10, 36))) == [(SlaEventKind.WARNING, 0.8, cst(2025, 9, 29, 10, 36))]
    breach, escalation = sla.tick(cst(2025, 9, 29, 11))
    assert (breach.kind, breach.fraction, breach.deadline, breach.milestone) == (SlaEventKind.BREACH, 1.0, cst(2025, 9, 29, 11), ACK)
    assert (breach.case_id, breach.handler_unit, breach.supervising_grid, breach.calendar_basis) == ("C1", "env", "town-3", CalendarBasis.OFFICIAL)
    assert (breach.policy_id, breach.started_at, breach.calendar) == ("hotline", cst(2025, 9, 29, 9), "cn_official")
    assert breach.event_id == f"C1:acknowledge:1:{int(cst(2025, 9, 29, 9).timestamp() * 1000)}"
    assert isinstance(escalation, SlaEscalation) and (escalation.to_grid, escalation.from_unit) == ("town-3", "env")
    assert sla.tick(cst(2025, 9, 30)) == [] and sla.entries() == []  # nothing left in the schedule


def test_a_late_tick_reports_every_crossed_threshold_once_in_order():
    sla = desk()
    sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 9)))
    assert [s[0:2] for s in summary(sla.tick(cst(2025, 10, 20)))] == [
        (SlaEventKind.WARNING, 0.5), (SlaEventKind.WARNING, 0.8), (SlaEventKind.BREACH, 1.0), ("escalation", "town-3")]


def test_stopping_in_time_cancels_every_pending_threshold():
    sla = desk()
    sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 9)))
    sla.apply(command(SlaAction.STOP, ACK, cst(2025, 9, 29, 9, 30)))
    assert sla.timers[("C1", "acknowledge")].state is TimerState.STOPPED
    assert sla.tick(cst(2025, 12, 1)) == [] and sla.entries() == []  # nothing left in the schedule


def test_paused_time_does_not_count():
    # Hotline resolve: 5 working days from 30 Sep (start day 29 Sep not counted); holidays 1–8 Oct.
    # C2 is timed alike and paused alike, but stays paused. The desk's clock only moves forward (event time).
    sla = desk()
    change = sla.apply(command(SlaAction.START, RESOLVE, cst(2025, 9, 29, 10)))
    sla.apply(command(SlaAction.START, RESOLVE, cst(2025, 9, 29, 10), case_id="C2"))
    assert sla.tracker.on_due(change.timer, cst(2025, 9, 29, 10)).timer == change.timer  # nothing due yet
    deadline_without_pause = cst(2025, 10, 14)
    assert _deadline(sla) == deadline_without_pause
    for case_id in ("C1", "C2"):  # 1.5 days used
        sla.apply(command(SlaAction.PAUSE, RESOLVE, cst(2025, 10, 9, 12), reason=PauseReason.TRANSFERRED, case_id=case_id))
    assert threshold_at(change.timer, 0.8, sla.tracker.worktime).at < cst(2025, 10, 13, 8)  # both warnings, unpaused
    assert sla.tick(cst(2025, 10, 13, 8)) == []  # paused: nothing can fall due
    sla.apply(command(SlaAction.RESUME, RESOLVE, cst(2025, 10, 13, 8), handler="water"))  # 3.5 days left
    assert _deadline(sla) == cst(2025, 10, 16, 20)
    signals = sla.tick(cst(2025, 10, 16, 20))  # past C2's deadline without the pause too
    assert [s.kind for s in signals if isinstance(s, SlaEvent)] == [SlaEventKind.WARNING, SlaEventKind.WARNING, SlaEventKind.BREACH]
    assert {s.handler_unit for s in signals if isinstance(s, SlaEvent)} == {"water"}
    assert {s.case_id for s in signals} == {"C1"}


def _deadline(sla: CaseDeskSla) -> datetime:
    return threshold_at(sla.timers[("C1", "resolve")], 1.0, sla.tracker.worktime).at


def test_pause_only_where_the_policy_allows_it():
    sla = desk()
    sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 9), channel="patrol"))
    sla.apply(command(SlaAction.PAUSE, ACK, cst(2025, 9, 29, 9, 30), channel="patrol", reason=PauseReason.AWAITING_EXTENSION))
    assert sla.timers[("C1", "acknowledge")].state is TimerState.RUNNING
    sla.apply(command(SlaAction.PAUSE, ACK, cst(2025, 9, 29, 9, 30), channel="patrol", reason=PauseReason.TRANSFERRED))
    assert sla.timers[("C1", "acknowledge")].state is TimerState.PAUSED


def test_milestones_without_a_policy_are_not_timed_and_repeat_starts_change_nothing():
    sla = desk()
    assert sla.apply(command(SlaAction.START, Milestone.ACCEPT_DECISION, cst(2025, 9, 29, 9))).timer is None
    assert sla.apply(command(SlaAction.STOP, RESOLVE, cst(2025, 9, 29, 9))).timer is None
    first = sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 9))).timer
    assert sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 11))).timer == first


def test_reassign_moves_warnings_to_the_new_handler_and_grid():
    sla = desk()
    sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 9)))
    sla.apply(command(SlaAction.REASSIGN, ACK, cst(2025, 9, 29, 9, 10), handler="town-3", supervisor="district-lc"))
    [warning] = sla.tick(cst(2025, 9, 29, 10))
    assert (warning.handler_unit, warning.supervising_grid) == ("town-3", "district-lc")


def test_petition_acceptance_and_handling_limits():
    sla = desk()
    received = cst(2025, 9, 25, 16)
    sla.apply(command(SlaAction.START, Milestone.ACCEPT_DECISION, received, channel="letter"))
    assert _due(sla, "accept_decision") == cst(2025, 10, 23)  # 15 working days across National Day
    sla.apply(command(SlaAction.START, RESOLVE, cst(2025, 10, 22, 10), channel="letter"))
    extended = sla.extend("C1", RESOLVE, "letter", "dust", 30)
    assert not isinstance(extended, ExtensionRejected) and extended.timer.extensions_used == 1
    again = sla.extend("C1", RESOLVE, "letter", "dust", 1)
    assert isinstance(again, ExtensionRejected) and again.reason is ExtensionRefusal.ALREADY_EXTENDED


def _due(sla: CaseDeskSla, milestone: str) -> datetime:
    return threshold_at(sla.timers[("C1", milestone)], 1.0, sla.tracker.worktime).at


@pytest.mark.parametrize("setup, channel, units, refusal", [
    ("running", "letter", 31, ExtensionRefusal.TOO_LONG),
    ("running", "patrol", 1, ExtensionRefusal.NOT_EXTENDABLE),
    ("stopped", "letter", 5, ExtensionRefusal.STOPPED),
    ("breached", "letter", 5, ExtensionRefusal.ALREADY_BREACHED),
    ("none", "letter", 5, ExtensionRefusal.NOT_TIMED),
])
def test_extension_refusals(setup, channel, units, refusal):
    sla = desk()
    if setup != "none":
        sla.apply(command(SlaAction.START, RESOLVE, cst(2025, 9, 29, 9), channel=channel))
    if setup == "stopped":
        sla.apply(command(SlaAction.STOP, RESOLVE, cst(2025, 9, 29, 10), channel=channel))
    if setup == "breached":
        sla.tick(cst(2026, 3, 1))
    outcome = sla.extend("C1", RESOLVE, channel, "dust", units)
    assert isinstance(outcome, ExtensionRejected) and outcome.reason is refusal and outcome.message


def test_an_extension_moves_the_deadline_by_working_days():
    sla = desk()
    sla.apply(command(SlaAction.START, RESOLVE, cst(2025, 9, 29, 10)))  # hotline: 5 working days, +5 allowed
    before = _deadline(sla)
    sla.extend("C1", RESOLVE, "hotline_12369", "dust", 1)
    assert before == cst(2025, 10, 14) and _deadline(sla) == cst(2025, 10, 15)


def test_events_beyond_the_official_calendar_say_which_calendar_they_used():
    last = WorkingCalendar().covered_years[1]
    monday = next(cst(last + 2, 3, d, 9) for d in range(1, 8) if date(last + 2, 3, d).weekday() == 0)
    sla = desk(monday)
    sla.apply(command(SlaAction.START, ACK, monday))
    [warning] = sla.tick(monday + timedelta(hours=1))
    assert warning.calendar_basis is CalendarBasis.STATUTORY_RULE and warning.calendar == "cn_statutory_rule"
    assert warning.calendar_version == sla.tracker.worktime.calendar.version_id


def test_an_extend_command_from_the_case_lifecycle_goes_through_the_policy_check():
    sla = desk()
    sla.apply(command(SlaAction.START, RESOLVE, cst(2025, 9, 29, 10), channel="letter"))
    granted = sla.apply(SlaCommand(SlaAction.EXTEND, "C1", RESOLVE, cst(2025, 10, 9), "letter", "dust", "env", "town-3", extension_units=20))
    assert granted.timer.extended_by == timedelta(days=20) and not granted.signals
    refused = sla.apply(SlaCommand(SlaAction.EXTEND, "C1", RESOLVE, cst(2025, 10, 9), "letter", "dust", "env", "town-3", extension_units=5))
    [rejection] = refused.signals
    assert isinstance(rejection, ExtensionRejected) and rejection.reason is ExtensionRefusal.ALREADY_EXTENDED
    untimed = sla.apply(SlaCommand(SlaAction.EXTEND, "C1", ACK, cst(2025, 10, 9), "letter", "dust", "env", "town-3", extension_units=1))
    assert untimed.signals[0].reason is ExtensionRefusal.NOT_TIMED and untimed.signals[0].case_id == "C1"


def test_a_met_acknowledgement_is_timed_again_for_a_new_lead_but_not_on_redelivery():
    sla = desk()
    start = command(SlaAction.START, ACK, cst(2025, 9, 29, 9))
    sla.apply(start)
    sla.apply(command(SlaAction.STOP, ACK, cst(2025, 9, 29, 9, 30)))
    assert sla.apply(start).timer.state is TimerState.STOPPED  # redelivered old start: nothing changes
    restarted = sla.apply(command(SlaAction.START, ACK, cst(2025, 9, 29, 14), handler="water"))
    assert restarted.timer.state is TimerState.RUNNING and restarted.next_due == cst(2025, 9, 29, 15)
    [warning] = sla.tick(cst(2025, 9, 29, 15))
    assert warning.handler_unit == "water"


def test_timers_round_trip_through_json():
    import json

    from envgrid.domain.sla.codec import timer_from_dict, timer_key, timer_to_dict

    sla = desk()
    sla.apply(command(SlaAction.START, RESOLVE, cst(2025, 9, 29, 10), channel="letter"))
    sla.apply(command(SlaAction.PAUSE, RESOLVE, cst(2025, 10, 9, 12), channel="letter", reason=PauseReason.TRANSFERRED))
    timer = sla.timers[("C1", "resolve")]
    assert timer_from_dict(json.loads(json.dumps(timer_to_dict(timer)))) == timer
    assert timer_key("C1", "resolve") == "C1/resolve"
