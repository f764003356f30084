"""Mapping between Avro records (dicts shaped by schemas/*.avsc) and domain values. Pure: no I/O.

The stream processors decode a record, map it here to the domain's input, call the domain, and map the
domain's outputs back to records. Enum spellings differ on purpose (Avro symbols are upper case, domain
values lower case); this module is the one place that translates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from envgrid.domain.cases.effects import Feedback, FeedbackReason, Handover, LifecycleEvent
from envgrid.domain.cases.model import Case, Reporter, ReporterKind
from envgrid.domain.cases.notices import Notice, NoticeKind, Rating
from envgrid.domain.geo.datums import Datum
from envgrid.domain.intake_contract import usable_point
from envgrid.domain.privacy import ComplainantIdentity, Pseudonym, Pseudonymiser, mask_digit_runs
from envgrid.domain.routing.model import Coordinates, RoutingDecision, RoutingInput, Severity
from envgrid.domain.sla.calendar import CalendarVersion, ScheduledDay, Source, YearStatus
from envgrid.domain.sla.calendar_change import Publication
from envgrid.domain.sla.timer import MilestoneTimer, SlaEvent
from envgrid.domain.sla.worktime import Reckoned

#: intake event type -> Avro SourceKind symbol
SOURCE_KINDS = {"PetitionComplaint": "PETITION_COMPLAINT", "PatrolReport": "PATROL_REPORT"}
_ROLE_SYMBOLS = {"lead": "LEAD", "assisting": "ASSISTING", "owning_grid": "OWNING_GRID",
                 "handling_grid": "HANDLING_GRID", "triage": "TRIAGE"}
_FEEDBACK_STAGES = {reason: reason.value.upper() for reason in FeedbackReason}  # same names in FeedbackStage
#: TargetRole symbols of the units that call a complainant back: their copies carry the masked contact
CALLBACK_ROLES = frozenset({"LEAD", "HANDLING_GRID", "TRIAGE"})
Headers = tuple[tuple[str, bytes], ...]


def channel_of(event_name: str, record: dict[str, Any]) -> str:
    """Domain channel value (envgrid.domain.sla.policy.Channel) of an intake record."""
    if event_name == "PatrolReport":
        return "patrol"
    return str(record.get("channel") or "OTHER").lower()


def routing_input(event_name: str, record: dict[str, Any]) -> RoutingInput:
    """What the routing decision reads from a petition complaint or patrol report."""
    location = record.get("location") or {}
    coordinates = None
    point = usable_point(location.get("longitude"), location.get("latitude"))  # non-finite: no coordinates
    if point is not None:
        datum = Datum(str(location.get("datum") or "WGS84").upper())
        coordinates = Coordinates(point[0], point[1], datum)
    return RoutingInput(
        event_id=record["event_id"],
        event_time=record["occurred_at"],
        category=record["category"],
        severity=Severity(str(record.get("severity") or "MEDIUM").lower()),
        grid_code=record.get("grid_code") if event_name == "PatrolReport" else None,
        coordinates=coordinates,
        address=location.get("address"),
        key_entity=bool(record.get("key_entity")),
        suspected_crime=bool(record.get("suspected_crime")),
        cross_district=bool(record.get("cross_district")),
    )


def reporter_of(event_name: str, record: dict[str, Any]) -> Reporter:
    """Who gets feedback for this report: the complainant's channel, or the reporting grid."""
    if event_name == "PatrolReport":
        return Reporter(ReporterKind.UNIT, record["grid_code"])
    return Reporter(ReporterKind.COMPLAINANT, channel_of(event_name, record))


