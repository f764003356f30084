"""Error paths of envgrid.localcluster, without starting the broker or the registry."""

from __future__ import annotations

import socket
import stat
import sys
import time
from pathlib import Path

import pytest

from envgrid.connectors.settings import ClusterSettingsError, cluster_settings, ensure_cluster
from envgrid.localcluster import broker, fetch, registry
from envgrid.localcluster.cluster import LocalCluster
from envgrid.localcluster.errors import (
    BrokerExited,
    BrokerNotReady,
    JavaNotFound,
    JavaTooOld,
    MavenCentralUnreachable,
    MavenNotFound,
    PortInUse,
    RegistryNotReady,
)
from envgrid.localcluster.java import find_java, find_registry_java
from envgrid.localcluster.proc import alive, free_port, free_ports, spawn, stop


def _fake_java(tmp_path: Path, version: str) -> Path:
    home = tmp_path / f"jdk-{version}"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2020-01-01' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return home


def test_java_missing_from_path_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaNotFound, match="apt-get install openjdk-17-jre-headless"):
        LocalCluster(var_dir=tmp_path / "var").up()
    assert not (tmp_path / "var" / "cluster.json").exists()


def test_java_home_without_java_is_named(tmp_path):
    with pytest.raises(JavaNotFound, match=f"JAVA_HOME={tmp_path}"):
        find_java(env={"JAVA_HOME": str(tmp_path), "PATH": ""})


def test_old_java_is_refused(tmp_path):
    home = _fake_java(tmp_path, "11.0.22")
    with pytest.raises(JavaTooOld, match=r"needs Java 17\+.*is Java 11"):
        find_java(env={"JAVA_HOME": str(home)})
    legacy = _fake_java(tmp_path, "1.8.0_392")
    with pytest.raises(JavaTooOld, match="is Java 8"):
        find_java(env={"JAVA_HOME": str(legacy)})


def test_registry_needs_java_21(tmp_path):
    home = _fake_java(tmp_path, "17.0.15")
    with pytest.raises(JavaTooOld, match=r"Apicurio Registry 3.x needs Java 21\+.*ENVGRID_REGISTRY_JAVA_HOME"):
        find_registry_java(env={"JAVA_HOME": str(home)}, jvm_dirs=())
    newer = _fake_java(tmp_path, "25.0.3")
    assert find_registry_java(env={"JAVA_HOME": str(home)}, jvm_dirs=(str(tmp_path),)) == \
        str(newer / "bin" / "java")


def test_busy_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUse, match=rf"127\.0\.0\.1:{port}.*Kafka broker.*ss -ltnp"):
            LocalCluster(var_dir=tmp_path, kafka_port=port).up()
    assert not (tmp_path / "cluster.json").exists()


