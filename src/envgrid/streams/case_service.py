"""The case desk's work between decode and send, with no faust in it.

Inputs, all keyed by case id and so co-partitioned: case commands (open a case from its first dispatch,
merge a repeat report), department notices, and clock ticks. State lives in mutable mappings that are
faust tables in the worker and dicts in tests: case files, SLA timers, SLA due-minute buckets, the
per-partition cursors and tick memories, refused notice attempts and notices held for a case not open yet
(`envgrid.streams.held_notices`). Nothing here reads the wall clock: `now` is the input's event time or the
tick's time, and every decision is the domain's (`envgrid.domain.cases.lifecycle`, `envgrid.domain.sla.tracker`).

Verdicts follow event time. A tick says how far the inputs have been processed (`envgrid.streams.watermark`), so
every answer that could still meet a deadline is applied before the deadline is judged; and before an
input at time t is applied to a case, the case's deadlines that passed before t are judged first. The
same inputs thus give the same warnings, breaches and escalations however fast they are processed.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, assert_never

from envgrid.connectors import history_chain, records, task_records
from envgrid.domain.case_ids import is_case_id
from envgrid.domain.cases import lifecycle
from envgrid.domain.cases.effects import (
    Feedback,
    GridTakeover,
    Handover,
    LifecycleEvent,
    LifecycleKind,
    Outcome,
    Rejection,
    RejectionCode,
    RerouteRequest,
)
from envgrid.domain.cases.model import Case, Reporter, ReporterKind
from envgrid.domain.intake_contract import Breach, Reason, check_notice, check_notice_for_case
from envgrid.domain.privacy import Pseudonymiser
from envgrid.domain.sla.calendar import CalendarBasis
from envgrid.domain.sla.commands import Milestone, SlaCommand
from envgrid.domain.sla.retiming import projected_deadline
from envgrid.domain.sla.timer import SlaEscalation, SlaEvent
from envgrid.domain.sla.tracker import ExtensionRejected, SlaSignal, SlaTracker, TimerChange
from envgrid.domain.tasks.opening import TaskOpening, is_task_id
from envgrid.streams.case_calendar import CaseCalendar
from envgrid.streams.case_file import CaseFile
from envgrid.streams.case_outputs import CaseOutputs, CaseTopics
from envgrid.streams.due_minutes import DueMinutes, due_minute
from envgrid.streams.held_notices import (
    HELD_NOTICE_WAIT,
    DeadLetterOutput,
    NoticeHold,
    RefusalMemory,
    SourceRecord,
    attempt_of,
    never_opened,
)
from envgrid.streams.routing_service import Output, Refused, contract_refusal
from envgrid.streams.task_desk import TaskDesk

REPLAY_CODES = frozenset({RejectionCode.DUPLICATE_NOTICE, RejectionCode.DUPLICATE_REPORT})
MAX_MINUTES_PER_TICK = 200_000  # a replay that jumps years catches up over several ticks
# What one tick may send (outputs and dead letters): a tick remembers what it sent, in one table value, to
# answer a redelivery identically, and that value must stay far below the broker's message size limit. A
# tick with more due (a worker back after downtime) leaves the rest to the next ticks.
MAX_SENT_PER_TICK = 200
TICKS_REMEMBERED = 16  # ticks per partition whose outputs are kept: every tick not yet committed at a crash


@dataclass
class CaseState:
    files: MutableMapping[str, CaseFile]
    timers: MutableMapping[str, Any]
    buckets: MutableMapping[str, Any]  # the deadline schedule: envgrid.streams.due_minutes
    cursors: MutableMapping[str, Any]  # per partition: SLA clock, what ticks sent; per case: dossier, what inputs sent
    refused: MutableMapping[str, Refused] = field(default_factory=dict)  # notice attempt -> why refused
    held: MutableMapping[str, list[Any]] = field(default_factory=dict)  # case id -> notices waiting for it


@dataclass
class Handled:
    outputs: list[Output] = field(default_factory=list)
    refused: Refused | None = None
    replayed: bool = False
    transitions: list[Transition] = field(default_factory=list)
    dead_letters: list[DeadLetterOutput] = field(default_factory=list)  # for held notices refused now
    held: int = 0  # notices put on hold for a case not open yet
    released: int = 0  # held notices applied as their case opened
    expired: int = 0  # held notices refused because their case never opened
    unofficial_deadlines: dict[CalendarBasis, int] | None = None  # the gauge's counts, when recounted

    def replay(self, sent: list[Any]) -> None:
        """Outputs and dead letters remembered together, split back."""
        self.outputs.extend(item for item in sent if not isinstance(item, DeadLetterOutput))
        self.dead_letters.extend(item for item in sent if isinstance(item, DeadLetterOutput))

    @property
    def sent(self) -> list[Any]:
        return [*self.outputs, *self.dead_letters]


@dataclass(frozen=True)
class Transition:
    """A case's lead department and state before (None for a new case) and after one input."""

    department_before: str | None
    state_before: str | None
    department_after: str | None
    state_after: str


