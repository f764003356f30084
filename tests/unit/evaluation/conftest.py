"""A realistic run shared by the evaluation tests: generated traffic through the in-memory pipeline (the
worker's composition), the simulated departments answering, the clock moved on so deadlines fire."""

from __future__ import annotations

from datetime import timedelta

import pytest

from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from tests.unit.pipeline.harness import HISTORY, SLA, InMemoryPipeline

# A report every 7 hours on average: 300 events span about three months, so the reports have a trend to draw.
CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.2, "DepartmentNotice": 0.1},
                         mean_interarrival_s=25_000)


@pytest.fixture(scope="session")
def answered_run() -> list[tuple[str, dict]]:
    """(topic, record) of case.history and case.sla, in the order the case desk sent them."""
    pipeline = InMemoryPipeline()
    events = list(generate(11, 300, CONFIG))
    pipeline.answered(events, 4)
    assert pipeline.rate_results() > 10  # complainants rate the results (满意率), some dissatisfied reopen (重办率)
    last = max(event.value["occurred_at"] for event in events if event.value)
    for days in (1, 3, 10, 40):
        pipeline.tick(last + timedelta(days=days))
    return [(output.topic, output.value) for output in pipeline.sent if output.topic in (HISTORY, SLA)]
