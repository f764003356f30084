"""Nothing lost, nothing doubled — on the real broker, with the real worker process killed mid-stream.

20,000 generated events (complaints, patrol reports, department notices; with repeat reports and broken
input) go through the worker in two halves. After the first half the accounting must hold; during the
second half the worker is SIGKILLed and restarted. Every input must then be accounted for exactly once:
a report opened a case (and reached every topic its decision names), was merged into a case, or was
dead-lettered; a notice was applied (it appears in a case history) or was dead-lettered (a notice that
overtook the report opening its case is held until the case opens; once each half is in, the test moves
the manual clock past the wait, so a notice whose case never opened is refused). Outputs re-sent
after the restart carry the same event ids (at-least-once, idempotent by id) and the same content.
"""

from __future__ import annotations

import os

import pytest

from envgrid.simulator.generator import generate
from envgrid.simulator.publish import intake_topics, make_producer
from tests.integration.conservation import (
    CONFIG,
    account,
    drain,
    inputs_of,
    internal_topics,
    publish_all,
    tick_past_held_notices,
)
from tests.integration.pipeline_process import WorkerProcess, prepare

EVENTS = int(os.environ.get("ENVGRID_CONSERVATION_EVENTS", "20000"))
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]


def test_every_input_is_accounted_for_exactly_once_across_a_kill(cluster, unique_name, tmp_path):
    prefix = unique_name("cons")
    catalogue, codec = prepare(cluster, prefix)
    events = list(generate(seed=20_000, count=EVENTS, config=CONFIG))
    first, second = events[: EVENTS // 2], events[EVENTS // 2:]
    producer = make_producer(cluster)
    topics = intake_topics(catalogue)
    complaints = catalogue.intake("PetitionComplaint")

    internal = internal_topics(catalogue)
    ticks = [catalogue.topic("internal.sla-ticks")]
    worker = WorkerProcess(cluster, prefix, tmp_path / "state", loglevel="info").start()
    try:
        publish_all(producer, codec, first, topics)
        drain(worker, cluster, prefix, catalogue, inputs_of(catalogue, first) + internal)
        tick_past_held_notices(producer, codec, catalogue, first)
        drain(worker, cluster, prefix, catalogue, inputs_of(catalogue, first) + internal + ticks)
        account(cluster, catalogue, codec, first)

        before = worker.consumed(complaints)
        second_complaints = sum(1 for event in second if event.kind == "PetitionComplaint")
        publish_all(producer, codec, second, topics)
        worker.wait_for(lambda: worker.consumed(complaints) > before + 0.3 * second_complaints, 600, "mid-stream")
        worker.kill()
        worker.start()
        drain(worker, cluster, prefix, catalogue, inputs_of(catalogue, events) + internal)
        tick_past_held_notices(producer, codec, catalogue, events)
        drain(worker, cluster, prefix, catalogue, inputs_of(catalogue, events) + internal + ticks)
        account(cluster, catalogue, codec, events)
    finally:
        worker.stop()
