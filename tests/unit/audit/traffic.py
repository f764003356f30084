"""Generated traffic through the in-memory pipeline (tests/unit/pipeline/harness.py, the worker's composition),
and its history as the audit reads it: Avro-encoded and decoded again, as on the wire."""

from __future__ import annotations

from datetime import timedelta
from functools import cache, lru_cache

from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

from envgrid.audit.timeline import Published
from envgrid.connectors.serde import EventCodec
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from tests.unit.pipeline.harness import FEEDBACK, HISTORY, SLA, InMemoryPipeline

CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.75, "PatrolReport": 0.25, "DepartmentNotice": 0.0})


@lru_cache(maxsize=1)
def run() -> tuple[InMemoryPipeline, list]:
    """120 reports, each lead answering with its first 3 notices, then ticks over five days (SLA signals)."""
    pipeline = InMemoryPipeline()
    events = list(generate(seed=12, count=120, config=CONFIG))
    pipeline.answered(events, 3)
    last = max(e.value["received_at"] for e in events if e.value is not None and "received_at" in e.value)
    for hours in range(0, 5 * 24, 2):
        pipeline.tick(last + timedelta(hours=hours))
    return pipeline, events


@cache
def on_the_wire(topic: str) -> dict[str, list[Published]]:
    """The pipeline's records of `topic`, encoded and decoded (the reader's view), by case in send order."""
    pipeline, _ = run()
    codec = EventCodec(MockSchemaRegistryClient({"url": "mock://audit"}))
    by_case: dict[str, list[Published]] = {}
    for offset, output in enumerate(o for o in pipeline.sent if o.topic == topic):
        _, value = codec.decode(codec.encode(output.event_name, output.value, topic), topic)
        by_case.setdefault(value["case_id"], []).append(Published(value, offset))
    return by_case


def history() -> dict[str, list[Published]]:
    return on_the_wire(HISTORY)


def feedback() -> dict[str, list[Published]]:
    return on_the_wire(FEEDBACK)


def sla() -> dict[str, list[Published]]:
    return on_the_wire(SLA)
