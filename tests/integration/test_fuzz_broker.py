"""The fuzz test's hostile inputs through the real worker on the real broker (issue 8, item 4, short version).

`tests/unit/fuzz` puts 10,000 hostile inputs through the services in memory; here 300 of the same kinds go
through Kafka, the real registry and the faust worker, after the valid reports they refer to. The worker
must stay up, every dead letter must carry a documented reason (never `processing_error`, which would mean
an exception inside the services), and each input that must be refused is.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from envgrid.streams.watermark import pipeline_progress
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all
from tests.unit.fuzz import test_fuzz_pipeline as fuzz

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

HOSTILE = 300


def test_hostile_input_through_the_real_worker_is_refused_with_documented_reasons(cluster, unique_name, tmp_path):
    prefix = unique_name("fuzz")
    catalogue, codec = prepare(cluster, prefix)
    topics = {name: catalogue.intake(name) for name in ("PetitionComplaint", "PatrolReport")}
    topics["DepartmentNotice"] = catalogue.notice_topic("DEPARTMENT", "epb")
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))

    def real(event_name: str, data: bytes | None) -> bytes | None:
        """The record framed for the real registry; bytes that do not decode stay as they are."""
        if data is None:
            return None
        try:
            name, record = fuzz.CODEC.decode(data, fuzz.TOPICS[event_name])
            return codec.encode(name, record, topics[event_name])
        except Exception:  # noqa: BLE001 - hostile by design: sent as they are
            return data

    def send(event_name: str, data: bytes | None, key: str) -> bool:
        """False when the producer refuses it (over the broker's message size: it never reaches us)."""
        try:
            topic = topics[event_name]
            if event_name == "DepartmentNotice":  # the unit's own topic, as its client would send it
                topic = fuzz.notice_topic(data).replace(fuzz.CATALOGUE.prefix + ".", catalogue.prefix + ".", 1)
            producer.produce(topic, data, key.encode())
        except KafkaException as error:
            if error.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                raise
            return False
        return True

    progress = pipeline_progress(cluster, prefix, catalogue, codec.decode)
    worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
    try:
        for name, record, data in fuzz.REPORTS:
            send(name, real(name, data), record["event_id"])
        assert producer.flush(60) == 0
        worker.wait_for(progress.caught_up, 180, "the valid reports to be processed")
        rng, sent = random.Random(2016), Counter[str]()
        for number in range(HOSTILE):
            kind, name, data = fuzz.nasty(rng)
            sent[kind if send(name, real(name, data), f"fuzz-{number}") else "refused by the producer: too large"] += 1
        assert producer.flush(60) == 0
        worker.wait_for(progress.caught_up, 240, "the hostile inputs to be processed")
        assert worker.process is not None and worker.process.poll() is None, "the worker died"
    finally:
        progress.close()
        worker.stop()
    dead = catalogue.topic("deadletter")
    reasons = Counter(v["reason_code"] for _, _, v, _ in read_all(cluster, codec, [dead]).get(dead, []))
    assert "processing_error" not in reasons, reasons
    assert set(reasons) <= fuzz.DOCUMENTED, set(reasons) - fuzz.DOCUMENTED
    must_refuse = sum(n for kind, n in sent.items() if kind in fuzz.MUST_REFUSE)
    assert sum(reasons.values()) >= must_refuse, (reasons, sent)
    print(f"\n{HOSTILE} hostile inputs through the worker: {dict(sent)}; dead letters by reason: {dict(reasons)}")
