"""The clock of one milestone of one case: counted time, pauses, extensions, warnings and breach.

A timer is an immutable value. Counted time (see `envgrid.domain.sla.worktime`) accrues only while it runs; the
deadline is where the remaining budget runs out from the last (re)start. Each threshold — the warning
fractions and the breach at 1.0 — is reported once.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from envgrid.domain.sla.calendar import CalendarBasis, weakest
from envgrid.domain.sla.commands import Milestone, PauseReason
from envgrid.domain.sla.worktime import Reckoned, TimeBasis, WorkTime

BREACH = 1.0


class TimerState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class SlaEventKind(StrEnum):
    WARNING = "warning"  # 预警
    BREACH = "breach"    # 超期
    WITHDRAWN = "withdrawn"  # a warning or breach no longer due after the calendar changed (撤回)


@dataclass(frozen=True, slots=True)
class SlaEvent:
    """A warning or breach for one milestone, addressed to the handler and its supervising upper grid."""

    kind: SlaEventKind
    case_id: str
    milestone: Milestone
    fraction: float
    at: datetime        # the instant the threshold was crossed
    deadline: datetime  # the instant the whole limit runs out (as of now; pauses move it)
    handler_unit: str
    supervising_grid: str
    calendar_basis: CalendarBasis  # the weakest calendar data a day involved rested on (official, provisional, ...)
    policy_id: str = ""  # the config/sla.yaml entry that set the limit
    started_at: datetime | None = None  # when the clock started
    calendar_version: str = ""  # WorkingCalendar.version_id the deadline was computed with

    @property
    def calendar(self) -> str:
        return str(self.calendar_basis)

    @property
    def event_id(self) -> str:
        """Idempotency key: the same threshold of the same clock run always gets the same id."""
        started = "" if self.started_at is None else f":{int(self.started_at.timestamp() * 1000)}"
        withdrawn = f":withdrawn:{int(self.at.timestamp() * 1000)}" if self.kind is SlaEventKind.WITHDRAWN else ""
        return f"{self.case_id}:{self.milestone.value}:{self.fraction:g}{started}{withdrawn}"


@dataclass(frozen=True, slots=True)
class SlaEscalation:
    """A breach hands the case to the supervising upper grid (fed back as an escalation request)."""

    case_id: str
    milestone: Milestone
    to_grid: str
    from_unit: str
    deadline: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class MilestoneTimer:
    case_id: str
    milestone: Milestone
    handler_unit: str
    supervising_grid: str
    basis: TimeBasis
    budget: timedelta
    thresholds: tuple[float, ...]  # warning fractions, then BREACH
    pausable: frozenset[PauseReason]
    state: TimerState
    counted: timedelta  # counted time up to `since`
    since: datetime     # last (re)start of counting, or when it was paused/stopped
    fired: tuple[float, ...] = ()
    pause_reason: PauseReason | None = None
    extensions_used: int = 0
    extended_by: timedelta = timedelta(0)
    generation: int = 0  # bumped on every change: the schedule's token for lazy cancellation (streams.due_minutes)
    calendar_basis: CalendarBasis = CalendarBasis.OFFICIAL  # weakest basis of the time counted so far
    policy_id: str = ""
    started_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.case_id, self.milestone.value)

    @property
    def breached(self) -> bool:
        return BREACH in self.fired


def start_timer(
    case_id: str,
    milestone: Milestone,
    handler_unit: str,
    supervising_grid: str,
    basis: TimeBasis,
    budget: timedelta,
    warning_fractions: tuple[float, ...],
    pausable: frozenset[PauseReason],
    at: datetime,
    worktime: WorkTime,
    policy_id: str = "",
) -> MilestoneTimer:
    return MilestoneTimer(
        case_id=case_id, milestone=milestone, handler_unit=handler_unit, supervising_grid=supervising_grid,
        basis=basis, budget=budget, thresholds=(*warning_fractions, BREACH), pausable=pausable,
        state=TimerState.RUNNING, counted=timedelta(0), since=worktime.counting_start(basis, at),
        policy_id=policy_id, started_at=at,
    )


def threshold_at(timer: MilestoneTimer, fraction: float, worktime: WorkTime) -> Reckoned | None:
    """When `fraction` of the budget is used up; None unless the timer runs."""
    if timer.state is not TimerState.RUNNING:
        return None
    reckoned = worktime.advance(timer.basis, timer.since, timer.budget * fraction - timer.counted)
    return Reckoned(reckoned.at, weakest(reckoned.calendar_basis, timer.calendar_basis))


def next_due(timer: MilestoneTimer, worktime: WorkTime) -> Reckoned | None:
    """The next threshold still to report, or None (stopped, paused or everything reported)."""
    pending = [f for f in timer.thresholds if f not in timer.fired]
    return threshold_at(timer, pending[0], worktime) if pending else None


def fire_due(
    timer: MilestoneTimer, now: datetime, worktime: WorkTime
) -> tuple[MilestoneTimer, list[SlaEvent | SlaEscalation]]:
    """Report every threshold crossed by `now` (several when a tick comes late), each exactly once."""
    if timer.state is not TimerState.RUNNING:
        return timer, []
    first = next_due(timer, worktime)  # the usual case on every input: nothing due yet, one reckoning
    if first is None or first.at > now:
        return timer, []
    deadline = threshold_at(timer, BREACH, worktime)
    assert deadline is not None
    signals: list[SlaEvent | SlaEscalation] = []
    fired = list(timer.fired)
    for fraction in timer.thresholds:
        if fraction in fired:
            continue
        crossed = threshold_at(timer, fraction, worktime)
        assert crossed is not None
        if crossed.at > now:
            break
        fired.append(fraction)
        kind = SlaEventKind.BREACH if fraction >= BREACH else SlaEventKind.WARNING
        signals.append(SlaEvent(
            kind, timer.case_id, timer.milestone, fraction, crossed.at, deadline.at,
            timer.handler_unit, timer.supervising_grid, deadline.calendar_basis, timer.policy_id, timer.started_at,
            worktime.calendar.version_id,
        ))
        if kind is SlaEventKind.BREACH:
            signals.append(SlaEscalation(
                timer.case_id, timer.milestone, timer.supervising_grid, timer.handler_unit, deadline.at, crossed.at,
            ))
    if not signals:
        return timer, []
    return _changed(timer, fired=tuple(fired)), signals


def pause_timer(timer: MilestoneTimer, at: datetime, reason: PauseReason, worktime: WorkTime) -> MilestoneTimer:
    """Pause if the policy allows pausing for `reason`; otherwise the clock keeps running."""
    if timer.state is not TimerState.RUNNING or reason not in timer.pausable:
        return timer
    return _settle(timer, at, worktime, state=TimerState.PAUSED, pause_reason=reason)


def resume_timer(timer: MilestoneTimer, at: datetime) -> MilestoneTimer:
    if timer.state is not TimerState.PAUSED:
        return timer
    return _changed(timer, state=TimerState.RUNNING, since=max(at, timer.since), pause_reason=None)


def stop_timer(timer: MilestoneTimer, at: datetime, worktime: WorkTime) -> MilestoneTimer:
    if timer.state is TimerState.STOPPED:
        return timer
    if timer.state is TimerState.PAUSED:
        return _changed(timer, state=TimerState.STOPPED, pause_reason=None, since=max(at, timer.since))
    return _settle(timer, at, worktime, state=TimerState.STOPPED, pause_reason=None)


def extend_timer(timer: MilestoneTimer, extra: timedelta) -> MilestoneTimer:
    """Add `extra` counted time to the budget; the caller checks the policy's limits first."""
    return _changed(timer, budget=timer.budget + extra, extensions_used=timer.extensions_used + 1,
                    extended_by=timer.extended_by + extra)


def reassign_timer(timer: MilestoneTimer, handler_unit: str, supervising_grid: str) -> MilestoneTimer:
    if (handler_unit, supervising_grid) == (timer.handler_unit, timer.supervising_grid):
        return timer
    return _changed(timer, handler_unit=handler_unit, supervising_grid=supervising_grid)


def _settle(timer: MilestoneTimer, at: datetime, worktime: WorkTime, **changes: Any) -> MilestoneTimer:
    counted = worktime.counted(timer.basis, timer.since, at)
    return _changed(
        timer, counted=timer.counted + counted.amount, since=max(at, timer.since),
        calendar_basis=weakest(timer.calendar_basis, counted.calendar_basis), **changes,
    )


def _changed(timer: MilestoneTimer, **changes: Any) -> MilestoneTimer:
    return replace(timer, generation=timer.generation + 1, **changes)
