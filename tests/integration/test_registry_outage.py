"""Outages are waited out, not dead-lettered (issue 8, item 3), on the real stack.

A worker that has not met the pipeline's schemas yet starts while the schema registry is frozen (SIGSTOP:
it accepts connections and answers nothing, like a registry that hangs), and complaints arrive. Every
decode needs the registry, so the worker waits and tries again, says so in its metrics, and once the
registry answers again (after 30 s) opens every case: 0 dead letters, 0 lost.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from confluent_kafka import Producer

from envgrid.domain.case_ids import case_id_for
from envgrid.localcluster.cluster import LocalCluster
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

OUTAGE_S = 30


def test_a_registry_outage_is_waited_out_with_no_dead_letter_and_nothing_lost(cluster, cluster_is_local, unique_name,
                                                                             tmp_path):
    if not cluster_is_local:
        pytest.skip("an external cluster's registry is not ours to stop")
    registry_pid = LocalCluster().status()["registry"]["pid"]
    prefix = unique_name("outage")
    catalogue, codec = prepare(cluster, prefix)
    config = GeneratorConfig(kind_shares={"PetitionComplaint": 1.0, "PatrolReport": 0.0, "DepartmentNotice": 0.0},
                             broken_share=0.0, duplicate_share=0.0)
    complaints = [e.value for e in generate(21, 40, config) if e.truth.valid and e.value][:30]
    topic = catalogue.intake("PetitionComplaint")
    encoded = [(c["event_id"], codec.encode("PetitionComplaint", c, topic)) for c in complaints]  # registry up
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    worker = WorkerProcess(cluster, prefix, tmp_path / "state")
    history, dead = catalogue.topic("case.history"), catalogue.topic("deadletter")
    expected = {case_id_for(event_id) for event_id, _ in encoded}

    def opened() -> set[str]:
        read = read_all(cluster, codec, [history])
        return {v["case_id"] for _, _, v, _ in read.get(history, []) if v["kind"] == "created"}

    try:
        os.kill(registry_pid, signal.SIGSTOP)
        try:
            worker.start()
            for event_id, raw in encoded:
                producer.produce(topic, raw, event_id.encode())
            assert producer.flush(60) == 0
            worker.wait_for(lambda: worker.metrics().get("envgrid_dependency_outage_retries_total", 0) > 0, 120,
                            "the worker to meet the outage")
            time.sleep(OUTAGE_S)
            assert worker.metrics().get("envgrid_dependency_outage", 0) >= 1, "the outage is visible while it lasts"
        finally:
            os.kill(registry_pid, signal.SIGCONT)
        worker.wait_for(lambda: expected <= opened(), 240, "every case to open after the outage")
        values = worker.metrics()
    finally:
        worker.stop()
    assert not read_all(cluster, codec, [dead]).get(dead), "a valid input was dead-lettered during the outage"
    assert values.get("envgrid_dependency_outage", 1) == 0, "the outage gauge went back to 0"
    print(f"\nregistry frozen {OUTAGE_S}s: {len(expected)} cases opened, 0 dead letters, "
          f"{values.get('envgrid_dependency_outage_retries_total', 0):.0f} tries waited out")
