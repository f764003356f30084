"""Builder for one applied change: the new case plus its effects, stamped with one version bump."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from envgrid.domain.cases.effects import (
    Effect,
    Feedback,
    FeedbackAudience,
    FeedbackReason,
    Handover,
    HandoverCause,
    LifecycleEvent,
    LifecycleKind,
    Outcome,
)
from envgrid.domain.cases.model import Case, CaseState, Reporter, ReporterKind
from envgrid.domain.cases.responsibility import handovers, reassignments
from envgrid.domain.sla.commands import Milestone, PauseReason, SlaAction, SlaCommand

# Why the SLA policy would refuse extending a milestone of this case by so many units (None: it allows it).
ExtensionCheck = Callable[[Milestone, float], "str | None"]

ALL_MILESTONES = (Milestone.ACKNOWLEDGE, Milestone.ACCEPT_DECISION, Milestone.RESOLVE)
RECENT_NOTICES_KEPT = 64


class Step:
    def __init__(self, case: Case, now: datetime, unit: str | None, notice_id: str | None = None,
                 cause_event_id: str | None = None, created: bool = False,
                 extension_check: ExtensionCheck | None = None) -> None:
        self.before = case
        self.case = case
        self.now = now
        self.unit = unit
        self.notice_id = notice_id
        self.cause_event_id = cause_event_id or notice_id
        self.effects: list[Effect] = []
        self._last_state: CaseState | None = None if created else case.state
        self.created = created
        self.extension_check = extension_check
        self.version = -1 if created else case.version  # the version before this step
        self.handover_cause: HandoverCause | None = None
        self.handover_reason = ""
        self.everyone_again = False  # every holder is assigned the case again (a reopen): `reassigns_everyone`

    def moves_responsibility(self, cause: HandoverCause, reason: str) -> Step:
        """Why the units holding the case change in this step (the handovers say who gains and who loses)."""
        self.handover_cause, self.handover_reason = cause, reason
        return self

    def reassigns_everyone(self, cause: HandoverCause, reason: str) -> Step:
        """The case comes back to the units that hold it (a reopened case): each is assigned it again on its
        topic, though none of them changed."""
        self.everyone_again = True
        return self.moves_responsibility(cause, reason)

    def change(self, **fields: Any) -> Step:
        self.case = replace(self.case, **fields)
        return self

    def event(self, kind: LifecycleKind, reason: str = "", details: tuple[tuple[str, str], ...] = ()) -> Step:
        self.effects.append(LifecycleEvent(
            self.case.case_id, kind, self._last_state, self.case.state, self.unit, reason, self.now,
            self.version + 1, self.cause_event_id, details,
        ))
        self._last_state = self.case.state
        return self

    def feedback(self, reason: FeedbackReason, text: str = "", to_transferring_units: bool = False,
                 to_supervising_grid: bool = False) -> Step:
        """Tell every reporter; and the units that transferred the case, and the supervising upper grid, when
        asked. A unit hears each message once, in its first audience (a reporting grid is not told twice)."""
        case = self.case
        message = f"case {case.case_id} {reason.value} (handled by {case.handler_unit})" + (f": {text}" if text else "")
        for report in case.reports:
            self.to_reporter(reason, report.reporter, report.report_id, message)
        told = {r.reporter for r in case.reports}
        units: list[tuple[str, FeedbackAudience]] = []
        if to_transferring_units:
            units += [(t.from_unit, FeedbackAudience.TRANSFERRING_UNIT) for t in case.transfers]
        if to_supervising_grid and case.supervising_grid != case.handler_unit:
            units.append((case.supervising_grid, FeedbackAudience.SUPERVISING_GRID))
        for unit, audience in units:
            recipient = Reporter(ReporterKind.UNIT, unit)
            if recipient not in told:
                told.add(recipient)
                self.effects.append(Feedback(case.case_id, reason, audience, recipient, None, case.handler_unit,
                                             message, self.now, self.version + 1))
        return self

    def to_reporter(self, reason: FeedbackReason, reporter: Reporter, report_id: str, message: str) -> Step:
        audience = FeedbackAudience.COMPLAINANT if reporter.kind is ReporterKind.COMPLAINANT else FeedbackAudience.REPORTING_UNIT
        self.effects.append(Feedback(self.case.case_id, reason, audience, reporter, report_id, self.case.handler_unit,
                                     message, self.now, self.version + 1))
        return self

    def sla(self, action: SlaAction, *milestones: Milestone, pause_reason: PauseReason | None = None,
            extension_units: float = 0.0) -> Step:
        case = self.case
        for milestone in milestones or ALL_MILESTONES:
            self.effects.append(SlaCommand(
                action, case.case_id, milestone, self.now, case.channel, case.category, case.handler_unit,
                case.supervising_grid, pause_reason, extension_units,
            ))
        return self

    def effect(self, effect: Effect) -> Step:
        self.effects.append(effect)
        return self

    def finish(self) -> Outcome:
        recent = self.case.recent_notice_ids
        if self.notice_id is not None:
            recent = (*recent, self.notice_id)[-RECENT_NOTICES_KEPT:]
        final = replace(self.case, version=self.version + 1, updated_at=max(self.now, self.before.updated_at),
                        recent_notice_ids=recent)
        if self.created:
            moved: tuple[Handover, ...] = ()
        elif self.everyone_again and self.handover_cause is not None:
            moved = reassignments(final, self.handover_cause, self.handover_reason, self.now)
        else:
            moved = handovers(self.before, final, self.handover_cause, self.handover_reason, self.now, final.version)
        return Outcome(final, (*self.effects, *moved))
