"""The case desk's side of a published holiday schedule (CalendarPublished on `internal.calendar`), and
the gauge of open deadlines resting on unofficial calendar data.

Each partition keeps the publications it applied, as plain records, in the `cursors` table under
`<partition>:calendar`: the calendar in force before and after a publication is rebuilt from them
(`envgrid.domain.sla.calendar_change`), so a redelivered publication is recognised (same version in force: nothing
re-timed) and a worker that recovers its tables switches its tracker to what its partitions applied.

Which deadlines: the case files of this partition (each file records the partition it was opened in), not
the timers table, whose iteration in a worker spans every partition the worker owns; writing another
partition's keys while processing this one would put them in the wrong changelog partition. One pass over
the worker's case files per publication (a few a year) is the bound; each open case's timers are read by key.

A deadline is judged as far as the case was judged: the later of the partition's SLA clock (the last
minute its ticks fired) and the case's own last input time (inputs judge their case's deadlines first).
What the new calendar has not reached by then is withdrawn; what it has reached and was not reported fires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from envgrid.connectors import records
from envgrid.domain.cases import lifecycle
from envgrid.domain.sla.calendar import CalendarBasis
from envgrid.domain.sla.calendar_change import (
    Publication,
    affected,
    calendar_history,
    explain,
    in_force,
    switch,
    withdrawals,
)
from envgrid.domain.sla.commands import Milestone
from envgrid.domain.sla.retiming import retime_timer, unofficial_deadline_counts
from envgrid.domain.sla.tracker import SlaTracker, TimerChange

if TYPE_CHECKING:
    from envgrid.streams.case_service import CaseService, CaseState, Handled

COUNT_EVERY = timedelta(hours=1)  # of pipeline time: how often ticks recount the unofficial-calendar gauge


class CaseCalendar:
    """The calendars a case desk applied: switches its tracker, re-times a partition's open deadlines."""

    def __init__(self, tracker: SlaTracker) -> None:
        self.tracker = tracker
        self.base = tracker.worktime.calendar  # the year files the worker started with, in force since always
        self.known: dict[str, Publication] = {}  # event id -> publication, over every partition of the worker
        self._counted_at: datetime | None = None

    def apply(self, desk: CaseService, record: dict[str, Any], state: CaseState, partition: int,
              handled: Handled) -> None:
        publication = records.publication_of(record)
        version, stored = publication.version, list(state.cursors.get(_key(partition)) or [])
        applied = [records.publication_of(r) for r in stored]
        if in_force(applied, version.year) == version.id:
            handled.replayed = True  # the same schedule again: nothing moves
            return
        # In force from its instant, never before one applied already: the last publication wins.
        at = max([publication.published_at, *(p.published_at for p in applied)])
        publication = Publication(version, at)
        before = calendar_history(self.base, applied).calendar_at(at)
        after = calendar_history(self.base, [*applied, publication]).calendar_at(at)
        self._adopt(record["event_id"], publication)
        old, new = switch(self.tracker.worktime, before), switch(self.tracker.worktime, after)
        clock = state.cursors.get(str(partition))
        judged = at if clock is None else datetime.fromtimestamp(clock * 60, UTC)
        cause = f"calendar:{version.id}"
        for case_id, file in list(state.files.items()):
            if getattr(file, "partition", None) != partition or file.case.finished:
                continue
            now = max(judged, file.case.updated_at)
            for milestone in Milestone:
                key = f"{case_id}|{milestone.value}"
                timer = state.timers.get(key)
                if timer is None:
                    continue
                retimed = retime_timer(timer, old, new, now)
                if retimed.timer == timer:
                    continue
                desk._store_timer(key, TimerChange(retimed.timer, (), retimed.next_due), state, partition)
                if not affected(retimed):
                    continue
                reason, details = explain(retimed, publication, after)
                old_at = None if retimed.old_deadline is None else retimed.old_deadline.at
                new_at = None if retimed.new_deadline is None else retimed.new_deadline.at
                desk._settle(file, file.case, lifecycle.retime(file.case, milestone, old_at, new_at, reason, now, cause,
                                                               details), cause, state, partition, handled)
                handled.outputs.extend(desk.out.sla_event(event)
                                       for event in withdrawals(timer, retimed, publication, after))
                desk._signals(retimed.signals, file, cause, state, partition, handled)
            state.files[case_id] = file  # write back: a table stores on assignment
        state.cursors[_key(partition)] = [*stored, dict(record, published_at=at)]
        handled.unofficial_deadlines = self.count(state)

    def recover(self, state: CaseState, partitions: int) -> None:
        """After table recovery: the tracker takes the calendars the worker's partitions applied."""
        for partition in range(partitions):
            for stored in state.cursors.get(_key(partition)) or []:
                self._adopt(stored["event_id"], records.publication_of(stored))

    def count(self, state: CaseState) -> dict[CalendarBasis, int]:
        """Open deadlines per unofficial calendar basis, over every timer this worker holds."""
        return unofficial_deadline_counts(list(state.timers.values()), self.tracker.worktime)

    def count_due(self, now: datetime, state: CaseState) -> dict[CalendarBasis, int] | None:
        """`count`, at most once per COUNT_EVERY of pipeline time (a tick costs nothing per case otherwise)."""
        if self._counted_at is not None and timedelta(0) <= now - self._counted_at < COUNT_EVERY:
            return None
        self._counted_at = now
        return self.count(state)

    def _adopt(self, event_id: str, publication: Publication) -> None:
        self.known[event_id] = publication
        ordered = sorted(self.known.values(), key=lambda p: p.published_at)
        calendar = calendar_history(self.base, ordered).calendar_at(ordered[-1].published_at)
        self.tracker.worktime = switch(self.tracker.worktime, calendar)


def _key(partition: int) -> str:
    return f"{partition}:calendar"
