"""An in-memory run of the router and case desk over generated events: the services the faust agents
call, with dicts for tables and a decode that passes generated values through (no Kafka)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from connectors.serde import UndecodableRecord
from domain.departments import department_codes
from domain.duplicates import IncidentIndex
from domain.routing.context import load_routing_context
from domain.sla.policy import load_sla_policies
from domain.sla.tracker import SlaTracker
from streams.case_service import CaseService, CaseState
from streams.routing_service import Located, Refused, RoutingService

COMMANDS, HISTORY, FEEDBACK, SLA = "commands", "history", "feedback", "sla"


@lru_cache(maxsize=1)
def routing_context():
    return load_routing_context()


def topic_for(target):
    return f"{target[0]}.{target[1]}"


def decode(value, topic):
    if isinstance(value, tuple):
        return value
    raise UndecodableRecord("avro_decode_error", topic, f"generated broken input {value!r}")


@dataclass
class InMemoryPipeline:
    routing: RoutingService = field(default_factory=lambda: RoutingService(decode, routing_context(), topic_for, COMMANDS))
    cases: CaseService = field(default_factory=lambda: CaseService(
        frozenset(department_codes()), SlaTracker(load_sla_policies()), topic_for, HISTORY, FEEDBACK, SLA))
    indexes: dict = field(default_factory=lambda: defaultdict(IncidentIndex))
    state: CaseState = field(default_factory=lambda: CaseState({}, {}, {}, {}))
    sent: list = field(default_factory=list)
    dead: list = field(default_factory=list)

    def report(self, value, topic="intake"):
        located = self.routing.locate(value, topic)
        if isinstance(located, Refused):
            self.dead.append(located)
            return located
        intake = self.routing.open_or_merge(located, self.indexes[located.incidents_key])
        self.sent.extend(intake.outputs)
        for output in intake.outputs:
            if output.topic == COMMANDS:
                self._handled(self.cases.on_command(output.event_name, output.value, self.state, 0))
        return intake

    def notice(self, record):
        return self._handled(self.cases.on_notice(record, self.state, 0))

    def tick(self, now):
        return self._handled(self.cases.on_tick(now, self.state, 0))

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
