"""The case state machine's work between decode and send, with no faust in it.

Inputs, all keyed by case id and so co-partitioned: case commands (open a case from its first dispatch,
merge a repeat report), department notices, and clock ticks. State lives in mutable mappings that are
faust tables in the worker and dicts in tests: case files, SLA timers, SLA due-minute buckets, the
per-partition cursors, refused notice attempts and notices held for a case not open yet
(`streams.held_notices`). Nothing here reads the wall clock: `now` is the input's event time or the
tick's time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable, MutableMapping

from connectors import records
from domain.case_ids import is_case_id
from domain.cases import lifecycle
from domain.cases.effects import (Feedback, GridTakeover, LifecycleEvent, Outcome, Rejection, RejectionCode,
                                  RerouteRequest)
from domain.cases.model import Case, Reporter, ReporterKind
from domain.cases.notices import Notice, NoticeKind
from domain.sla.commands import SlaCommand
from domain.sla.scheduler import due_minute
from domain.sla.timer import SlaEscalation, SlaEvent
from domain.sla.tracker import SlaTracker
from streams.held_notices import (HELD_NOTICE_WAIT, DeadLetterOutput, NoticeHold, SourceRecord, attempt_of,
                                  never_opened)
from streams.routing_service import Output, Refused

REPLAY_CODES = frozenset({RejectionCode.DUPLICATE_NOTICE, RejectionCode.DUPLICATE_REPORT})
MAX_MINUTES_PER_TICK = 200_000  # a replay that jumps years catches up over several ticks
# What one tick may send (outputs and dead letters): a tick remembers what it sent, in one table value, to
# answer a redelivery identically, and that value must stay far below the broker's message size limit. A
# tick with more due (a worker back after downtime) leaves the rest to the next ticks.
MAX_SENT_PER_TICK = 200
SENT_REMEMBERED = 16  # inputs per case whose outputs are kept, to answer a redelivery identically


@dataclass
class CaseFile:
    """A case, its dossier (the first dispatch record, reused for re-dispatches) and what was sent for
    its latest inputs: a redelivered input (after a restart or rebalance) gets the same outputs again,
    because they may not have reached the broker before the worker stopped."""

    case: Case
    dossier: dict[str, Any]
    revision: int = 0
    sent: dict[str, list] = field(default_factory=dict)  # cause event id -> outputs and dead letters

    def remember(self, cause: str, outputs: list) -> None:
        self.sent[cause] = list(outputs)
        while len(self.sent) > SENT_REMEMBERED:
            del self.sent[next(iter(self.sent))]

    def recall(self, cause: str, handled: "Handled") -> None:
        """Add what was sent for `cause` to `handled` again."""
        handled.replay(self.sent.get(cause, []))


@dataclass
class CaseState:
    files: MutableMapping[str, CaseFile]
    timers: MutableMapping[str, Any]
    buckets: MutableMapping[str, dict]
    cursors: MutableMapping[str, int]
    refused: MutableMapping[str, Refused] = field(default_factory=dict)  # notice attempt -> why refused
    held: MutableMapping[str, list] = field(default_factory=dict)  # case id -> notices waiting for it


@dataclass
class Handled:
    outputs: list[Output] = field(default_factory=list)
    refused: Refused | None = None
    replayed: bool = False
    transitions: list["Transition"] = field(default_factory=list)
    dead_letters: list[DeadLetterOutput] = field(default_factory=list)  # for held notices refused now
    held: int = 0  # notices put on hold for a case not open yet
    released: int = 0  # held notices applied as their case opened
    expired: int = 0  # held notices refused because their case never opened

    def replay(self, sent: list) -> None:
        """Outputs and dead letters remembered together, split back."""
        self.outputs.extend(item for item in sent if not isinstance(item, DeadLetterOutput))
        self.dead_letters.extend(item for item in sent if isinstance(item, DeadLetterOutput))

    @property
    def sent(self) -> list:
        return [*self.outputs, *self.dead_letters]


@dataclass(frozen=True)
class Transition:
    """A case's lead department and state before (None for a new case) and after one input."""

    department_before: str | None
    state_before: str | None
    department_after: str | None
    state_after: str


