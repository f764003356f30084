"""Records for what the case state machine did: one function per effect kind, nothing decided here.

`CaseOutputs` turns a domain effect or SLA signal into the `Output` the case desk sends: history entries,
feedback, SLA warnings and breaches, and the dispatch (or release) a `Handover` sends to the topic of the
unit that gains or loses a role.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envgrid.connectors import records
from envgrid.domain.cases.effects import Feedback, Handover, LifecycleEvent, UnitKind
from envgrid.domain.cases.model import Case, ReporterKind
from envgrid.domain.sla.timer import SlaEvent
from envgrid.streams.routing_service import Output


@dataclass(frozen=True)
class CaseTopics:
    """Where the case desk writes: a target's topic (department, grid or triage), history, feedback, SLA."""

    topic_for: Callable[[tuple[str, str]], str]
    history: str
    feedback: str
    sla: str


class CaseOutputs:
    def __init__(self, topics: CaseTopics) -> None:
        self.topics = topics

    def history(self, event: LifecycleEvent, cause: str, opening: dict[str, Any] | None = None) -> Output:
        """A history entry; the entries of a case's opening revision carry the routing decision it opened with
        (`records.opening_details`), so that an audit finds it in case.history."""
        details = opening_details(opening) if opening is not None else None
        return Output(self.topics.history, event.case_id, "CaseLifecycleEvent",
                      records.lifecycle_record(event, cause, details))

    def feedback(self, feedback: Feedback, cause: str) -> Output:
        recipient = feedback.recipient
        channel = recipient.address.upper() if recipient.kind is ReporterKind.COMPLAINANT else "OTHER"
        return Output(self.topics.feedback, feedback.case_id, "CaseFeedback",
                      records.feedback_record(feedback, cause, channel))

    def sla_event(self, event: SlaEvent) -> Output:
        return Output(self.topics.sla, event.case_id, "SlaEvent", records.sla_record(event))

    def handover(self, handover: Handover, case: Case, dossier: dict[str, Any], cause: str) -> Output:
        """The copy of the case for the unit that gains (or loses) a role, built on the case's first dispatch
        with the decision as it stands now: lead, assisting departments, handling level."""
        topic_target = _topic_target(handover)
        value = records.handover_record(dossier, handover, cause, {
            "lead_department": case.lead_department or "",
            "assisting_departments": list(case.assisting_departments),
            "handling_level": case.handling_level,
            "reason": f"{dossier['decision']['reason']} | revision {handover.version}: {handover.change.value} "
                      f"{handover.role.value} to {handover.unit} ({handover.cause.value}: {handover.reason})",
        })
        return Output(self.topics.topic_for(topic_target), case.case_id, "CaseDispatched", value,
                      records.dispatch_headers(value))


def opening_details(dossier: dict[str, Any]) -> dict[str, str]:
    """What the `created` history entry keeps of the case's opening dispatch: the report it came from and the
    routing decision with its provenance (registry and rules version, rule, resolution path, near-boundary
    candidates), the decision as canonical JSON under `decision` (`envgrid.audit` reads it back)."""
    return {"source_event_id": dossier["source_event_id"], "source_kind": dossier["source_kind"],
            "decision": json.dumps(dossier["decision"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))}


def _topic_target(handover: Handover) -> tuple[str, str]:
    """A department's own topic; a grid's cases travel on its level-2 grid's topic (the city's on its own)."""
    match handover.unit_kind:
        case UnitKind.DEPARTMENT:
            return ("department", handover.unit)
        case UnitKind.GRID:
            return ("grid", handover.via_grid or handover.unit)
        case UnitKind.TRIAGE:
            return ("triage", handover.unit)