def test_maven_missing_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("ENVGRID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MavenNotFound, match="apt-get install maven"):
        fetch.kafka_libs()


def test_maven_central_unreachable(tmp_path, monkeypatch):
    """A real Maven run against a mirror nobody listens on (a few seconds, no network used)."""
    pytest.importorskip("shutil").which("mvn") or pytest.skip("mvn not installed")
    settings = tmp_path / "settings.xml"
    settings.write_text(f"""<settings><mirrors><mirror><id>down</id><mirrorOf>*</mirrorOf>
        <url>http://127.0.0.1:{free_port()}/maven2</url></mirror></mirrors></settings>""")
    with pytest.raises(MavenCentralUnreachable, match="Maven Central is unreachable"):
        fetch.kafka_libs(tmp_path / "cache", mvn_args=["-s", str(settings), f"-Dmaven.repo.local={tmp_path}/m2"])
    assert not (tmp_path / "cache" / f"kafka-{fetch.KAFKA_VERSION}" / fetch.MARKER).exists()


def _pretend(tmp_path: Path, marker: str, script: str = "sleep 30"):
    """A harmless process whose command line carries `marker`, in its own process group."""
    return spawn(["/bin/sh", "-c", script, marker], tmp_path / "fake.log", cwd=tmp_path)


def test_broker_not_answering_names_address_and_log(tmp_path):
    proc, port, log = _pretend(tmp_path, broker.MARKER), free_port(), tmp_path / "kafka.log"
    try:
        with pytest.raises(BrokerNotReady) as err:
            broker.wait_ready(port, proc.pid, log, timeout=0.5)
        assert f"127.0.0.1:{port}" in str(err.value) and str(log) in str(err.value)
    finally:
        stop(proc.pid, broker.MARKER, timeout=2, popen=proc)


def test_a_broker_jvm_killed_while_starting_is_reported_with_its_console_and_the_machine(tmp_path):
    log = tmp_path / "kafka.log"
    log.write_text("[t] INFO KafkaConfig values: (org.apache.kafka.common.config.AbstractConfig)\n")
    proc = spawn(["/bin/sh", "-c", "echo 'Terminating due to java.lang.OutOfMemoryError'; kill -9 $$",
                  broker.MARKER], tmp_path / "kafka.out", cwd=tmp_path)
    proc.wait()
    with pytest.raises(BrokerExited) as err:
        broker.wait_ready(free_port(), proc.pid, log, timeout=5, popen=proc)
    message = str(err.value)
    assert "killed by SIGKILL" in message
    assert "Terminating due to java.lang.OutOfMemoryError" in message
    assert "memory available" in message and "disk free" in message


def test_a_broker_jvm_that_ends_while_starting_is_started_again_on_fresh_ports(tmp_path, monkeypatch):
    """The retry around the broker's start: first JVM dies, the second answers; the first one's
    logs are kept beside the second's, and the ports move."""
    from envgrid.localcluster import cluster as cluster_module

    started: list[tuple[int, int]] = []

    def fake_start(java, libs, var, port, controller_port, super_user=None):
        started.append((port, controller_port))
        (var / "log").mkdir(parents=True, exist_ok=True)
        (var / "log" / "kafka.log").write_text(f"attempt {len(started)}\n")
        script = "exit 1" if len(started) == 1 else "sleep 30"
        return spawn(["/bin/sh", "-c", script, broker.MARKER], var / "log" / "kafka.out", cwd=var), 0.0

    def fake_wait_ready(port, pid, log_file, timeout, popen=None, client=None):
        if len(started) == 1:
            popen.wait(timeout=5)  # the first JVM's end is what the real wait sees
        if not alive(pid, broker.MARKER):
            raise BrokerExited(f"127.0.0.1:{port}", timeout, log_file, " (ended)")
        return 0.1

    monkeypatch.setattr(cluster_module, "find_java", lambda: "java")
    monkeypatch.setattr(cluster_module, "find_registry_java", lambda: "java")
    monkeypatch.setattr(fetch, "kafka_libs", lambda: tmp_path)
    monkeypatch.setattr(fetch, "registry_home", lambda: tmp_path)
    monkeypatch.setattr(registry, "start", lambda *a: _pretend(tmp_path, registry.MARKER))
    monkeypatch.setattr(registry, "wait_ready", lambda *a: 0.1)
    monkeypatch.setattr(broker, "start", fake_start)
    monkeypatch.setattr(broker, "wait_ready", fake_wait_ready)
    local = LocalCluster(var_dir=tmp_path / "var", security="plaintext")  # no broker to create users in
    try:
        addresses = local.up()
        assert len(started) == 2 and started[0] != started[1]
        assert addresses.bootstrap_servers == f"127.0.0.1:{started[1][0]}"
        logs = tmp_path / "var" / "log"
        assert (logs / "kafka.log.attempt1").read_text() == "attempt 1\n"
        assert (logs / "kafka.log").read_text() == "attempt 2\n"
        assert local.status()["broker"]["attempts"] == 2
    finally:
        local.down()


def test_free_ports_are_distinct():
    ports = free_ports(50)
    assert len(set(ports)) == 50


def test_registry_dying_early_is_reported_with_its_log(tmp_path):
    log = tmp_path / "fake.log"
    proc = _pretend(tmp_path, registry.MARKER, "echo 'UnsupportedClassVersionError' >&2; exit 1")
    proc.wait()
    with pytest.raises(RegistryNotReady, match="(?s)exited.*UnsupportedClassVersionError") as err:
        registry.wait_ready(free_port(), free_port(), proc.pid, log, timeout=5)
    assert str(log) in str(err.value)


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path):
    proc = _pretend(tmp_path, "envgrid-stubborn", "trap '' TERM; sleep 60 & wait; sleep 60")
    started = time.monotonic()
    while not alive(proc.pid, "envgrid-stubborn"):  # until the shell has exec'd (slow on a loaded machine)
        assert time.monotonic() - started < 10, "the stand-in process never started"
        time.sleep(0.05)
    t0 = time.monotonic()
    stop(proc.pid, "envgrid-stubborn", timeout=0.5, popen=proc)
    assert not alive(proc.pid, "envgrid-stubborn") and time.monotonic() - t0 < 5


def test_cluster_settings_reads_both_or_neither():
    assert cluster_settings({}) is None
    got = cluster_settings({"ENVGRID_BOOTSTRAP_SERVERS": "k:9092",
                            "ENVGRID_SCHEMA_REGISTRY_URL": "http://r:8080/apis/ccompat/v7/"})
    assert (got.bootstrap_servers, got.schema_registry_url) == ("k:9092", "http://r:8080/apis/ccompat/v7")
    assert ensure_cluster({"ENVGRID_BOOTSTRAP_SERVERS": "k:9092",
                           "ENVGRID_SCHEMA_REGISTRY_URL": "http://r:8080"}).bootstrap_servers == "k:9092"
    with pytest.raises(ClusterSettingsError, match="ENVGRID_SCHEMA_REGISTRY_URL is not"):
        cluster_settings({"ENVGRID_BOOTSTRAP_SERVERS": "k:9092"})
    assert "envgrid.localcluster.cluster" in sys.modules  # imported above; settings itself never starts Java