def dispatch_copies(
    case_id: str, revision: int, event_name: str, record: dict[str, Any], decision_record: dict[str, Any],
    targets: Sequence[tuple[str, str, str]], dispatched_at: datetime, cause_event_id: str, complainant: Pseudonym | None,
) -> list[tuple[dict[str, Any], Headers]]:
    """A CaseDispatched record per target (kind, code, role), with its headers (`dispatch_headers`). A copy
    never carries the complainant's identity: `complainant` is the token and masked contact instead (the
    contact only for a unit that calls back), and digit runs in the free text are masked
    (`envgrid.domain.privacy`). The copies differ only in their id, target and contact: every other value is
    the same object in all of them, worked out once (and encoded once, `envgrid.streams.output_encoder`)."""
    location = record["location"]
    source_kind, category = SOURCE_KINDS[event_name], record["category"]
    channel = "PATROL" if event_name == "PatrolReport" else record.get("channel", "OTHER")
    severity, description = record.get("severity", "MEDIUM"), mask_digit_runs(record["description"])
    occurred_at, masked_location = record["occurred_at"], _masked_location(location)
    token, contact = (complainant.token, complainant.contact) if complainant else (None, None)
    decision = _masked_decision(decision_record, location)
    before, after = _header_facts(case_id, revision, category, decision)
    copies = []
    for kind, code, role in targets:
        target = target_record(kind, code, role)
        copy = {
            "event_id": _dispatch_id(case_id, revision, kind, code),
            "case_id": case_id,
            "revision": revision,
            "dispatched_at": dispatched_at,
            "source_event_id": cause_event_id,
            "source_kind": source_kind,
            "channel": channel,
            "category": category,
            "severity": severity,
            "description": description,
            "occurred_at": occurred_at,
            "location": masked_location,
            "complainant": None,
            "complainant_token": token,
            "complainant_contact": _callback_contact(target["role"], contact),
            "target": target,
            "decision": decision,
        }
        copies.append((copy, (*before, _target_header(target), *after)))
    return copies


def handover_record(dossier: dict[str, Any], handover: Handover, cause_event_id: str,
                    decision_changes: dict[str, Any]) -> dict[str, Any]:
    """The CaseDispatched a unit receives when it gains or loses a role (revision = the case's revision),
    built on the case's first dispatch (`withheld_dossier`: no identity), with the decision as it stands
    now and why it moved; the masked contact only for a unit that calls back."""
    kind, role = handover.unit_kind.value, handover.role.value
    target = target_record(kind, handover.unit, role)
    return dict(
        dossier, event_id=f"{_dispatch_id(dossier['case_id'], handover.version, kind, handover.unit)}:{role}:{handover.change.value}",
        revision=handover.version, dispatched_at=handover.at, target=target,
        complainant=None, complainant_contact=_callback_contact(target["role"], dossier.get("complainant_contact")),
        decision=dict(dossier["decision"], **decision_changes),
        handover={"change": handover.change.value.upper(), "cause": handover.cause.value.upper(),
                  "previous_holder": handover.previous_holder, "next_holder": handover.next_holder,
                  "cause_event_id": cause_event_id, "reason": handover.reason},
    )


def dossier_record(first_copy: dict[str, Any], case_id: str, complainant: Pseudonym | None) -> dict[str, Any]:
    """The command that opens the case, which the case desk keeps as the case's dossier: the first copy,
    with the masked contact whatever that copy's role (a later lead's copy is built on it)."""
    return dict(first_copy, event_id=f"{case_id}:open", complainant_contact=complainant.contact if complainant else None)


def withheld_dossier(dossier: dict[str, Any], pseudonymiser: Pseudonymiser) -> dict[str, Any]:
    """A dossier as this release keeps it. One written by a release before the identity was withheld (a
    case file restored from the changelog, an opening command still on the internal topic) holds the
    complainant's identity and no token: it gets the token and masked contact instead, and masked free
    text. A current dossier is returned as it is."""
    if dossier.get("complainant") is None and "complainant_token" in dossier:
        return dossier
    pseudonym = pseudonymiser.pseudonym(identity_of(dossier.get("complainant")))
    return dict(dossier, complainant=None, complainant_token=pseudonym.token if pseudonym else None,
                complainant_contact=pseudonym.contact if pseudonym else None,
                description=mask_digit_runs(dossier["description"]), location=_masked_location(dossier["location"]),
                decision=_masked_decision(dossier["decision"], dossier["location"]))


