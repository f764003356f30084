"""Shared samples: generating 5,000 events takes a fraction of a second, but the registry loads once."""

from __future__ import annotations

import pytest

from envgrid.simulator.generator import EventGenerator
from envgrid.simulator.model import GeneratedEvent

SAMPLE_SEED = 2016
SAMPLE_SIZE = 5000


@pytest.fixture(scope="session")
def sample() -> list[GeneratedEvent]:
    return EventGenerator(SAMPLE_SEED).take(SAMPLE_SIZE)


@pytest.fixture(scope="session")
def by_id(sample) -> dict[str, GeneratedEvent]:
    return {event.truth.event_id: event for event in sample}