class CaseService:
    def __init__(self, known_departments: frozenset[str], tracker: SlaTracker, topics: CaseTopics,
                 pseudonymiser: Pseudonymiser, held_notice_wait: timedelta = HELD_NOTICE_WAIT,
                 tasks: TaskDesk | None = None) -> None:
        self.known = known_departments
        self.tasks = tasks  # scheduled tasks (spot-check draws, quarterly supervision); None: none are opened
        self.pseudonymiser = pseudonymiser  # for dossiers an earlier release kept with the identity in them
        self.held_notice_wait = held_notice_wait
        self.tracker = tracker
        self.out = CaseOutputs(topics)
        self.calendar = CaseCalendar(tracker)

    # --- inputs ------------------------------------------------------------------------------------

    def on_command(self, event_name: str, record: dict[str, Any], state: CaseState, partition: int) -> Handled:
        if event_name == "CaseDispatched":
            return self._open(record, state, partition)
        if event_name == "CaseLifecycleEvent" and record["kind"] == "merged":
            return self._merge(record, state, partition)
        return Handled(refused=Refused("VALIDATE", "unknown_case_command", "UnknownCommand",
                                       f"case command {event_name}/{record.get('kind')} is not one the case desk knows"))

    def on_notice(self, record: dict[str, Any], state: CaseState, partition: int, reinjections: int = 0,
                  source: SourceRecord | None = None) -> Handled:
        """Apply a notice, or hold it while its case is not open yet (`envgrid.streams.held_notices`). A refused
        one is refused the same way when redelivered (the case may have moved on since); an applied one
        is recognised by its case, which answers with the same outputs again. A re-injection from the
        dead-letter topic (after a fix) is a new attempt. `source` is kept with a held notice, for the
        dead letter should it be refused later."""
        breach = check_notice(record)  # the input contract, on the record alone: no state is read or written
        if breach is not None:
            return Handled(refused=contract_refusal("VALIDATE", breach, record.get("event_id") or None))
        attempt = attempt_of(record["event_id"], reinjections)
        refused = RefusalMemory(state.refused, partition).get(attempt)
        if refused is not None:
            replayed = Handled(refused=refused, replayed=True)
            file = state.files.get(record["case_id"])
            if file is not None:
                replayed.replay(file.recall(state.cursors, record["event_id"]))  # deadlines judged before it was refused
            return replayed
        file = state.files.get(record["case_id"])
        if file is None and _may_open_later(record):
            held = self._hold(state).hold(record, reinjections, source, partition)
            if isinstance(held, Refused):
                RefusalMemory(state.refused, partition).remember(attempt, held)
                return Handled(refused=held)
            return Handled(held=1) if held else Handled(replayed=True)
        handled = self._apply_notice(record, file, state, partition)
        if handled.refused is not None:
            RefusalMemory(state.refused, partition).remember(attempt, handled.refused)
        return handled

    def on_tick(self, now: datetime, state: CaseState, partition: int, tick_id: str = "") -> Handled:
        """Fire the SLA thresholds due by `now` in this partition, minute bucket by minute bucket. A
        redelivered tick (one of the last TICKS_REMEMBERED) answers with what it sent the first time."""
        memory = TickMemory(state.cursors, partition)
        if tick_id:
            sent = memory.recall(tick_id)
            if sent is not None:
                replayed = Handled(replayed=True)
                replayed.replay(sent)
                return replayed
        handled = Handled()
        self._expire_held(now, state, partition, handled)
        self._fire_due(now, state, partition, handled)
        if self.tasks is not None:
            self.tasks.raise_supervision(self, now, state, partition, handled, MAX_SENT_PER_TICK)
        handled.unofficial_deadlines = self.calendar.count_due(now, state)
        if tick_id:
            memory.remember(tick_id, handled.sent)
        return handled

    def on_calendar(self, record: dict[str, Any], state: CaseState, partition: int) -> Handled:
        """Apply a published holiday schedule (CalendarPublished) to this partition's open deadlines: the
        tracker switches to it, and each deadline it moves is re-timed and recorded (`envgrid.streams.case_calendar`)."""
        handled = Handled()
        try:
            self.calendar.apply(self, record, state, partition, handled)
        except ValueError as error:
            return Handled(refused=Refused("VALIDATE", "invalid_calendar", "ValueError", str(error), record["event_id"]))
        return handled

    def on_draw(self, record: dict[str, Any], state: CaseState, partition: int) -> Handled:
        """A 双随机 draw (SpotCheckDrawn, one copy per partition): open its task cases that live here."""
        handled = Handled()
        if self.tasks is None:
            return Handled(refused=Refused("APPLY", "tasks_not_configured", "TaskDesk",
                                           "this case desk opens no scheduled tasks", record.get("event_id")))
        self.tasks.on_draw(self, record, state, partition, handled)
        return handled

    def open_task(self, opening: TaskOpening, state: CaseState, partition: int, handled: Handled) -> None:
        """Open a scheduled task as a case, as `_open` opens a routed report: its first copies go to the lead,
        assisting departments and grids (the router sends those for a report), then the case's own outputs."""
        assert self.tasks is not None
        version = self.tasks.registry.at(opening.opened_at)
        dossier, copies = task_records.task_dispatch(opening, version)
        outcome = lifecycle.open_case(
            opening.case_id, opening.category, opening.kind.value, opening.cause_event_id,
            Reporter(ReporterKind.UNIT, opening.set_by), opening.grid_chain, opening.handling_level, opening.opened_at,
            self.known, opening.lead_department, opening.assisting_departments)
        if isinstance(outcome, Rejection):
            handled.refused = self._refuse(outcome, opening.cause_event_id).refused
            return
        opened = Handled()
        opened.outputs.extend(Output(self.out.topics.topic_for(target), opening.case_id, "CaseDispatched", value,
                                     records.dispatch_headers(value)) for target, value in copies)
        file = CaseFile(outcome.case, dossier, partition=partition)
        self._settle(file, None, outcome, opening.cause_event_id, state, partition, opened)
        file.remember(state.cursors, opening.cause_event_id, opened.sent)
        state.files[opening.case_id] = file
        handled.outputs.extend(opened.outputs)
        handled.transitions.extend(opened.transitions)

    # --- case commands ------------------------------------------------------------------------------

    def _open(self, dispatched: dict[str, Any], state: CaseState, partition: int) -> Handled:
        case_id = dispatched["case_id"]
        dispatched = records.withheld_dossier(dispatched, self.pseudonymiser)  # one an earlier release sent
        existing = state.files.get(case_id)
        kept = None if existing is None else existing.dossier_in(state.cursors)
        if existing is not None and kept is None:
            # the case file outlived its dossier in a crash: this is the command that opened it, not committed then
            existing.keep_dossier(state.cursors, dispatched)
        elif kept is not None and not records.same_opening(records.withheld_dossier(kept, self.pseudonymiser), dispatched):
            # not a redelivery (the router sends the same command again): another report with the first one's
            # event id, routed in another merge zone, whose router could not know the first
            breach = Breach(Reason.EVENT_ID_CONFLICT,
                            f"event {dispatched['source_event_id']} already opened case {case_id} with other "
                            f"content; the case stays as the first report opened it. A producer must give every "
                            f"report its own event id")
            return Handled(refused=contract_refusal("VALIDATE", breach, dispatched["source_event_id"]))
        if existing is not None:
            replayed = Handled(replayed=True)
            replayed.replay(existing.recall(state.cursors, dispatched["source_event_id"]))
            return replayed
        decision = dispatched["decision"]
        channel = "patrol" if dispatched["channel"] == "PATROL" else dispatched["channel"].lower()
        triage = dispatched["target"]["kind"] == "TRIAGE"
        outcome = lifecycle.open_case(
            case_id, dispatched["category"], channel, dispatched["source_event_id"],
            self._first_reporter(dispatched, channel), [g["code"] for g in decision["grid_chain"]] or ["3303"],
            decision["handling_level"] if not triage else 1, dispatched["dispatched_at"], self.known,
            None if triage else decision["lead_department"], tuple(decision["assisting_departments"]),
        )
        if isinstance(outcome, Rejection):
            return self._refuse(outcome, dispatched["source_event_id"])
        file = CaseFile(outcome.case, dispatched, partition=partition)
        handled = Handled()
        self._settle(file, None, outcome, dispatched["source_event_id"], state, partition, handled)
        file.remember(state.cursors, dispatched["source_event_id"], handled.sent)
        state.files[case_id] = file
        self._release_held(case_id, dispatched["source_event_id"], state, partition, handled)
        return handled

    def _merge(self, command: dict[str, Any], state: CaseState, partition: int) -> Handled:
        file = state.files.get(command["case_id"])
        cause, at = command["cause_event_id"], command["occurred_at"]
        if file is None:
            return self._refuse(Rejection(RejectionCode.UNKNOWN_CASE, f"no case {command['case_id']} to merge into",
                                          command["case_id"]), cause)
        details = command["details"]
        reporter = Reporter(ReporterKind(details["reporter_kind"]), details["reporter_address"])
        return self._input(file, cause, at, state, partition,
                           lambda case: lifecycle.merge_report(case, cause, reporter, at))

    def _apply_notice(self, record: dict[str, Any], file: CaseFile | None, state: CaseState, partition: int) -> Handled:
        try:
            notice = records.notice_of(record)
        except ValueError:
            return Handled(refused=Refused("VALIDATE", "unknown_notice_kind", "UnknownNoticeKind",
                                           f"notice {record['event_id']}: kind {record.get('kind')} is not known",
                                           record["event_id"]))
        at = record["occurred_at"]
        if file is None:
            return self._refuse(lifecycle.apply(None, notice, self.known, at), notice.notice_id)
        breach = check_notice_for_case(record, file.case.created_at) if notice.case_id == file.case.case_id else None
        if breach is not None:
            return Handled(refused=contract_refusal("VALIDATE", breach, notice.notice_id))
        return self._input(file, notice.notice_id, at, state, partition,
                           lambda case: lifecycle.apply(case, notice, self.known, at,
                                                        extension_check=self._extension_check(case, state)))

    def _input(self, file: CaseFile, cause: str, at: datetime, state: CaseState, partition: int,
               change: Callable[[Case], Outcome | Rejection]) -> Handled:
        """One input to an open case: first judge the deadlines that passed before its time `at` (so an
        answer after a deadline meets a breach already recorded, whatever order things were processed in),
        then apply it. A redelivered input answers with what it sent; a refused one changes nothing."""
        handled = Handled()
        outcome = change(file.case)
        if isinstance(outcome, Rejection) and outcome.code in REPLAY_CODES:
            handled.replay(file.recall(state.cursors, cause))
            handled.replayed = True
            return handled
        if self._catch_up(file, at, state, partition, handled):
            outcome = change(file.case)  # the case may have moved on: a breach escalated it
        if isinstance(outcome, Rejection):
            refused = self._refuse(outcome, cause)
            handled.refused = refused.refused
            if not handled.sent:
                return handled  # nothing was judged first: the refusal changes no state at all
        else:
            self._settle(file, file.case, outcome, cause, state, partition, handled)
        file.remember(state.cursors, cause, handled.sent)
        state.files[file.case.case_id] = file  # write back: a table stores on assignment
        return handled

    # --- outcomes -----------------------------------------------------------------------------------

    def _settle(self, file: CaseFile, before: Case | None, outcome: Outcome, cause: str, state: CaseState,
                partition: int, handled: Handled) -> None:
        """Adopt the outcome's case into `file` and carry out its effects (which may settle further outcomes
        of the same case: a re-route after a transfer, an escalation after a breach)."""
        file.case = outcome.case
        if file.dossier:  # a new case's, or one an earlier release kept in the file: beside it from now on, and
            # without the identity (which a file restored from an earlier release's changelog still holds)
            file.keep_dossier(state.cursors, records.withheld_dossier(file.dossier, self.pseudonymiser))
        handled.transitions.append(Transition(
            before.lead_department if before else None, before.state.value if before else None,
            outcome.case.lead_department, outcome.case.state.value))
        entries: list[dict[str, Any]] = []  # this revision's history, told the case once its clocks are set
        for effect in outcome.effects:
            match effect:
                case LifecycleEvent():
                    opening = file.dossier_in(state.cursors) if effect.event is LifecycleKind.CREATED else None
                    output = self.out.history(effect, cause, opening)
                    entries.append(output.value)
                    handled.outputs.append(output)
                case Feedback():
                    handled.outputs.append(self.out.feedback(effect, cause))
                case Handover():
                    dossier = file.dossier_in(state.cursors)
                    if dossier is None:
                        raise LookupError(f"case {file.case.case_id} has no dossier to build its copies on; its opening "
                                          f"command, sent again, restores it")
                    handled.outputs.append(self.out.handover(effect, file.case, dossier, cause))
                case SlaCommand():
                    key = _timer_key(effect.case_id, effect.milestone)
                    stored = state.timers.get(key)
                    change = self.tracker.on_command(stored, effect)
                    if change.timer != stored:  # a repeated stop, a start of a running clock: nothing to write again
                        self._store_timer(key, change, state, partition)
                    if change.signals:
                        self._snapshot(entries, file, outcome.case, state)
                    self._signals(change.signals, file, cause, state, partition, handled)
                case RerouteRequest():
                    self._snapshot(entries, file, outcome.case, state)  # before the re-route's own revision
                    self._follow(file, lifecycle.reroute(file.case, effect, self.known, effect.at, cause), cause,
                                 state, partition, handled)
                case GridTakeover():
                    pass  # the take-over's dispatches and releases are the step's Handover effects
                case _:
                    assert_never(effect)
        self._snapshot(entries, file, outcome.case, state)

    def _snapshot(self, entries: list[dict[str, Any]], file: CaseFile, case: Case, state: CaseState) -> None:
        """Give each history entry of a revision the case as it stands then, with its clocks' deadlines: a reader
        of case.history alone (the case store) keeps every case's current view from it. Then, the entries being
        final, link each to the case's previous one (the hash chain, in the order they are sent)."""
        if not entries:
            return
        clocks = []
        for milestone in Milestone:
            timer = state.timers.get(_timer_key(case.case_id, milestone))
            if timer is not None:
                clocks.append((timer, projected_deadline(timer, self.tracker.worktime)))
        for value in entries:
            value["case"] = records.case_snapshot(case, clocks)
            file.history_hash = history_chain.link(value, file.history_hash)
        entries.clear()

    def _follow(self, file: CaseFile, outcome: Outcome | Rejection, cause: str, state: CaseState, partition: int,
                handled: Handled) -> None:
        """A follow-up the domain asked for (re-route, breach escalation): settled, or refused for a reason
        that needs no dead letter (the breach itself was published)."""
        if isinstance(outcome, Outcome):
            self._settle(file, file.case, outcome, cause, state, partition, handled)

    def _signals(self, signals: tuple[SlaSignal, ...], file: CaseFile | None, cause: str, state: CaseState,
                 partition: int, handled: Handled) -> None:
        for signal in signals:
            match signal:
                case SlaEvent():
                    handled.outputs.append(self.out.sla_event(signal))
                case SlaEscalation():
                    if file is not None:
                        breach = f"sla-breach:{signal.case_id}:{signal.milestone.value}"
                        self._follow(file, lifecycle.escalate_for_breach(
                            file.case, signal.milestone, signal.deadline, signal.to_grid, signal.at, breach),
                            breach, state, partition, handled)
                case ExtensionRejected():
                    # The domain asks the policy before granting (`_extension_check`), so this means the
                    # two disagree: the notice goes to dead letters, where a person sees the grant failed.
                    handled.refused = Refused("APPLY", "extension_refused", "ExtensionRejected", signal.message, cause)
                case _:
                    assert_never(signal)

    def _catch_up(self, file: CaseFile, at: datetime, state: CaseState, partition: int, handled: Handled) -> bool:
        """Judge the case's deadlines that passed before `at`; True when any threshold fired."""
        fired = False
        for milestone in Milestone:
            key = _timer_key(file.case.case_id, milestone)
            timer = state.timers.get(key)
            if timer is None:
                continue
            change = self.tracker.on_due(timer, at)
            if change.signals:
                fired = True
                self._store_timer(key, change, state, partition)
                self._signals(change.signals, file, f"sla-tick:{file.case.case_id}", state, partition, handled)
        return fired

    def _extension_check(self, case: Case, state: CaseState) -> Callable[[Milestone, float], str | None]:
        def refusal(milestone: Milestone, units: float) -> str | None:
            timer = state.timers.get(_timer_key(case.case_id, milestone))
            if timer is None:
                return f"{milestone} of case {case.case_id} is not timed"
            verdict = self.tracker.extend(timer, case.channel, case.category, units)
            return verdict.message if isinstance(verdict, ExtensionRejected) else None
        return refusal

    def _refuse(self, rejection: Outcome | Rejection, cause: str) -> Handled:
        assert isinstance(rejection, Rejection), rejection
        if rejection.code in REPLAY_CODES:
            return Handled(replayed=True)
        return Handled(refused=Refused("APPLY", rejection.code.value, "Rejection", rejection.message, cause))

    # --- held notices -------------------------------------------------------------------------------

    def _hold(self, state: CaseState) -> NoticeHold:
        return NoticeHold(state.held, self.held_notice_wait)

    def _release_held(self, case_id: str, cause: str, state: CaseState, partition: int, handled: Handled) -> None:
        """Apply the notices that came before this case opened, in their order, as part of the opening:
        a redelivered opening command then re-sends their outputs too."""
        held = self._hold(state).release(case_id, partition)
        if not held:
            return
        for notice in held:
            result = self.on_notice(notice.record, state, partition, notice.reinjections)
            handled.outputs.extend(result.outputs)
            handled.transitions.extend(result.transitions)
            if result.refused is not None:
                handled.dead_letters.append(DeadLetterOutput(notice.source, result.refused))
        handled.released += len(held)
        file = state.files[case_id]
        file.remember(state.cursors, cause, handled.sent)
        state.files[case_id] = file

    def _expire_held(self, now: datetime, state: CaseState, partition: int, handled: Handled) -> None:
        for notice in self._hold(state).expire(now, partition, MAX_SENT_PER_TICK // 2):
            refused = never_opened(notice, self.held_notice_wait)
            RefusalMemory(state.refused, partition).remember(notice.attempt, refused)
            handled.dead_letters.append(DeadLetterOutput(notice.source, refused))
            handled.expired += 1

    # --- deadlines ----------------------------------------------------------------------------------

    def _fire_due(self, now: datetime, state: CaseState, partition: int, handled: Handled) -> None:
        cursor_key = str(partition)
        cursor = state.cursors.get(cursor_key)
        target = int(now.timestamp() // 60)
        if cursor is None:
            state.cursors[cursor_key] = target
            return
        if state.cursors.get(_provisional_key(partition)) and target < cursor:
            cursor = state.cursors[cursor_key] = target  # set by timers only: nothing is due before it
        last = min(target, cursor + MAX_MINUTES_PER_TICK)
        for minute in range(cursor + 1, last + 1):
            if not self._fire_minute(minute, now, state, partition, handled):
                last = minute - 1  # the rest of this minute on the next tick
                break
        if last > cursor:
            state.cursors[cursor_key] = last
        if state.cursors.get(_provisional_key(partition)):
            del state.cursors[_provisional_key(partition)]  # a tick has set the clock: it only moves forward now

    def _fire_minute(self, minute: int, now: datetime, state: CaseState, partition: int, handled: Handled) -> bool:
        """Fire one minute's due timers; False when the tick's budget ran out first (the rest stays)."""
        due = DueMinutes(state.buckets, partition)
        for number, (timer_key, token) in due.entries(minute):
            if len(handled.sent) >= MAX_SENT_PER_TICK:
                due.stopped_at(minute, number)
                return False
            due.fired(minute, number)
            timer = state.timers.get(timer_key)
            if timer is None or timer.generation != token:
                continue  # overtaken by a newer timer state (lazy cancellation)
            change = self.tracker.on_due(timer, now)
            self._store_timer(timer_key, change, state, partition)
            file = state.files.get(timer.case_id)
            self._signals(change.signals, file, f"sla-tick:{timer.case_id}", state, partition, handled)
            if file is not None and change.signals:
                state.files[timer.case_id] = file
        due.finish(minute)
        return True

    def _store_timer(self, key: str, change: TimerChange, state: CaseState, partition: int) -> None:
        if change.timer is None:
            return
        state.timers[key] = change.timer
        if change.next_due is not None:
            minute = due_minute(change.next_due)
            cursor = state.cursors.get(str(partition))
            provisional = _provisional_key(partition)
            if cursor is None or (minute <= cursor and state.cursors.get(provisional)):
                # before the partition's first tick: ticks start before the earliest timer, nothing is skipped
                state.cursors[str(partition)] = minute - 1
                state.cursors[provisional] = True
            elif minute <= cursor:
                minute = cursor + 1  # already past: fire on the next tick
            DueMinutes(state.buckets, partition).add(minute, key, change.timer.generation)

    @staticmethod
    def _first_reporter(dispatched: dict[str, Any], channel: str) -> Reporter:
        if dispatched["source_kind"] == "PATROL_REPORT":
            chain = dispatched["decision"]["grid_chain"]
            return Reporter(ReporterKind.UNIT, chain[0]["code"] if chain else "3303")
        return Reporter(ReporterKind.COMPLAINANT, channel)


def _provisional_key(partition: int) -> str:
    """Marks a partition's SLA clock as set by stored timers, not yet by a tick: it may still go back."""
    return f"{partition}:clock-provisional"


class TickMemory:
    """What each of a partition's last TICKS_REMEMBERED ticks sent, one table value per tick (so each stays
    small), with a list of their ids: any tick not yet committed when a worker died is answered alike."""

    def __init__(self, cursors: MutableMapping[str, Any], partition: int) -> None:
        self.cursors, self.partition = cursors, partition

    def recall(self, tick_id: str) -> list[Any] | None:
        if tick_id not in (self.cursors.get(self._index) or ()):
            return None
        return list(self.cursors.get(self._key(tick_id)) or [])

    def remember(self, tick_id: str, sent: list[Any]) -> None:
        ids = [*(self.cursors.get(self._index) or ()), tick_id]
        self.cursors[self._key(tick_id)] = sent  # the value before the index names it
        self.cursors[self._index] = ids[-TICKS_REMEMBERED:]
        for forgotten in ids[:-TICKS_REMEMBERED]:
            self.cursors.pop(self._key(forgotten), None)

    @property
    def _index(self) -> str:
        return f"{self.partition}:ticks"

    def _key(self, tick_id: str) -> str:
        return f"{self.partition}:tick:{tick_id}"


def _timer_key(case_id: str, milestone: Milestone) -> str:
    return f"{case_id}|{milestone}"  # a StrEnum formats as its value


def _may_open_later(notice: dict[str, Any]) -> bool:
    """Whether a notice for a case that is not open may be waiting for it: a kind the case desk knows and
    a case id of the shape the pipeline gives (any other id can never match, and is refused at once)."""
    return records.notice_kind_known(notice) and (is_case_id(notice["case_id"]) or is_task_id(notice["case_id"]))
