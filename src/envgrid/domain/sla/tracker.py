"""Turns the case lifecycle's SLA commands into timers and deadlines, and due deadlines into SLA events.

`SlaTracker` is pure: it maps (timer, command) or (timer, now) to a `TimerChange` — the new timer, the
events to publish and the next instant to schedule. The case desk (`envgrid.streams.case_service`) keeps the
timers in a table and schedules each next instant in the due-minute schedule (`envgrid.streams.due_minutes`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from envgrid.domain.sla.commands import Milestone, SlaAction, SlaCommand
from envgrid.domain.sla.policy import MilestoneRule, SlaPolicies
from envgrid.domain.sla.timer import (
    MilestoneTimer,
    SlaEscalation,
    SlaEvent,
    TimerState,
    extend_timer,
    fire_due,
    next_due,
    pause_timer,
    reassign_timer,
    resume_timer,
    start_timer,
    stop_timer,
)
from envgrid.domain.sla.worktime import WorkTime


class ExtensionRefusal(StrEnum):
    NOT_TIMED = "not_timed"
    NOT_EXTENDABLE = "not_extendable"  # the policy allows no extension for this milestone
    ALREADY_EXTENDED = "already_extended"
    TOO_LONG = "too_long"
    ALREADY_BREACHED = "already_breached"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ExtensionRejected:
    case_id: str
    milestone: Milestone
    reason: ExtensionRefusal
    message: str


SlaSignal = SlaEvent | SlaEscalation | ExtensionRejected


@dataclass(frozen=True, slots=True)
class TimerChange:
    timer: MilestoneTimer | None  # None: the milestone is not timed for this channel/category
    signals: tuple[SlaSignal, ...] = ()
    next_due: datetime | None = None  # schedule this (token = timer.generation); None: cancel


class SlaTracker:
    def __init__(self, policies: SlaPolicies, worktime: WorkTime | None = None) -> None:
        self.policies = policies
        self.worktime = worktime or WorkTime(office_periods=policies.office_periods)

    def on_command(self, timer: MilestoneTimer | None, command: SlaCommand) -> TimerChange:
        if timer is None:
            if command.action is SlaAction.START:
                return self._start(command)
            if command.action is SlaAction.EXTEND:
                return TimerChange(None, (_not_timed(command.case_id, command.milestone),))
            return TimerChange(None)
        if command.action is SlaAction.START:
            if timer.state is TimerState.STOPPED and command.at > timer.since:
                return self._restart(timer, command)
            return self._settled(timer, timer)  # a redelivered or repeated start changes nothing
        if command.action is SlaAction.EXTEND:
            extended = self.extend(timer, command.channel, command.category, command.extension_units)
            return extended if isinstance(extended, TimerChange) else self._settled(timer, timer, (extended,))
        updated = reassign_timer(timer, command.handler_unit, command.supervising_grid)
        if command.action is SlaAction.STOP:
            updated = stop_timer(updated, command.at, self.worktime)
        elif command.action is SlaAction.PAUSE and command.pause_reason is not None:
            updated = pause_timer(updated, command.at, command.pause_reason, self.worktime)
        elif command.action is SlaAction.RESUME:
            updated = resume_timer(updated, command.at)
        # REASSIGN: the handler update above is the whole change
        return self._settled(timer, updated)

    def on_due(self, timer: MilestoneTimer, now: datetime) -> TimerChange:
        fired, signals = fire_due(timer, now, self.worktime)
        return self._settled(timer, fired, tuple(signals))

    def extend(self, timer: MilestoneTimer, channel: str, category: str, extra_units: float) -> TimerChange | ExtensionRejected:
        """Grant an extension (延期) of `extra_units` in the milestone's basis, within the policy's limits."""
        rule = self.policies.rule_for(channel, category, timer.milestone)
        refusal = _extension_refusal(timer, rule, extra_units)
        if refusal is not None:
            return ExtensionRejected(timer.case_id, timer.milestone, *refusal)
        return self._settled(timer, extend_timer(timer, extra_units * timer.basis.unit))

    def _restart(self, timer: MilestoneTimer, command: SlaCommand) -> TimerChange:
        """A met milestone timed again for a new handler (e.g. acknowledgement after re-dispatch)."""
        change = self._start(command)
        if change.timer is None:
            return change
        return self._settled(timer, replace(change.timer, generation=timer.generation + 1))

    def _start(self, command: SlaCommand) -> TimerChange:
        policy = self.policies.policy_for(command.channel, command.category)
        rule = None if policy is None else policy.milestones.get(command.milestone)
        if policy is None or rule is None:
            return TimerChange(None)
        timer = start_timer(
            command.case_id, command.milestone, command.handler_unit, command.supervising_grid, rule.basis,
            rule.budget, self.policies.warning_fractions, policy.pause_while, command.at, self.worktime, policy.name,
        )
        return self._settled(None, timer)

    def _settled(self, before: MilestoneTimer | None, after: MilestoneTimer, signals: tuple[SlaSignal, ...] = ()) -> TimerChange:
        due = next_due(after, self.worktime)
        return TimerChange(after, signals, None if due is None else due.at)


def _not_timed(case_id: str, milestone: Milestone) -> ExtensionRejected:
    return ExtensionRejected(case_id, milestone, ExtensionRefusal.NOT_TIMED, f"{milestone} of case {case_id} is not timed")


def _extension_refusal(
    timer: MilestoneTimer, rule: MilestoneRule | None, extra_units: float
) -> tuple[ExtensionRefusal, str] | None:
    if timer.state is TimerState.STOPPED:
        return ExtensionRefusal.STOPPED, "the milestone is already met or stopped"
    if timer.breached:
        return ExtensionRefusal.ALREADY_BREACHED, "the deadline has passed; extensions must be granted before it"
    if rule is None or rule.extension is None:
        return ExtensionRefusal.NOT_EXTENDABLE, f"the policy allows no extension of {timer.milestone}"
    if timer.extensions_used >= rule.extension.max_times:
        return ExtensionRefusal.ALREADY_EXTENDED, f"already extended {timer.extensions_used} time(s), max {rule.extension.max_times}"
    if not extra_units > 0 or timer.extended_by + extra_units * timer.basis.unit > rule.extension.limit * timer.basis.unit:
        return ExtensionRefusal.TOO_LONG, f"extension of {extra_units} {rule.basis} exceeds the limit {rule.extension.limit} in total"
    return None