def same_opening(dossier: dict[str, Any], command: dict[str, Any]) -> bool:
    """Whether an opening command is the one that opened the case (a redelivery), not another report
    with its event id. A token computed under another key version (the key rotated in between) does not
    make them differ."""
    if _key_version(dossier) != _key_version(command):
        dossier, command = dict(dossier, complainant_token=None), dict(command, complainant_token=None)
    return dossier == command


def identity_record(case_id: str, record: dict[str, Any], complainant: Pseudonym | None) -> dict[str, Any]:
    """The ComplainantIdentityRecorded of a petition complaint (restricted identity topic, key report id)."""
    return {
        "event_id": f"{record['event_id']}:identity",
        "report_id": record["event_id"],
        "case_id": case_id,
        "recorded_at": record["received_at"],
        "channel": record.get("channel") or "OTHER",
        "channel_reference": record.get("channel_reference"),
        "identity": record.get("complainant"),
        "token": complainant.token if complainant else None,
        "key_version": complainant.key_version if complainant else None,
    }


def identity_of(value: dict[str, Any] | None) -> ComplainantIdentity | None:
    """The domain identity of a ComplainantIdentity record (None for an anonymous complaint)."""
    if not value:
        return None
    return ComplainantIdentity(value.get("name"), value.get("phone"), value.get("id_number"))


def _callback_contact(role_symbol: str, contact: str | None) -> str | None:
    return contact if role_symbol in CALLBACK_ROLES else None


def _masked_location(location: dict[str, Any]) -> dict[str, Any]:
    address = location.get("address")
    return dict(location, address=mask_digit_runs(address)) if isinstance(address, str) else location


def _masked_decision(decision: dict[str, Any], location: dict[str, Any]) -> dict[str, Any]:
    """The decision with the address text its reason quotes masked like the address (the rest of the reason
    is the pipeline's own words, grid codes included, and stays as it is)."""
    address = location.get("address")
    if not isinstance(address, str) or mask_digit_runs(address) == address:
        return decision
    return dict(decision, reason=decision["reason"].replace(address, mask_digit_runs(address)))


def _key_version(dispatched: dict[str, Any]) -> str | None:
    token = dispatched.get("complainant_token")
    return token.partition(":")[0] if isinstance(token, str) else None


def _dispatch_id(case_id: str, revision: int, kind: str, code: str) -> str:
    return f"{case_id}:r{revision}:{kind}:{code}"


def target_record(kind: str, code: str, role: str) -> dict[str, str]:
    """A DispatchTarget value: kind department|grid|triage, role lead|assisting|owning_grid|handling_grid|triage."""
    return {"kind": kind.upper(), "code": code, "role": _ROLE_SYMBOLS.get(role, "TRIAGE")}


def dispatch_headers(dispatched: dict[str, Any]) -> Headers:
    """The routing decision's key facts as record headers, so a subscriber or an ops tool can filter
    and count without decoding Avro. The record itself stays the source of truth."""
    before, after = _header_facts(dispatched["case_id"], dispatched["revision"], dispatched["category"],
                                  dispatched["decision"])
    headers = (*before, _target_header(dispatched["target"]), *after)
    handover = dispatched.get("handover")
    if handover:
        headers += (("envgrid-handover", f"{handover['change'].lower()}:{handover['cause'].lower()}".encode()),)
    return headers


def _header_facts(case_id: str, revision: int, category: str, decision: dict[str, Any]) -> tuple[Headers, Headers]:
    """The headers before and after `envgrid-target`: the facts all copies of one dispatch share."""
    before = {
        "envgrid-case-id": case_id,
        "envgrid-revision": str(revision),
        "envgrid-category": category,
    }
    after = {
        "envgrid-lead-department": decision.get("lead_department") or "",
        "envgrid-handling-level": str(decision["handling_level"]),
        "envgrid-owning-grid": decision["grid_chain"][0]["code"] if decision["grid_chain"] else "",
        "envgrid-resolution-path": decision["resolution_path"],
        "envgrid-rule-id": decision["rule_id"],
        "envgrid-registry-version": decision["registry_version"],
        "envgrid-near-boundary": "true" if decision.get("near_boundary") else "false",
    }
    return (tuple((name, value.encode()) for name, value in before.items()),
            tuple((name, value.encode()) for name, value in after.items()))


