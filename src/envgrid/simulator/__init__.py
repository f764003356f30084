"""Realistic, deterministic intake events for Wenzhou: petitions, patrol reports, department notices.

Pure core (no Kafka):
    EventGenerator(seed, config=GeneratorConfig()).take(n) / iter(...)  -> GeneratedEvent
    generate(seed, count, config) -> Iterator[GeneratedEvent]
    GeneratedEvent(kind, key, value | None, raw: RawBytesSpec | None, truth: Truth)

`kind` is the Avro record name (PetitionComplaint, PatrolReport, DepartmentNotice); `key` follows the
topic catalogue (event id, grid code, case id); `truth` says what the event is for (see `Truth`).
Connector: `envgrid.simulator.publish.publish(producer, codec, events, topics, rate=..., progress=...)`.
CLI: `python -m envgrid.simulator generate --count N [--rate R] [--seed S] [--dry-run]`, `python -m envgrid.simulator bench`.
Case ids: `envgrid.domain.case_ids.case_id_for(first_report_event_id)`, shared with the pipeline.
"""

from envgrid.simulator.generator import EventGenerator, generate
from envgrid.simulator.model import GeneratedEvent, GeneratorConfig, RawBytesSpec, Truth

__all__ = ["EventGenerator", "GeneratedEvent", "GeneratorConfig", "RawBytesSpec", "Truth", "generate"]
