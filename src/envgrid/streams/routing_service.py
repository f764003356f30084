"""The router's work between decode and send, with no faust in it (so it is tested in memory).

Stage 1 (`locate`): decode an intake record, validate it, decide its routing, and name its merge zone.
Stage 2 (`open_or_merge`): in the merge zone's partition, either merge a repeat report into an open case
or open a case: dispatch copies to every target topic plus a command to the case state machine.
A complaint's identity goes only to the restricted identity topic (one record per complaint, opened or
merged); every copy and command carries the complainant's token and masked contact instead
(`envgrid.domain.privacy`, with the key the composition passes in).
Routing is pure and deterministic, so stage 2 decides again from the same bytes instead of carrying the
decision across the internal topic in a second schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envgrid.connectors import records
from envgrid.connectors.serde import UndecodableRecord
from envgrid.domain.case_ids import case_id_for
from envgrid.domain.duplicates import DuplicatePolicy, IncidentIndex, Sighting, merge_zone
from envgrid.domain.effective import NoVersionInForce
from envgrid.domain.geo.datums import Datum, to_wgs84
from envgrid.domain.intake_contract import (
    Breach,
    Reason,
    check_report,
    check_size,
    content_digest,
    usable_point,
    without_unusable_point,
)
from envgrid.domain.privacy import Pseudonym, Pseudonymiser
from envgrid.domain.routing.context import RoutingContext
from envgrid.domain.routing.model import ResolutionNote, RoutingDecision
from envgrid.domain.rules.model import UnknownCategory

INTAKE_EVENTS = frozenset(records.SOURCE_KINDS)
RECENTLY_LOCATED_MAX = 20_000


@dataclass(frozen=True)
class Output:
    """One record to send: topic, key, event type and value (a dict shaped by the event's schema)."""

    topic: str
    key: str
    event_name: str
    value: dict[str, Any]
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Refused:
    """Why a record goes to the dead-letter topic instead of on."""

    stage: str  # DECODE | VALIDATE | ROUTE | APPLY
    reason_code: str
    error_class: str
    message: str
    event_id: str | None = None


@dataclass(frozen=True)
class Located:
    event_name: str
    record: dict[str, Any]
    decision: RoutingDecision
    zone: str
    digest: str = ""  # of the decoded record's content: a reused event id with other content differs

    @property
    def event_id(self) -> str:
        event_id: str = self.record["event_id"]
        return event_id

    @property
    def incidents_key(self) -> str:
        """The incident index this report is checked against: one per merge zone and category (repeats
        share both), so each index, and each table write of it, stays small."""
        return f"{self.zone}|{self.record['category']}"


@dataclass(frozen=True)
class Intake:
    """What stage 2 did with one report: opened `case_id` or merged into it, and what to send."""

    case_id: str
    merged: bool
    outputs: list[Output]
    redelivered: bool = False  # the zone had handled this report: the same outputs, sent again


class RoutingService:
    def __init__(
        self, decode: Callable[[bytes | None, str], tuple[str, dict[str, Any]]], routing: RoutingContext,
        topic_for: Callable[[tuple[str, str]], str], case_commands_topic: str, identity_topic: str,
        pseudonymiser: Pseudonymiser, policy: DuplicatePolicy | None = None,
    ) -> None:
        self._decode = decode
        self._routing = routing
        self._topic_for = topic_for
        self._case_commands_topic = case_commands_topic
        self._identity_topic = identity_topic
        self._pseudonymiser = pseudonymiser
        self._categories = frozenset(c.code for c in routing.categories)
        self.policy = policy or DuplicatePolicy()
        self._recently_located: dict[bytes, Located] = {}  # stage 1 → stage 2 in the same process
        self._target_topics: dict[tuple[str, str], str] = {}  # (kind, code) -> topic, as `topic_for` names it
        self._earliest = min(v.valid_from for v in _registry_versions(routing))  # the registry's first version

    def locate_again(self, value: bytes | None, topic: str) -> Located | Refused:
        """Stage 2: the same answer as `locate` gave stage 1 for these bytes (routing is deterministic),
        taken from this process's recent results when stage 1 ran here, else worked out again."""
        if isinstance(value, bytes):
            located = self._recently_located.pop(value, None)
            if located is not None:
                return located
        return self.locate(value, topic, remember=False)

    def locate(self, value: bytes | None, topic: str, remember: bool = True) -> Located | Refused:
        """Decode, validate (the input contract, `envgrid.domain.intake_contract`) and route one intake record.
        Non-finite or off-globe coordinates are dropped here, so everything after sees "no coordinates"."""
        decoded = decode_intake(self._decode, value, topic)
        if isinstance(decoded, Refused):
            return decoded
        event_name, record = decoded
        if event_name not in INTAKE_EVENTS:
            return Refused("VALIDATE", "not_an_intake_event", "WrongEventType",
                           f"{topic} carries reports; a {event_name} cannot be routed", record.get("event_id"))
        breach = check_report(record, self._earliest)
        if breach is not None:
            return contract_refusal("VALIDATE", breach, record.get("event_id") or None)
        digest = content_digest(record)
        record = without_unusable_point(record)
        event_id = record["event_id"]
        if record["category"] not in self._categories:
            return Refused("VALIDATE", "unknown_category", "UnknownCategory",
                           f"event {event_id}: category {record['category']!r} is not in config/rules/categories "
                           f"(known: {', '.join(sorted(self._categories))}); fix the producer or add the category",
                           event_id)
        try:
            decision = self._routing.decide(records.routing_input(event_name, record))
        except (NoVersionInForce, UnknownCategory, ValueError) as error:
            return Refused("ROUTE", _route_reason(error), type(error).__name__, f"event {event_id}: {error}", event_id)
        notes = decision.provenance.resolution_notes
        if decision.is_triage and ResolutionNote.COORDINATES_OUTSIDE_CITY in notes:
            location = record["location"]
            return Refused("VALIDATE", "location_outside_city", "LocationOutsideCity",
                           f"event {event_id}: coordinates {location.get('longitude')},{location.get('latitude')} "
                           f"({location.get('datum')}) lie outside Wenzhou and no address text resolved; "
                           f"check the datum and the reporting app", event_id)
        chain = [grid.code for grid in decision.owning_chain]
        located = Located(event_name, record, decision, merge_zone(chain) if not decision.is_triage else "triage",
                          digest)
        if remember and isinstance(value, bytes):
            if len(self._recently_located) >= RECENTLY_LOCATED_MAX:
                del self._recently_located[next(iter(self._recently_located))]
            self._recently_located[value] = located
        return located

    def open_or_merge(self, located: Located, index: IncidentIndex) -> Intake | Refused:
        """Merge a repeat report into its open case, or open a case; updates `index` in place (only when
        it returns an Intake that is not a redelivery: a refusal changes nothing).

        A report the zone already handled (redelivered after a restart or rebalance) gets the same
        outputs again — same event ids, same content — and changes nothing: its outputs may not have
        reached the broker before the worker stopped, and consumers drop what they already have by id.
        The same event id with other content is refused as a conflict; the first report stays as it was.
        """
        handled = index.case_of(located.event_id)
        if handled is not None:
            known_digest = index.digest_of(located.event_id)
            if known_digest and located.digest and known_digest != located.digest:
                breach = Breach(Reason.EVENT_ID_CONFLICT,
                                f"event {located.event_id} was already handled (case {handled[0]}) with other content; "
                                f"a producer must give every report its own event id")
                return contract_refusal("VALIDATE", breach, located.event_id)
            case_id, merged = handled
            outputs = self._merge_outputs(located, case_id) if merged else self._open_outputs(located, case_id)
            return Intake(case_id, merged, outputs, redelivered=True)
        intake = self._open_or_merge(located, index)
        index.handled(located.event_id, intake.case_id, intake.merged, located.record["occurred_at"], self.policy,
                      located.digest)
        return intake

    def _open_or_merge(self, located: Located, index: IncidentIndex) -> Intake:
        decision = located.decision
        sighting = self._sighting(located)
        duplicate_of = index.find_duplicate(sighting, self.policy) if not decision.is_triage else None
        if duplicate_of is not None:
            return Intake(duplicate_of, True, self._merge_outputs(located, duplicate_of))
        case_id = case_id_for(located.event_id)
        if not decision.is_triage:
            index.add(Sighting(case_id, sighting.category, sighting.occurred_at, sighting.grid_code,
                               sighting.longitude, sighting.latitude), self.policy)
        return Intake(case_id, False, self._open_outputs(located, case_id))

    def _open_outputs(self, located: Located, case_id: str) -> list[Output]:
        """The complainant's identity record, a dispatch copy for every target of the decision, and the
        command that opens the case."""
        record, decision = located.record, located.decision
        complainant = self._pseudonym(located)
        targets = records.dispatch_targets(decision)
        copies = records.dispatch_copies(case_id, 0, located.event_name, record, decision.to_dict(), targets,
                                         record["received_at"], located.event_id, complainant)
        outputs = self._identity_outputs(located, case_id, complainant)
        outputs += [Output(self._target_topic(kind, code), case_id, "CaseDispatched", copy, headers)
                    for (kind, code, _), (copy, headers) in zip(targets, copies, strict=True)]
        command = records.dossier_record(copies[0][0], case_id, complainant)
        outputs.append(Output(self._case_commands_topic, case_id, "CaseDispatched", command))
        return outputs

    def _target_topic(self, kind: str, code: str) -> str:
        topic = self._target_topics.get((kind, code))
        if topic is None:  # an unknown target raises each time, and is not remembered
            topic = self._target_topics[(kind, code)] = self._topic_for((kind, code))
        return topic

    def _merge_outputs(self, located: Located, case_id: str) -> list[Output]:
        """The repeat's complainant's identity record (feedback on the case reaches them too), and the
        command that merges the report into the case."""
        return [*self._identity_outputs(located, case_id, self._pseudonym(located)),
                self._merge_command(located, case_id)]

    def _pseudonym(self, located: Located) -> Pseudonym | None:
        return self._pseudonymiser.pseudonym(records.identity_of(located.record.get("complainant")))

    def _identity_outputs(self, located: Located, case_id: str, complainant: Pseudonym | None) -> list[Output]:
        """A complaint's record on the restricted identity topic, keyed by report id (what CaseFeedback names
        as the recipient), anonymous or not: the feedback gateway finds every complainant's channel there."""
        if located.event_name != "PetitionComplaint":
            return []
        value = records.identity_record(case_id, located.record, complainant)
        return [Output(self._identity_topic, located.event_id, "ComplainantIdentityRecorded", value)]

    def _merge_command(self, located: Located, case_id: str) -> Output:
        reporter = records.reporter_of(located.event_name, located.record)
        value = {
            "event_id": f"{case_id}:merge:{located.event_id}",
            "case_id": case_id,
            "occurred_at": located.record["received_at"],
            "kind": "merged",
            "from_state": None,
            "to_state": None,
            "cause_event_id": located.event_id,
            "actor_unit": reporter.address if reporter.kind.value == "unit" else None,
            "reason": f"repeat report {located.event_id} of the same incident (same category, nearby, within "
                      f"{self.policy.window}) merged into case {case_id}",
            "details": {"reporter_kind": reporter.kind.value, "reporter_address": reporter.address,
                        "channel": records.channel_of(located.event_name, located.record)},
        }
        return Output(self._case_commands_topic, case_id, "CaseLifecycleEvent", value)

    @staticmethod
    def _sighting(located: Located) -> Sighting:
        record, chain = located.record, located.decision.owning_chain
        location = record["location"]
        lon: float | None = None
        lat: float | None = None
        point = usable_point(location.get("longitude"), location.get("latitude"))
        if point is not None:
            lon, lat = to_wgs84(*point, Datum(location.get("datum") or "WGS84"))
            if usable_point(lon, lat) is None:
                lon = lat = None
        return Sighting("", record["category"], record["occurred_at"], chain[0].code if chain else "triage", lon, lat)


def decode_intake(decode: Callable[[Any, str], tuple[str, dict[str, Any]]], value: Any,
                  topic: str) -> tuple[str, dict[str, Any]] | Refused:
    """The edge for intake records (reports and notices alike): the size limit, checked before decoding,
    then the codec. (event name, record), or why the record is refused at the DECODE stage."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        breach = check_size(len(value), topic)
        if breach is not None:
            return contract_refusal("DECODE", breach)
    try:
        return decode(value, topic)
    except UndecodableRecord as error:
        return Refused("DECODE", error.reason, type(error).__name__, str(error))


def contract_refusal(stage: str, breach: Breach, event_id: str | None = None) -> Refused:
    """The dead-letter form of an input-contract breach (`envgrid.domain.intake_contract`)."""
    return Refused(stage, breach.reason.value, "InputContract", breach.message, event_id)


def _registry_versions(routing: RoutingContext) -> Any:
    registry = routing.registry
    return getattr(registry, "versions", None) or [registry]


def _route_reason(error: Exception) -> str:
    if isinstance(error, NoVersionInForce):
        return "no_registry_version_in_force"
    if isinstance(error, UnknownCategory):
        return "unknown_category"
    return "invalid_event"
