"""What tests and benchmark runs leave on the broker: `delete_topics_named` deletes the topics of one prefix,
and only those (the per-test cleanup in conftest and the pipeline benchmarks use it)."""

from __future__ import annotations

import time

import pytest

from tests.integration.pipeline_process import delete_topics_named

pytestmark = pytest.mark.integration


def test_the_topics_of_a_prefix_are_deleted_and_no_others(admin, create_topic, unique_name):
    prefix = unique_name("run")  # a run's topics: its catalogue's and its workers' changelogs
    doomed = [create_topic(f"{prefix}.intake"), create_topic(f"{prefix}-table-changelog")]
    kept = create_topic(unique_name("kept"))

    delete_topics_named(admin, prefix)

    deadline = time.monotonic() + 30
    while set(doomed) & set(admin.list_topics(timeout=10).topics) and time.monotonic() < deadline:
        time.sleep(0.2)
    listed = set(admin.list_topics(timeout=10).topics)
    assert not set(doomed) & listed, "the prefix's topics are still there"
    assert kept in listed