def _target_header(target: dict[str, str]) -> tuple[str, bytes]:
    return "envgrid-target", f"{target['kind'].lower()}:{target['code']}:{target['role'].lower()}".encode()


def dispatch_targets(decision: RoutingDecision) -> list[tuple[str, str, str]]:
    """(kind, code, role) per topic the decision reaches, one per (kind, code)."""
    seen: dict[tuple[str, str], tuple[str, str, str]] = {}
    for target in decision.targets:
        seen.setdefault((target.kind, target.code), (target.kind, target.code, target.role))
    return list(seen.values())


EVENT_TIME_FIELDS = {"PetitionComplaint": "received_at", "PatrolReport": "received_at", "DepartmentNotice": "occurred_at",
                     "CaseDispatched": "dispatched_at", "CaseLifecycleEvent": "occurred_at"}


def event_time_of(event_name: str, record: dict[str, Any]) -> datetime | None:
    """The time a pipeline input counts at (a report when received, a notice when it happened, a case
    command when dispatched or merged); None for records that are not timed inputs (clock ticks)."""
    field = EVENT_TIME_FIELDS.get(event_name)
    value = record.get(field) if field else None
    return value if isinstance(value, datetime) else None


def notice_kind_known(record: dict[str, Any]) -> bool:
    """Whether a DepartmentNotice record's kind is one the case state machine knows."""
    try:
        NoticeKind(str(record["kind"]).lower())
    except ValueError:
        return False
    return True


def notice_of(record: dict[str, Any]) -> Notice:
    """Domain notice of a DepartmentNotice record (kind UNKNOWN raises ValueError)."""
    kind = NoticeKind(str(record["kind"]).lower())
    text = record.get("resolution") or record.get("order") or record.get("message") or ""
    return Notice(
        notice_id=record["event_id"],
        case_id=record["case_id"],
        kind=kind,
        unit=record["unit_code"],
        reason=record.get("reason") or "",
        target_department=record.get("suggested_department"),
        assisting_departments=tuple(record.get("assisting_departments") or ()),
        text=text,
        extension=float(record.get("extension_days") or 0),
        rating=_rating(record.get("rating")),
    )


def _rating(value: Any) -> Rating | None:
    """The grade of a RATING notice; None when absent or a grade this version does not know (UNKNOWN)."""
    try:
        return None if value is None else Rating(str(value).lower())
    except ValueError:
        return None


def lifecycle_record(event: LifecycleEvent, cause_event_id: str, details: dict[str, str] | None = None,
                     snapshot: dict[str, Any] | None = None) -> dict[str, Any]:
    """A CaseLifecycleEvent (case.history) entry of a domain lifecycle event; `snapshot` is the case after its
    revision (`case_snapshot`)."""
    return {
        "event_id": event.event_id,
        "case_id": event.case_id,
        "occurred_at": event.at,
        "kind": str(event.event),
        "from_state": None if event.before is None else str(event.before),
        "to_state": str(event.after),
        "cause_event_id": event.cause_event_id or cause_event_id,
        "actor_unit": event.unit,
        "reason": event.reason,
        "details": dict(sorted({**dict(event.details), **(details or {})}.items())),  # key order: the chain's encoding
        "revision": event.version,
        "case": snapshot,
    }


