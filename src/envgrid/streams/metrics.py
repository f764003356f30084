"""Every Prometheus metric the workers export, in one place.

Names follow Prometheus conventions: `envgrid_` prefix, base units in the name (`_seconds`), `_total` for
counters. Label sets are bounded: topics come from the catalogue, departments from
config/departments.yaml, reasons and states from closed sets in the domain.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

from envgrid.domain.sla.commands import Milestone
from envgrid.domain.sla.timer import SlaEventKind

if TYPE_CHECKING:
    from envgrid.streams.routing_service import Output

EVENTS_CONSUMED = Counter(
    "envgrid_events_consumed_total", "Records consumed by the pipeline, by topic.", ["topic"]
)
EVENTS_PRODUCED = Counter(
    "envgrid_events_produced_total", "Records produced by the pipeline, by topic.", ["topic"]
)
ROUTING_DECISIONS = Counter(
    "envgrid_routing_decisions_total",
    "Routing decisions, by resolution path and lead department ('none' for triage).",
    ["resolution_path", "department"],
)
ROUTING_LATENCY = Histogram(
    "envgrid_routing_latency_seconds",
    "Routing latency: 'processing' is from the intake record's Kafka timestamp (when it was produced) to its "
    "dispatch, queueing in Kafka included; 'event_time' is from the report's receipt (received_at) to its dispatch.",
    ["clock"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
OPEN_CASES = Gauge(
    "envgrid_open_cases", "Open cases, by lead department and state.", ["department", "state"]
)
SLA_EVENTS = Counter(
    "envgrid_sla_events_total", "SLA warnings and breaches, by kind and milestone.", ["kind", "milestone"]
)
DEAD_LETTERS = Counter(
    "envgrid_dead_letters_total", "Records sent to the dead-letter topic, by stage and reason.", ["stage", "reason"]
)
HELD_NOTICES = Counter(
    "envgrid_held_notices_total",
    "Department notices that came before their case opened: held, then applied when it opened or refused "
    "when it did not open in time.", ["outcome"])
MERGES = Counter("envgrid_merges_total", "Repeat reports merged into an existing case.")
TRANSFERS = Counter("envgrid_transfers_total", "Cases transferred (移交移送) to another unit.")
ESCALATIONS = Counter("envgrid_escalations_total", "Cases escalated to the upper grid.", ["cause"])
RATINGS = Counter("envgrid_ratings_total", "Complainants' ratings of results (回访评价), by grade; `reopened` "
                  "counts the dissatisfied ones that reopened their case (重办).", ["rating"])
RATING_GRADES = ("satisfied", "basically_satisfied", "dissatisfied", "reopened")
FEEDBACK = Counter("envgrid_feedback_total", "Feedback messages sent, by audience and stage.", ["audience", "stage"])
HANDOVERS = Counter("envgrid_handovers_total",
                    "Dispatches after the opening (revision > 0): a unit gains or loses a role in a case, and why.",
                    ["cause", "role", "change"])
SLA_CLOCK = Gauge("envgrid_sla_clock_seconds",
                  "The time the SLA ticker last sent (epoch s): deadlines up to it are judged. It trails the clock "
                  "by the allowed lateness, and by the oldest input still waiting when the pipeline is behind.")
OUTAGE = Gauge("envgrid_dependency_outage",
                "1 while a processor waits for the schema registry or the broker to come back, else 0.", ["processor"])
OUTAGE_RETRIES = Counter("envgrid_dependency_outage_retries_total",
                         "Records tried again because the schema registry or the broker was unavailable.",
                         ["processor", "dependency"])
REPLAYED = Counter(
    "envgrid_replayed_events_total",
    "Records seen again after a restart (at-least-once redelivery) and recognised by event id.",
    ["processor"],
)
CONSUMER_LAG = Gauge(
    "envgrid_consumer_lag_messages",
    "Messages not yet consumed (log end offset minus committed offset), by group, topic and partition.",
    ["group", "topic", "partition"],
)

LAG_COLLECTION_ERRORS = Counter(
    "envgrid_lag_collection_errors_total",
    "Consumer-lag collection ticks that failed for a group (broker down or slow); retried next tick.",
    ["group"],
)

EVALUATION_RATE = Gauge(
    "envgrid_evaluation_rate",
    "Evaluation indicators (评价, docs/evaluation.md) of the cases opened in the current month, quarter or year "
    "(window), per level-2 grid and department: response_rate, on_time_rate, resolution_rate, return_rate, "
    "satisfaction_rate, redo_rate; NaN "
    "while the unit has no case to judge.", ["window", "unit_kind", "unit", "indicator"])
EVALUATION_COUNT = Gauge(
    "envgrid_evaluation_count",
    "Counts behind the evaluation indicators for the current window: cases opened, SLA warnings and breaches.",
    ["window", "unit_kind", "unit", "indicator"])
EVALUATION_HANDLING_DAYS = Gauge(
    "envgrid_evaluation_handling_working_days",
    "Average handling time (opening to result) of the window's resolved cases, in working days; NaN if none.",
    ["window", "unit_kind", "unit"])

HELD_NOTICE_OUTCOMES = ("held", "applied_on_open", "refused_never_opened")
ESCALATION_CAUSES = ("sla_breach", "escalated", "sent_to_parent_grid")


def export_known_labels() -> None:
    """Export at 0 every counter whose labels are a closed set. A labelled child is otherwise born at its
    first increment, and `increase()` over a series that begins at 1 is 0: the alert on SLA breaches
    (deploy/observability/alerts.yml) would miss each milestone's first breach after a worker starts."""
    for kind in SlaEventKind:
        for milestone in Milestone:
            SLA_EVENTS.labels(kind=kind.value, milestone=milestone.value)
    for outcome in HELD_NOTICE_OUTCOMES:
        HELD_NOTICES.labels(outcome=outcome)
    for cause in ESCALATION_CAUSES:
        ESCALATIONS.labels(cause=cause)
    for grade in RATING_GRADES:
        RATINGS.labels(rating=grade)


