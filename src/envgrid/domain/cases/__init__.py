"""Case lifecycle: the pure state machine from dispatch to close, with its effects."""
from envgrid.domain.cases.effects import (
    Effect,
    Feedback,
    FeedbackAudience,
    FeedbackReason,
    GridTakeover,
    LifecycleEvent,
    LifecycleKind,
    Outcome,
    Rejection,
    RejectionCode,
    RerouteRequest,
    TakeoverCause,
)
from envgrid.domain.cases.lifecycle import DEFAULT_RULES, CaseRules, apply, dispatch, merge_report, open_case
from envgrid.domain.cases.model import (
    Case,
    CaseState,
    EnforcementOrder,
    EscalationRecord,
    LinkedReport,
    Reporter,
    ReporterKind,
    Task,
    TransferRecord,
    invariant_violations,
)
from envgrid.domain.cases.notices import Notice, NoticeKind, Rating

__all__ = [
    "Case", "CaseRules", "CaseState", "DEFAULT_RULES", "Effect", "EnforcementOrder", "EscalationRecord", "Feedback",
    "FeedbackAudience", "FeedbackReason", "GridTakeover", "LifecycleEvent", "LifecycleKind", "LinkedReport", "Notice", "NoticeKind", "Outcome", "Rating", "Rejection",
    "RejectionCode", "Reporter", "ReporterKind", "RerouteRequest", "TakeoverCause", "Task", "TransferRecord", "apply",
    "dispatch", "invariant_violations", "merge_report", "open_case",
]
