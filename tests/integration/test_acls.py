"""The ACLs generated from the catalogue and config/principals.yaml, applied to the real secured broker and
tried as each principal would: every department reads its own topic and no other (15 × 14 cross reads
denied), writes notices on its own notice topic and no other; the auditor reads the history and writes
nothing; ops reads dead letters and no department's topic. Applying twice changes nothing."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient

from envgrid.connectors.acls import apply_acls, plan_acls
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.catalogue_apply import apply as apply_topics
from envgrid.connectors.principals import load_principals
from envgrid.localcluster.cluster import LocalCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
DENIED = KafkaError.TOPIC_AUTHORIZATION_FAILED


@pytest.fixture(scope="module")
def deployment(cluster, cluster_is_local):
    if not cluster_is_local or not cluster.security.sasl:
        pytest.skip("needs the secured local cluster (its super user applies the ACLs)")
    local = LocalCluster()
    catalogue = Catalogue.load(prefix=f"it.acl.{int(time.time())}", env={})
    principals = load_principals()
    admin = AdminClient(local.addresses("admin").kafka_config())
    apply_topics(admin, catalogue)
    first = apply_acls(admin, catalogue, principals)
    again = apply_acls(admin, catalogue, principals)
    producer = Producer(local.addresses().kafka_config())  # the pipeline puts one record on every topic
    for name in catalogue.names():
        producer.produce(name, b"probe", b"k", partition=0)
    assert producer.flush(30) == 0
    return local, catalogue, principals, first, again


def _read_errors(config: dict, topics: list[str], group: str, timeout: float = 30.0) -> dict[str, KafkaError | None]:
    """Subscribe to the topics and read: topic -> the error it gave (None: a record was read from it). A topic
    the principal may not read is reported as "Subscribed topic not available: Topic authorization failed"."""
    consumer = Consumer({**config, "group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "log_level": 0, "error_cb": lambda error: None})
    consumer.subscribe(topics)
    outcome: dict[str, KafkaError | None] = {}
    deadline = time.monotonic() + timeout
    while len(outcome) < len(topics) and time.monotonic() < deadline:
        for message in consumer.consume(100, timeout=0.5):
            topic = message.topic()
            if topic in topics and topic not in outcome:
                outcome[topic] = message.error() if message.error() else None
    consumer.close()
    return outcome


def _write_errors(config: dict, topics: list[str]) -> dict[str, KafkaError | None]:
    outcome: dict[str, KafkaError | None] = {}
    producer = Producer({**config, "message.timeout.ms": 10000, "log_level": 0, "error_cb": lambda error: None})
    for topic in topics:
        producer.produce(topic, b"x", b"k", partition=0,
                         on_delivery=lambda error, message, topic=topic: outcome.__setitem__(topic, error))
    producer.flush(30)
    return outcome


def test_applying_twice_creates_nothing_the_second_time(deployment):
    _, catalogue, principals, first, again = deployment
    assert len(first.created) == len(plan_acls(catalogue, principals)) - len(first.existing)
    assert again.created == [] and again.missing == [] and len(again.existing) == len(again.planned)


def test_every_department_reads_its_own_topic_and_no_other(deployment):
    local, catalogue, _, _, _ = deployment
    departments = [spec.owner[1] for spec in catalogue.by_template("dept.{department}.cases") if spec.owner]
    denied = allowed = 0
    for code in departments:
        config = local.addresses(f"dept-{code}").kafka_config()
        others = [catalogue.topic_for(("department", other)) for other in departments if other != code]
        own = catalogue.topic_for(("department", code))
        errors = _read_errors(config, [own, *others], f"dept-{code}-acl-test")
        assert errors.get(own, "unread") is None, f"{code} could not read its own topic: {errors.get(own)}"
        allowed += 1
        for topic in others:
            error = errors.get(topic)
            assert error is not None and error.code() == DENIED, f"{code} read {topic}: {error}"
            denied += 1
    print(f"\ncross-department reads denied: {denied}; own-topic reads allowed: {allowed}")
    assert denied == len(departments) * (len(departments) - 1) == 15 * 14


def test_every_department_writes_notices_on_its_own_topic_only(deployment):
    local, catalogue, _, _, _ = deployment
    departments = [spec.owner[1] for spec in catalogue.by_template("dept.{department}.cases") if spec.owner]
    denied = 0
    for code in departments:
        config = local.addresses(f"dept-{code}").kafka_config()
        own = catalogue.notice_topic("DEPARTMENT", code)
        others = [catalogue.notice_topic("DEPARTMENT", other) for other in departments if other != code]
        errors = _write_errors(config, [own, *others])
        assert errors[own] is None, f"{code} could not write its own notices: {errors[own]}"
        assert all(errors[t] is not None and errors[t].code() == DENIED for t in others), (code, errors)
        denied += len(others)
    print(f"\nnotice writes on another department's topic denied: {denied}")
    assert denied == 15 * 14


def test_the_auditor_reads_history_and_writes_nothing(deployment):
    local, catalogue, _, _, _ = deployment
    config = local.addresses("auditor").kafka_config()
    history = catalogue.topic("case.history")
    assert _read_errors(config, [history], "auditor-acl-test") == {history: None}
    written = _write_errors(config, [history, catalogue.intake("PetitionComplaint"), catalogue.topic("case.sla")])
    assert all(error is not None and error.code() == DENIED for error in written.values()), written


def test_ops_reads_dead_letters_and_no_department_topic(deployment):
    local, catalogue, _, _, _ = deployment
    config = local.addresses("ops").kafka_config()
    dead, epb = catalogue.topic("deadletter"), catalogue.topic_for(("department", "epb"))
    errors = _read_errors(config, [dead, epb], "ops-acl-test")
    assert errors[dead] is None and errors[epb] is not None and errors[epb].code() == DENIED, errors