def case_snapshot(case: Case, clocks: list[tuple[MilestoneTimer, Reckoned | None]]) -> dict[str, Any]:
    """A CaseSnapshot: the case as it stands, with each timed milestone's clock and its deadline (for a paused
    clock the deadline if it resumed, `envgrid.domain.sla.retiming.projected_deadline`). No reporter is named."""
    return {
        "state": str(case.state),
        "category": case.category,
        "channel": case.channel,
        "grid_chain": list(case.grid_chain),
        "handling_level": case.handling_level,
        "handling_grid": case.handling_grid,
        "supervising_grid": case.supervising_grid,
        "lead_department": case.lead_department,
        "assisting_departments": list(case.assisting_departments),
        "open_tasks": [task.unit for task in case.open_tasks],
        "handler_unit": case.handler_unit,
        "reports": len(case.reports),
        "transfers": len(case.transfers),
        "escalations": len(case.escalations),
        "extension_pending": case.extension_pending,
        "created_at": case.created_at,
        "acknowledged_at": case.acknowledged_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "deadlines": [{
            "milestone": str(timer.milestone),
            "clock": str(timer.state),
            "deadline": None if due is None else due.at,
            "started_at": timer.started_at,
            "handler_unit": timer.handler_unit,
            "policy_id": timer.policy_id,
            "breached": timer.breached,
            "calendar": str(timer.calendar_basis if due is None else due.calendar_basis),
        } for timer, due in clocks],
    }


def feedback_record(feedback: Feedback, cause_event_id: str, channel: str) -> dict[str, Any]:
    """A CaseFeedback record; `channel` is the Avro Channel symbol of the original report."""
    to_complainant = feedback.recipient.kind is ReporterKind.COMPLAINANT
    recipient = feedback.report_id if to_complainant and feedback.report_id else feedback.recipient.address
    return {
        "event_id": feedback.event_id,
        "case_id": feedback.case_id,
        "occurred_at": feedback.at,
        "stage": _FEEDBACK_STAGES.get(feedback.reason, "UNKNOWN"),
        "audience": feedback.audience.value.upper(),
        "recipient": recipient,
        "channel": channel if to_complainant else "OTHER",
        "message": feedback.message,
    }


def sla_record(event: SlaEvent) -> dict[str, Any]:
    """An SlaEvent record of a domain SLA warning or breach."""
    return {
        "event_id": event.event_id,
        "case_id": event.case_id,
        "occurred_at": event.at,
        "kind": str(event.kind).upper(),
        "milestone": str(event.milestone),
        "policy_id": event.policy_id or "unknown",
        "fraction": float(event.fraction),
        "started_at": event.started_at or event.at,
        "deadline": event.deadline,
        "handler_unit": event.handler_unit,
        "supervising_grid": event.supervising_grid,
        "calendar": event.calendar,
        "calendar_version": event.calendar_version or None,
    }


def calendar_record(publication: Publication) -> dict[str, Any]:
    """A CalendarPublished record of one year's schedule as published."""
    version = publication.version

    def source(value: Source) -> dict[str, Any]:
        return {"title": value.title, "date": value.date}

    def days(entries: tuple[ScheduledDay, ...]) -> list[dict[str, Any]]:
        return [{"date": d.day, "name": d.name, "source": source(d.source)} for d in entries]

    return {
        "event_id": f"{version.id}@{int(publication.published_at.timestamp() * 1000)}",
        "version_id": version.id,
        "year": version.year,
        "status": version.status.value.upper(),
        "source": source(version.source),
        "note": version.note,
        "published_at": publication.published_at,
        "holidays": days(version.holidays),
        "workdays": days(version.workdays),
    }


def publication_of(record: dict[str, Any]) -> Publication:
    """The publication a CalendarPublished record carries; ValueError when its days do not give its version id
    (a record edited by hand, or written by a publisher that computes ids differently)."""
    def source(value: dict[str, Any]) -> Source:
        return Source(value["title"], value["date"])

    def days(entries: list[dict[str, Any]]) -> tuple[ScheduledDay, ...]:
        return tuple(ScheduledDay(d["date"], d["name"], source(d["source"])) for d in entries)

    version = CalendarVersion(record["year"], YearStatus(str(record["status"]).lower()), source(record["source"]),
                              days(record["holidays"]), days(record["workdays"]), record.get("note") or "")
    if version.id != record["version_id"]:
        raise ValueError(f"calendar event {record['event_id']}: its days give version {version.id}, "
                         f"not {record['version_id']}")
    return Publication(version, record["published_at"])

