"""The topic catalogue applied to the real broker: idempotent, configs set, drift reported, nothing changed."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import ConfigResource, ResourceType

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.catalogue_apply import CREATED, DRIFT, MISSING, UNCHANGED, apply, plan, summary

pytestmark = pytest.mark.integration


@pytest.fixture
def catalogue(unique_name):
    """The real catalogue (every department and L2 grid) under a unique prefix; its topics are deleted after the
    test, as every test's are (conftest's `_test_topics_deleted`)."""
    return Catalogue.load(prefix=unique_name("cat"), env={})


def test_applied_twice_the_second_time_changes_nothing(admin, catalogue) -> None:
    assert {s.status for s in plan(admin, catalogue)} == {MISSING}
    first = apply(admin, catalogue)
    assert summary(first) == {CREATED: len(catalogue.topics)}, [(s.spec.name, s.details) for s in first if s.details]
    second = apply(admin, catalogue)
    assert summary(second) == {UNCHANGED: len(catalogue.topics)}, [(s.spec.name, s.details) for s in second if s.details]

    history = catalogue.spec(catalogue.topic("case.history"))
    metadata = admin.list_topics(topic=history.name, timeout=10).topics[history.name]
    assert len(metadata.partitions) == 6
    resource = ConfigResource(ResourceType.TOPIC, history.name)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    assert configs["retention.ms"].value == str(400 * 86_400_000)
    assert configs["cleanup.policy"].value == "delete" and configs["min.insync.replicas"].value == "1"


def test_drift_is_reported_and_left_alone(admin, catalogue, create_topic) -> None:
    epb = catalogue.topic_for(("department", "epb"))
    create_topic(epb, partitions=2, config={"retention.ms": "3600000"})  # someone made it by hand
    statuses = {s.spec.name: s for s in apply(admin, catalogue)}
    drifted = statuses[epb]
    assert drifted.status == DRIFT
    assert "partitions 2, catalogue says 3" in drifted.details
    assert f"retention.ms=3600000, catalogue says {30 * 86_400_000}" in drifted.details
    assert len(admin.list_topics(topic=epb, timeout=10).topics[epb].partitions) == 2, "apply must not change it"
    assert {s.status for n, s in statuses.items() if n != epb} == {CREATED}
    again = {s.spec.name: s.status for s in plan(admin, catalogue)}
    assert again.pop(epb) == DRIFT and set(again.values()) == {UNCHANGED}


def test_command_line_plan_and_apply_print_a_table_and_exit_0(cluster, admin, catalogue, capsys) -> None:
    from envgrid.connectors.catalogue_apply import main

    common = ["--prefix", catalogue.prefix, "--bootstrap-servers", cluster.bootstrap_servers]
    assert main(["plan", *common]) == 0
    assert f"{len(catalogue.topics)} missing" in capsys.readouterr().out
    assert main(["apply", "--dry-run", *common]) == 0
    assert f"{len(catalogue.topics)} missing" in capsys.readouterr().out
    assert main(["apply", *common]) == 0
    assert f"{len(catalogue.topics)} created" in capsys.readouterr().out
    assert main(["apply", *common]) == 0
    assert f"{len(catalogue.topics)} unchanged" in capsys.readouterr().out
