"""Clocks for tests and replays, and the case lifecycle driving the case desk's SLA timers end to end."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from envgrid.domain.cases import Notice, NoticeKind, Outcome, Reporter, ReporterKind, apply, dispatch, open_case
from envgrid.domain.cases.model import CaseState
from envgrid.domain.sla import (
    CHINA_TZ,
    FixedClock,
    ManualClock,
    SlaCommand,
    SlaEscalation,
    SlaEvent,
    load_sla_policies,
)
from tests.unit.sla.case_desk_sla import CaseDeskSla, RecordingTracker

DEPARTMENTS = {"env", "water"}
CHAIN = ("village-7", "town-3", "district-lc", "city-wz")


def test_fixed_and_manual_clocks():
    start = datetime(2025, 9, 29, 9, tzinfo=CHINA_TZ)
    assert FixedClock(start).now() == start
    clock = ManualClock(start)
    assert clock.advance(timedelta(minutes=5)) == start + timedelta(minutes=5) == clock.now()
    assert clock.set(start + timedelta(hours=1)) == clock.now()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(start)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2025, 9, 29, 9))


def test_case_lifecycle_drives_the_case_desks_sla_timers_and_a_breach_escalates_the_case():
    clock = ManualClock(datetime(2025, 9, 29, 9, tzinfo=CHINA_TZ))
    sla = CaseDeskSla(RecordingTracker(load_sla_policies()), clock.now())
    citizen = Reporter(ReporterKind.COMPLAINANT, "hotline_12369")

    def feed(outcome):
        assert isinstance(outcome, Outcome), outcome
        for effect in outcome.of_type(SlaCommand):
            sla.apply(effect)
        return outcome.case

    case = feed(open_case("C1", "dust", "hotline_12369", "E1", citizen, CHAIN, 4, clock.now(), DEPARTMENTS, "env"))
    clock.advance(timedelta(minutes=30))
    case = feed(apply(case, Notice("n1", "C1", NoticeKind.ACKNOWLEDGE, "env"), DEPARTMENTS, clock.now()))
    assert sla.tick(clock.advance(timedelta(hours=2))) == []  # acknowledged in time; resolve clock runs
    case = feed(apply(case, Notice("n2", "C1", NoticeKind.TRANSFER_REQUEST, "env", "water, not air"), DEPARTMENTS, clock.now()))
    clock.advance(timedelta(days=3))  # paused while the router decides
    case = feed(dispatch(case, "water", (), DEPARTMENTS, clock.now()))
    signals = sla.tick(clock.advance(timedelta(days=30)))
    breach = next(s for s in signals if isinstance(s, SlaEvent) and s.fraction == 1.0)
    assert breach.handler_unit == "water" and breach.supervising_grid == "town-3"
    escalation = next(s for s in signals if isinstance(s, SlaEscalation))
    notice = Notice("sla-1", "C1", NoticeKind.ESCALATION_REQUEST, escalation.to_grid, f"SLA breach: {escalation.milestone}")
    escalated = apply(case, notice, DEPARTMENTS, clock.now())
    assert escalated.case.state is CaseState.ESCALATED and escalated.case.handling_grid == "town-3"
