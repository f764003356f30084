"""An in-memory run of the router and case desk over generated events: the services the router loop and the
faust agents call, with the router's own incident store (one partition) and dicts for the case desk's tables,
and a decode that passes generated values through (no Kafka)."""

from __future__ import annotations

from dataclasses import dataclass, field

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.serde import UndecodableRecord
from envgrid.domain.duplicates import IncidentIndex
from envgrid.domain.privacy import Pseudonymiser, PseudonymKey
from envgrid.streams.case_service import CaseService, CaseState
from envgrid.streams.composition import case_service, notice_gate, routing_service
from envgrid.streams.incident_store import IncidentStore
from envgrid.streams.notice_gate import NoticeGate
from envgrid.streams.routing_service import Refused, RoutingService

CATALOGUE = Catalogue.load(prefix="envgrid", env={})
# The fixed key of every test (the in-memory harness here, the workers the integration tests start): a real
# deployment's key comes from ENVGRID_PSEUDONYM_KEY_FILE (envgrid.connectors.pseudonym_key).
TEST_KEY = PseudonymKey("test", b"envgrid tests: a fixed pseudonym key, never a real one")
TEST_PSEUDONYMISER = Pseudonymiser(TEST_KEY)
IDENTITY = CATALOGUE.topic("restricted.complainant-identity")
RATINGS = CATALOGUE.topic("notices.complainants")
COMMANDS, HISTORY, FEEDBACK, SLA = (CATALOGUE.topic(name) for name in
                                    ("internal.case-commands", "case.history", "case.feedback", "case.sla"))


def decode(value, topic):
    if isinstance(value, tuple):
        return value
    raise UndecodableRecord("avro_decode_error", topic, f"generated broken input {value!r}")


def _one_partition() -> IncidentStore:
    store = IncidentStore()
    store.restore(0, [])
    return store


@dataclass
class InMemoryPipeline:
    routing: RoutingService = field(default_factory=lambda: routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER))
    cases: CaseService = field(default_factory=lambda: case_service(CATALOGUE, TEST_PSEUDONYMISER))
    gate: NoticeGate = field(default_factory=lambda: notice_gate(CATALOGUE, decode))
    incidents: IncidentStore = field(default_factory=_one_partition)
    state: CaseState = field(default_factory=lambda: CaseState({}, {}, {}, {}))
    sent: list = field(default_factory=list)
    dead: list = field(default_factory=list)

    @property
    def indexes(self) -> dict[str, IncidentIndex]:
        """The router's incident indexes (its one partition here)."""
        return self.incidents.indexes(0)

    @indexes.setter
    def indexes(self, indexes: dict[str, IncidentIndex]) -> None:
        self.incidents.adopt(0, dict(indexes))

    def answered(self, events, answers: int) -> None:
        """Feed generated events; each lead's copy is answered with the first `answers` notices a department
        would send (`envgrid.simulator.departments.respond`, the demo's departments)."""
        from envgrid.simulator.departments import respond

        for event in events:
            if event.kind == "DepartmentNotice":
                if event.value is not None:
                    self.notice(event.value)
                continue
            intake = self.report(as_input(event))
            for output in getattr(intake, "outputs", []):
                if output.value.get("target", {}).get("role") == "LEAD":
                    for answer in respond(output.value)[:answers]:
                        self.notice(answer.notice)

    def rate_results(self) -> int:
        """Every result told to a complainant so far is rated as the demo's complainants rate it
        (`envgrid.simulator.complainants.answer`), through the gate on the feedback channel's topic, in time
        order; returns how many ratings were sent."""
        from envgrid.simulator.complainants import answer

        told = [o.value for o in self.sent if o.event_name == "CaseFeedback"]
        ratings = sorted((r for r in (answer(value) for value in told) if r is not None), key=lambda r: r["occurred_at"])
        for rating in ratings:
            self.notice_from(RATINGS, rating)
        return len(ratings)

    def report(self, value, topic="intake"):
        located = self.routing.locate(value, topic)
        if isinstance(located, Refused):
            self.dead.append(located)
            return located
        intake = self.incidents.open_or_merge(self.routing, 0, located)
        if isinstance(intake, Refused):
            self.dead.append(intake)
            return intake
        self.sent.extend(intake.outputs)
        for output in intake.outputs:
            if output.topic == COMMANDS:
                self._handled(self.cases.on_command(output.event_name, output.value, self.state, 0))
        return intake

    def notice(self, record):
        """A notice that passed the gate (`notice_from` sends one through it first)."""
        return self._handled(self.cases.on_notice(record, self.state, 0))

    def notice_from(self, topic, record):
        """A notice as it comes in on a unit's notice topic: through the gate, then to the case desk."""
        admitted = self.gate.admit(("DepartmentNotice", record), topic)
        if isinstance(admitted, Refused):
            self.dead.append(admitted)
            return admitted
        return self.notice(admitted.record)

    def tick(self, now):
        return self._handled(self.cases.on_tick(now, self.state, 0))

    def calendar(self, record):
        return self._handled(self.cases.on_calendar(record, self.state, 0))

    def _handled(self, handled):
        self.sent.extend(handled.outputs)
        if handled.refused:
            self.dead.append(handled.refused)
        return handled

    def on(self, topic_prefix):
        return [o for o in self.sent if o.topic.startswith(topic_prefix)]


def as_input(event):
    """The value a generated event has on the wire, as `decode` above understands it."""
    if event.value is not None:
        return (event.kind, event.value)
    return event.raw.reason
