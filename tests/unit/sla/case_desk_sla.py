"""The SLA half of the worker's case desk, in memory, for tests of timers and deadlines.

SLA commands and clock ticks go through the code the worker runs: `envgrid.streams.case_service.CaseService`
as `envgrid.streams.composition.case_service` builds it (with the test's tracker), its timer store (which
schedules each timer's next instant in `envgrid.streams.due_minutes`) and its tick (which fires that
schedule minute by minute), with dicts for its tables. The tracker records what each due timer signalled
when the desk fired it: a desk with no case file sends no escalation, and tests look at them all.

The partition's SLA clock starts at `start` (the worker's ticker ticks from its start on, before inputs
arrive): give a start at or before the test's first command.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

from envgrid.domain.sla.commands import Milestone, SlaAction, SlaCommand
from envgrid.domain.sla.policy import SlaPolicies
from envgrid.domain.sla.timer import MilestoneTimer, SlaEvent
from envgrid.domain.sla.tracker import ExtensionRejected, SlaSignal, SlaTracker, TimerChange
from envgrid.domain.sla.worktime import WorkTime
from envgrid.streams.case_service import CaseService, CaseState, _timer_key
from envgrid.streams.composition import case_service
from envgrid.streams.due_minutes import DueMinutes
from envgrid.streams.routing_service import Output
from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER

_COMPOSED = case_service(CATALOGUE, TEST_PSEUDONYMISER)  # the worker's own composition: departments, topics, waits


class RecordingTracker(SlaTracker):
    """The domain's tracker, keeping every signal its `on_due` returned, in order."""

    def __init__(self, policies: SlaPolicies, worktime: WorkTime | None = None) -> None:
        super().__init__(policies, worktime)
        self.signalled: list[SlaSignal] = []

    def on_due(self, timer: MilestoneTimer, now: datetime) -> TimerChange:
        change = super().on_due(timer, now)
        self.signalled.extend(change.signals)
        return change


class CaseDeskSla:
    def __init__(self, tracker: RecordingTracker, start: datetime, partition: int = 0,
                 buckets: MutableMapping[str, Any] | None = None) -> None:
        self.tracker = tracker
        self.desk = CaseService(_COMPOSED.known, tracker, _COMPOSED.out.topics, _COMPOSED.pseudonymiser,
                                _COMPOSED.held_notice_wait)
        self.state = CaseState({}, {}, {} if buckets is None else buckets, {})
        self.partition = partition
        self.now = start
        self.sent: list[Output] = []
        self.tick(start)

    def apply(self, command: SlaCommand) -> TimerChange:
        """What the desk does with an SLA command among a case's effects: the tracker decides, the desk stores."""
        key = _timer_key(command.case_id, command.milestone)
        change = self.tracker.on_command(self.state.timers.get(key), command)
        self.store(key, change)
        return change

    def store(self, key: str, change: TimerChange) -> None:
        """The desk's own store: the timer into its table, its next instant into the due-minute schedule."""
        self.desk._store_timer(key, change, self.state, self.partition)

    def extend(self, case_id: str, milestone: Milestone, channel: str, category: str,
               extra_units: float) -> TimerChange | ExtensionRejected:
        """An approved extension as the case lifecycle asks for it (an EXTEND command): the change, or the
        tracker's refusal."""
        timer = self.timers.get((case_id, milestone.value))
        handler, grid = (timer.handler_unit, timer.supervising_grid) if timer else ("", "")
        change = self.apply(SlaCommand(SlaAction.EXTEND, case_id, milestone, self.now, channel, category, handler,
                                       grid, extension_units=extra_units))
        refusals = [s for s in change.signals if isinstance(s, ExtensionRejected)]
        return refusals[0] if refusals else change

    def tick(self, now: datetime) -> list[SlaSignal]:
        """The desk's ticks at `now` until its SLA clock stands at `now`'s minute (one tick fires at most
        MAX_MINUTES_PER_TICK minutes and MAX_SENT_PER_TICK records); the signals of the timers it fired."""
        self.now = now
        first, sent = len(self.tracker.signalled), len(self.sent)
        target = int(now.timestamp() // 60)
        while True:
            handled = self.desk.on_tick(now, self.state, self.partition)
            assert handled.refused is None and not handled.dead_letters, handled
            self.sent.extend(handled.outputs)
            if self.clock >= target:
                break
        signals = self.tracker.signalled[first:]
        events = [self.desk.out.sla_event(s) for s in signals if isinstance(s, SlaEvent)]
        assert self.sent[sent:] == events, "the desk sent other SLA events than the tracker signalled"
        return signals

    @property
    def clock(self) -> int:
        """The last minute (epoch minutes) the partition's ticks fired."""
        minute: int = self.state.cursors[str(self.partition)]
        return minute

    @property
    def timers(self) -> dict[tuple[str, str], MilestoneTimer]:
        """The timers table, by (case id, milestone)."""
        return {(t.case_id, t.milestone.value): t for t in self.state.timers.values()}

    def entries(self) -> list[tuple[int, str, int]]:
        """(minute, timer key, token) of every entry in the schedule not fired yet, stale ones included."""
        prefix = f"{self.partition}:"
        minutes = sorted(int(key.split(":")[1]) for key in self.state.buckets
                         if key.startswith(prefix) and key.endswith(":n"))
        due = DueMinutes(self.state.buckets, self.partition)
        return [(minute, key, token) for minute in minutes for _, (key, token) in due.entries(minute)]

    def scheduled(self, case_id: str, milestone: Milestone) -> list[int]:
        """The minutes of the entries that would fire the timer as it stands (token = its generation)."""
        key = _timer_key(case_id, milestone)
        timer = self.state.timers.get(key)
        if timer is None:
            return []
        return [minute for minute, entry, token in self.entries() if entry == key and token == timer.generation]
