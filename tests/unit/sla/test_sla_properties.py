"""Property tests: random start/pause/resume/stop/extend/tick sequences on the case desk's SLA timers and its
due-minute schedule (`tests.unit.sla.case_desk_sla`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from envgrid.domain.sla.calendar import CHINA_TZ
from envgrid.domain.sla.commands import Milestone, PauseReason, SlaAction, SlaCommand
from envgrid.domain.sla.policy import load_sla_policies
from envgrid.domain.sla.timer import SlaEscalation, SlaEvent, SlaEventKind, TimerState, threshold_at
from envgrid.streams.due_minutes import due_minute
from tests.unit.sla.case_desk_sla import CaseDeskSla, RecordingTracker

POLICIES = load_sla_policies()
T0 = datetime(2025, 9, 24, 8, tzinfo=CHINA_TZ)  # spans National Day 2025 and its make-up workdays

steps = st.lists(st.tuples(
    st.sampled_from(["start", "pause", "resume", "stop", "extend", "tick", "tick", "tick"]),
    st.sampled_from(["C1", "C2"]),
    st.sampled_from([Milestone.ACKNOWLEDGE, Milestone.RESOLVE, Milestone.ACCEPT_DECISION]),
    st.integers(min_value=0, max_value=60 * 24 * 4),  # minutes to wait before the step
), max_size=40)
channels = st.sampled_from(["hotline_12345", "letter", "patrol"])


@settings(max_examples=250, deadline=None)
@given(channels, steps)
def test_thresholds_fire_once_in_order_never_early_and_never_while_paused(channel, script):
    desk = CaseDeskSla(RecordingTracker(POLICIES), T0)
    now, fired = T0, {}
    for action, case_id, milestone, wait in script:
        now += timedelta(minutes=wait)
        key = (case_id, milestone.value)
        if action == "tick":
            running_before = {k: t.state is TimerState.RUNNING for k, t in desk.timers.items()}
            for signal in desk.tick(now):
                if isinstance(signal, SlaEscalation):
                    assert fired[(signal.case_id, signal.milestone.value)][-1] == 1.0
                    continue
                assert isinstance(signal, SlaEvent) and signal.at <= now and signal.at <= signal.deadline
                assert running_before[(signal.case_id, signal.milestone.value)]
                history = fired.setdefault((signal.case_id, signal.milestone.value), [])
                assert not history or history[-1] < signal.fraction  # once each, in order
                history.append(signal.fraction)
                assert (signal.kind is SlaEventKind.BREACH) == (signal.fraction == 1.0)
            for timer in desk.timers.values():  # after a tick nothing overdue stays unreported
                pending = [f for f in timer.thresholds if f not in timer.fired]
                if timer.state is TimerState.RUNNING and pending:
                    assert threshold_at(timer, pending[0], desk.tracker.worktime).at > now - timedelta(minutes=1)
            continue
        command = SlaCommand(
            SlaAction(action), case_id, milestone, now, channel, "dust", "env", "town-3",
            PauseReason.TRANSFERRED if action == "pause" else None, 1.0 if action == "extend" else 0.0,
        )
        before = desk.timers.get(key)
        change = desk.apply(command)
        if (before is not None and before.state is TimerState.STOPPED and change.timer is not None
                and change.timer.state is TimerState.RUNNING):
            fired.pop(key, None)  # a met milestone timed again (e.g. re-dispatch): its thresholds count afresh
        if change.timer is not None:
            assert change.timer.counted >= timedelta(0) and change.timer.budget > timedelta(0)
            assert before is None or change.timer.generation >= before.generation
            scheduled = desk.scheduled(case_id, milestone)  # entries that would fire this timer as it stands
            assert bool(scheduled) == (change.next_due is not None)
            if change.next_due is not None:  # at its minute, or the next tick's if that minute is judged already
                assert max(due_minute(change.next_due), desk.clock + 1) in scheduled
