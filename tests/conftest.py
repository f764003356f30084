"""Shared fixtures: the cluster (started lazily, once per session) and small Kafka helpers.

`cluster` uses ENVGRID_BOOTSTRAP_SERVERS / ENVGRID_SCHEMA_REGISTRY_URL when both are set; otherwise it
starts (or reuses) the local broker + registry of `envgrid.localcluster` the first time an integration test
asks for it, and stops it at session end (also on Ctrl-C, failures and SIGTERM) unless the cluster was
started by hand with `python -m envgrid.localcluster up`. Unit-only runs never touch Java.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import os
import re
import signal
import threading
import time

import pytest
from confluent_kafka import KafkaException
from hypothesis import HealthCheck, settings

from envgrid.connectors.settings import ClusterAddresses, cluster_settings
from envgrid.localcluster.addresses import BOOTSTRAP_ENV, REGISTRY_ENV, SECURITY_ENVS

# Shared, noisy machines: no per-example time limit (performance is measured in benchmarks, not tests).
settings.register_profile("envgrid", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("envgrid")

SESSION_CLUSTER_ENV = "ENVGRID_TEST_SESSION_CLUSTER"
_SESSION_TOKEN = os.urandom(2).hex()  # names differ between sessions sharing a reused cluster


def _sigterm_as_interrupt() -> None:
    """Turn SIGTERM into KeyboardInterrupt so fixture teardown (and atexit) still stop the JVMs."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def _raise(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")
        signal.signal(signal.SIGTERM, _raise)


def pytest_collection_modifyitems(items):
    """A test that needs the cluster is an integration test, whether or not it says so."""
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cluster() -> ClusterAddresses:
    external = cluster_settings()
    if external is not None:
        yield external
        return
    from envgrid.localcluster.cluster import LocalCluster

    local = LocalCluster()
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            local.release()

    atexit.register(release)
    _sigterm_as_interrupt()
    try:
        addresses = local.acquire()
        # Code under test that looks for a cluster (ensure_cluster) must find this one as "external":
        # otherwise it would claim the local cluster as started by hand, and it would outlive the session.
        # It connects as the pipeline principal, whose properties file ENVGRID_KAFKA_CONFIG names.
        os.environ.update(addresses.env())
        os.environ[SESSION_CLUSTER_ENV] = "local"
        yield addresses
    finally:
        for name in (SESSION_CLUSTER_ENV, BOOTSTRAP_ENV, REGISTRY_ENV, *SECURITY_ENVS):
            os.environ.pop(name, None)
        release()
        atexit.unregister(release)


@pytest.fixture(scope="session")
def cluster_is_local(cluster) -> bool:
    """True when this session started or reused the local cluster of envgrid.localcluster (not an external one)."""
    return os.environ.get(SESSION_CLUSTER_ENV) == "local"


def _test_prefix(node) -> str:
    """What every name `unique_name` makes for this test starts with."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", node.name)[:40].strip("-")
    digest = hashlib.sha1(node.nodeid.encode()).hexdigest()[:6]
    return f"it.{base}.{_SESSION_TOKEN}{digest}."


@pytest.fixture
def unique_name(request):
    """unique_name("topic") -> e.g. "it.test-round-trip.1a2b9f3c.topic.0": unique per test, call and session."""
    prefix, counter = _test_prefix(request.node), itertools.count()

    def make(kind: str = "t") -> str:
        return f"{prefix}{kind}.{next(counter)}"

    return make


@pytest.fixture(autouse=True)
def _test_topics_deleted(request):
    """After an integration test, delete the topics named from its `unique_name` (its catalogue, its workers'
    changelogs): see `delete_topics_named`."""
    admin = request.getfixturevalue("admin") if "cluster" in request.fixturenames else None
    yield
    if admin is not None:
        from tests.integration.pipeline_process import delete_topics_named

        delete_topics_named(admin, _test_prefix(request.node))


@pytest.fixture(scope="session")
def admin(cluster):
    from confluent_kafka.admin import AdminClient

    return AdminClient(cluster.kafka_config())


@pytest.fixture
def create_topic(admin):
    """create_topic(name, partitions=1, config=None) -> name; returns once the topic has leaders.
    Topics made here are deleted after the test."""
    from confluent_kafka.admin import NewTopic

    made: list[str] = []

    def create(name: str, partitions: int = 1, config: dict[str, str] | None = None,
               timeout: float = 30.0) -> str:
        fut = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})],
                                  operation_timeout=timeout)[name]
        fut.result(timeout=timeout)
        made.append(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            topic = admin.list_topics(topic=name, timeout=5).topics.get(name)
            if topic and topic.error is None and len(topic.partitions) == partitions and \
                    all(p.leader >= 0 for p in topic.partitions.values()):
                return name
            time.sleep(0.05)
        raise TimeoutError(f"topic {name} has no leader for every partition after {timeout} s")

    yield create
    if made:
        for fut in admin.delete_topics(made, operation_timeout=10).values():
            with contextlib.suppress(KafkaException):  # best effort: the cluster may be going down
                fut.result(timeout=15)


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory):
    """A 3-node local cluster of the requesting module alone, in its own var dir; stopped at the end, failed or not."""
    from envgrid.localcluster.cluster import LocalCluster

    local = LocalCluster(var_dir=tmp_path_factory.mktemp("three-var"), nodes=3, broker_timeout=240,
                         registry_timeout=240)
    try:
        local.up(owner="session")
        yield local
    finally:
        local.down()