class CaseService:
    def __init__(self, known_departments: frozenset[str], tracker: SlaTracker,
                 topic_for: Callable[[tuple[str, str]], str], history_topic: str, feedback_topic: str,
                 sla_topic: str, held_notice_wait: timedelta = HELD_NOTICE_WAIT) -> None:
        self.known = known_departments
        self.held_notice_wait = held_notice_wait
        self.tracker = tracker
        self._topic_for = topic_for
        self._history, self._feedback, self._sla = history_topic, feedback_topic, sla_topic

    # --- inputs ------------------------------------------------------------------------------------

    def on_command(self, event_name: str, record: dict, state: CaseState, partition: int) -> Handled:
        if event_name == "CaseDispatched":
            return self._open(record, state, partition)
        if event_name == "CaseLifecycleEvent" and record["kind"] == "merged":
            return self._merge(record, state, partition)
        return Handled(refused=Refused("VALIDATE", "unknown_case_command", "UnknownCommand",
                                       f"case command {event_name}/{record.get('kind')} is not one the case desk knows"))

    def on_notice(self, record: dict, state: CaseState, partition: int, reinjections: int = 0,
                  source: SourceRecord | None = None) -> Handled:
        """Apply a notice, or hold it while its case is not open yet (`streams.held_notices`). A refused
        one is refused the same way when redelivered (the case may have moved on since); an applied one
        is recognised by its case, which answers with the same outputs again. A re-injection from the
        dead-letter topic (after a fix) is a new attempt. `source` is kept with a held notice, for the
        dead letter should it be refused later."""
        attempt = attempt_of(record["event_id"], reinjections)
        refused = state.refused.get(attempt)
        if refused is not None:
            return Handled(refused=refused, replayed=True)
        if _may_open_later(record) and state.files.get(record["case_id"]) is None:
            if self._hold(state).hold(record, reinjections, source, partition):
                return Handled(held=1)
            return Handled(replayed=True)
        handled = self._apply_notice(record, state, partition)
        if handled.refused is not None:
            state.refused[attempt] = handled.refused
        return handled

    def _apply_notice(self, record: dict, state: CaseState, partition: int) -> Handled:
        try:
            notice = records.notice_of(record)
        except ValueError:
            return Handled(refused=Refused("VALIDATE", "unknown_notice_kind", "UnknownNoticeKind",
                                           f"notice {record['event_id']}: kind {record.get('kind')} is not known",
                                           record["event_id"]))
        file = state.files.get(notice.case_id)
        outcome = lifecycle.apply(file.case if file else None, notice, self.known, record["occurred_at"])
        return self._settle(file, outcome, notice.notice_id, state, partition)

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
        file.remember(cause, handled.sent)
        state.files[case_id] = file

    def _expire_held(self, now: datetime, state: CaseState, partition: int, handled: Handled) -> None:
        for notice in self._hold(state).expire(now, partition, MAX_SENT_PER_TICK // 2):
            refused = never_opened(notice, self.held_notice_wait)
            state.refused[notice.attempt] = refused
            handled.dead_letters.append(DeadLetterOutput(notice.source, refused))
            handled.expired += 1

    def on_tick(self, now: datetime, state: CaseState, partition: int, tick_id: str = "") -> Handled:
        """Fire the SLA thresholds due by `now` in this partition, minute bucket by minute bucket."""
        last_key = f"{partition}:last-tick"
        last = state.cursors.get(last_key)
        if tick_id and last and last[0] == tick_id:
            replayed = Handled(replayed=True)  # a redelivered tick: the same outputs
            replayed.replay(last[1])
            return replayed
        handled = Handled()
        self._expire_held(now, state, partition, handled)
        self._fire_due(now, state, partition, handled)
        if tick_id:
            state.cursors[last_key] = (tick_id, handled.sent)
        return handled

    def _fire_due(self, now: datetime, state: CaseState, partition: int, handled: Handled) -> None:
        cursor_key = str(partition)
        cursor = state.cursors.get(cursor_key)
        target = int(now.timestamp() // 60)
        if cursor is None:
            state.cursors[cursor_key] = target
            return
        last = min(target, cursor + MAX_MINUTES_PER_TICK)
        for minute in range(cursor + 1, last + 1):
            if not self._fire_bucket(f"{partition}:{minute}", now, state, partition, handled):
                last = minute - 1  # the rest of this minute on the next tick
                break
        if last != cursor:
            state.cursors[cursor_key] = last

    def _fire_bucket(self, bucket_key: str, now: datetime, state: CaseState, partition: int,
                     handled: Handled) -> bool:
        """Fire one minute's due timers; False when the tick's budget ran out first (the rest stays)."""
        due = list((state.buckets.pop(bucket_key, None) or {}).items())
        for done, (timer_key, token) in enumerate(due):
            if len(handled.sent) >= MAX_SENT_PER_TICK:
                state.buckets[bucket_key] = dict(due[done:])
                return False
            timer = state.timers.get(timer_key)
            if timer is None or timer.generation != token:
                continue  # overtaken by a newer timer state (lazy cancellation)
            change = self.tracker.on_due(timer, now)
            self._store_timer(timer_key, change, state, partition)
            self._signals(change.signals, timer_key.split("|")[0], now, state, partition, handled)
        return True

    # --- case commands ------------------------------------------------------------------------------

    def _open(self, dispatched: dict, state: CaseState, partition: int) -> Handled:
        case_id = dispatched["case_id"]
        existing = state.files.get(case_id)
        if existing is not None:
            replayed = Handled(replayed=True)
            existing.recall(dispatched["source_event_id"], replayed)
            return replayed
        decision = dispatched["decision"]
        channel = "patrol" if dispatched["channel"] == "PATROL" else dispatched["channel"].lower()
        reporter = self._first_reporter(dispatched, channel)
        triage = dispatched["target"]["kind"] == "TRIAGE"
        outcome = lifecycle.open_case(
            case_id, dispatched["category"], channel, dispatched["source_event_id"], reporter,
            [g["code"] for g in decision["grid_chain"]] or ["3303"], decision["handling_level"] if not triage else 1,
            dispatched["dispatched_at"], self.known,
            None if triage else decision["lead_department"], tuple(decision["assisting_departments"]),
        )
        handled = self._settle(CaseFile(None, dispatched), outcome, dispatched["source_event_id"], state, partition)  # type: ignore[arg-type]
        if handled.refused is None:
            self._release_held(case_id, dispatched["source_event_id"], state, partition, handled)
        return handled

    def _merge(self, command: dict, state: CaseState, partition: int) -> Handled:
        file = state.files.get(command["case_id"])
        details = command["details"]
        reporter = Reporter(ReporterKind(details["reporter_kind"]), details["reporter_address"])
        if file is None:
            outcome: Outcome | Rejection = Rejection(RejectionCode.UNKNOWN_CASE, f"no case {command['case_id']} to merge into",
                                                     command["case_id"])
        else:
            outcome = lifecycle.merge_report(file.case, command["cause_event_id"], reporter, command["occurred_at"])
        return self._settle(file, outcome, command["cause_event_id"], state, partition)

    # --- outcomes -----------------------------------------------------------------------------------

    def _settle(self, file: CaseFile | None, outcome: Outcome | Rejection, cause: str, state: CaseState,
                partition: int, handled: Handled | None = None) -> Handled:
        top_level = handled is None
        handled = handled or Handled()
        if isinstance(outcome, Rejection):
            if outcome.code in REPLAY_CODES:
                handled.replayed = True
                if file is not None and file.case is not None:
                    file.recall(cause, handled)
            else:
                handled.refused = Refused("APPLY", outcome.code.value, "Rejection", outcome.message, cause)
            return handled
        before = file.case if file and file.case else None
        file = file or CaseFile(outcome.case, {})
        file.case = outcome.case
        state.files[outcome.case.case_id] = file
        handled.transitions.append(Transition(
            before.lead_department if before else None, before.state.value if before else None,
            outcome.case.lead_department, outcome.case.state.value))
        for effect in outcome.effects:
            self._effect(effect, file, cause, state, partition, handled)
        if top_level:
            file.remember(cause, handled.outputs)
        state.files[outcome.case.case_id] = file  # write back: a table stores on assignment
        return handled

    def _effect(self, effect: Any, file: CaseFile, cause: str, state: CaseState, partition: int,
                handled: Handled) -> None:
        case_id = file.case.case_id
        if isinstance(effect, LifecycleEvent):
            handled.outputs.append(Output(self._history, case_id, "CaseLifecycleEvent",
                                          records.lifecycle_record(effect, cause)))
            if effect.event == "dispatched" and file.revision > 0:
                self._redispatch(file, ("department", file.case.lead_department or ""), "lead", effect.at, cause, handled)
        elif isinstance(effect, Feedback):
            channel = effect.recipient.address.upper() if effect.recipient.kind is ReporterKind.COMPLAINANT else "OTHER"
            handled.outputs.append(Output(self._feedback, case_id, "CaseFeedback",
                                          records.feedback_record(effect, cause, channel)))
        elif isinstance(effect, SlaCommand):
            key = f"{case_id}|{effect.milestone.value}"
            change = self.tracker.on_command(state.timers.get(key), effect)
            self._store_timer(key, change, state, partition)
            self._signals(change.signals, case_id, effect.at, state, partition, handled)
        elif isinstance(effect, RerouteRequest):
            self._reroute(effect, file, cause, state, partition, handled)
        elif isinstance(effect, GridTakeover):
            file.revision += 1
            self._redispatch(file, self._grid_target(file.case, effect.to_grid), "owning_grid", effect.at, cause, handled)

    def _reroute(self, request: RerouteRequest, file: CaseFile, cause: str, state: CaseState, partition: int,
                 handled: Handled) -> None:
        """After a transfer: the suggested department if it may take it, else the next assisting one."""
        decision = file.dossier.get("decision", {})
        candidates = [request.suggested_department, *decision.get("assisting_departments", []),
                      decision.get("lead_department")]
        lead = next((d for d in candidates if d and d in self.known and d not in request.excluded_departments), None)
        file.revision += 1
        if lead is None:
            self._redispatch(file, ("triage", "3303"), "triage", request.at, cause, handled)
            return
        assisting = tuple(d for d in decision.get("assisting_departments", []) if d != lead
                          and d not in request.excluded_departments)
        outcome = lifecycle.dispatch(file.case, lead, assisting, self.known, request.at)
        self._settle(file, outcome, cause, state, partition, handled)

    def _redispatch(self, file: CaseFile, target: tuple[str, str], role: str, at: datetime, cause: str,
                    handled: Handled) -> None:
        case, first = file.case, file.dossier["decision"]
        value = records.redispatched_record(file.dossier, file.revision, (*target, role), at, {
            "lead_department": case.lead_department or first["lead_department"],
            "assisting_departments": list(case.assisting_departments),
            "handling_level": case.handling_level,
            "reason": f"{first['reason']} | revision {file.revision}: re-dispatched to {target[0]} {target[1]} after {cause}",
        })
        handled.outputs.append(Output(self._topic_for(target), case.case_id, "CaseDispatched", value,
                                      records.dispatch_headers(value)))

    def _signals(self, signals: tuple, case_id: str, now: datetime, state: CaseState, partition: int,
                 handled: Handled) -> None:
        file = state.files.get(case_id)
        for signal in signals:
            if isinstance(signal, SlaEvent):
                handled.outputs.append(Output(self._sla, case_id, "SlaEvent", records.sla_record(signal)))
            elif isinstance(signal, SlaEscalation) and file is not None:
                notice = Notice(f"sla-breach:{case_id}:{signal.milestone}", case_id, NoticeKind.ESCALATION_REQUEST,
                                signal.to_grid, reason=f"SLA breach of {signal.milestone} (deadline {signal.deadline.isoformat()})")
                outcome = lifecycle.apply(file.case, notice, self.known, signal.at)
                if not isinstance(outcome, Rejection):
                    self._settle(file, outcome, notice.notice_id, state, partition, handled)

    def _store_timer(self, key: str, change: Any, state: CaseState, partition: int) -> None:
        if change.timer is None:
            return
        state.timers[key] = change.timer
        if change.next_due is not None:
            minute = due_minute(change.next_due)
            cursor = state.cursors.get(str(partition))
            if cursor is not None and minute <= cursor:
                minute = cursor + 1  # already past: fire on the next tick
            bucket_key = f"{partition}:{minute}"
            bucket = dict(state.buckets.get(bucket_key) or {})
            bucket[key] = change.timer.generation
            state.buckets[bucket_key] = bucket

    def _grid_target(self, case: Case, grid: str) -> tuple[str, str]:
        chain = case.grid_chain
        if grid == chain[-1] or len(chain) < 2:
            return ("triage", grid)
        return ("grid", chain[-2])  # the owning level-2 grid's topic carries its lower grids' cases too

    @staticmethod
    def _first_reporter(dispatched: dict, channel: str) -> Reporter:
        if dispatched["source_kind"] == "PATROL_REPORT":
            chain = dispatched["decision"]["grid_chain"]
            return Reporter(ReporterKind.UNIT, chain[0]["code"] if chain else "3303")
        return Reporter(ReporterKind.COMPLAINANT, channel)


def _may_open_later(notice: dict) -> bool:
    """Whether a notice for a case that is not open may be waiting for it: a kind the case desk knows and
    a case id of the shape the pipeline gives (any other id can never match, and is refused at once)."""
    return records.notice_kind_known(notice) and is_case_id(notice["case_id"])