_server_lock = threading.Lock()
_server_port: int | None = None


def serve_metrics(port: int, host: str = "127.0.0.1") -> int:
    """Start the HTTP endpoint once per process (port 0 picks a free one); returns the port."""
    global _server_port
    with _server_lock:
        if _server_port is None:
            server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
            _server_port = server.server_port
        return _server_port


def count_outputs(outputs: Iterable[Output]) -> None:
    """Domain counters read off what the case desk sends: feedback, SLA events, transfers, escalations."""
    for output in outputs:
        value = output.value
        if output.event_name == "CaseDispatched" and value.get("handover"):
            handover = value["handover"]
            HANDOVERS.labels(cause=handover["cause"].lower(), role=value["target"]["role"].lower(),
                             change=handover["change"].lower()).inc()
        elif output.event_name == "CaseFeedback":
            FEEDBACK.labels(audience=value["audience"].lower(), stage=value["stage"].lower()).inc()
        elif output.event_name == "SlaEvent":
            SLA_EVENTS.labels(kind=value["kind"].lower(), milestone=value["milestone"]).inc()
        elif output.event_name == "CaseLifecycleEvent":
            kind = value["kind"]
            if kind == "transferred":
                TRANSFERS.inc()
            elif kind == "rated":
                RATINGS.labels(rating=value["details"].get("rating", "")).inc()
            elif kind == "reopened":
                RATINGS.labels(rating="reopened").inc()
            elif kind in ("escalated", "sent_to_parent_grid"):
                ESCALATIONS.labels(cause="sla_breach" if value["cause_event_id"].startswith("sla-breach:")
                                   else kind).inc()


def count_held_notices(held: int, released: int, expired: int) -> None:
    for outcome, count in zip(HELD_NOTICE_OUTCOMES, (held, released, expired), strict=True):
        if count:
            HELD_NOTICES.labels(outcome=outcome).inc(count)
