"""Apicurio Registry 3.x (Quarkus fast-jar) with in-memory H2 storage on loopback.

Clients talk to its Confluent-compatible API: http://127.0.0.1:<port>/apis/ccompat/v7.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import RegistryNotReady
from .proc import HOST, alive, log_tail, spawn

MARKER = "quarkus-run.jar"
CCOMPAT = "/apis/ccompat/v7"
JVM_OPTS = ("-Xmx384m", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true")


def url(port: int) -> str:
    return f"http://{HOST}:{port}{CCOMPAT}"


def properties(port: int, management_port: int) -> dict[str, str]:
    return {
        "quarkus.http.host": HOST,
        "quarkus.http.port": str(port),
        "quarkus.management.host": HOST,  # /health/* lives on the management port
        "quarkus.management.port": str(management_port),
        "apicurio.storage.kind": "sql",  # the 3.x default: H2 in memory, gone when it stops
        "apicurio.storage.sql.kind": "h2",
        "apicurio.datasource.jdbc.initial-size": "2",
        "apicurio.datasource.jdbc.min-size": "2",
        "apicurio.datasource.jdbc.max-size": "20",
        "quarkus.otel.sdk.disabled": "true",  # no telemetry export
        # let tests and tools delete subjects through ccompat
        "apicurio.rest.deletion.group.enabled": "true",
        "apicurio.rest.deletion.artifact.enabled": "true",
        "apicurio.rest.deletion.artifact-version.enabled": "true",
    }


def start(java: str, home: Path, var: Path, port: int, management_port: int) -> subprocess.Popen:
    props = [f"-D{k}={v}" for k, v in properties(port, management_port).items()]
    return spawn([java, *JVM_OPTS, *props, "-jar", str(home / MARKER)],
                 var / "log" / "registry.log", cwd=home)


def _get(u: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(u, timeout=2) as r:  # noqa: S310 - an http:// URL built here
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (OSError, ValueError):
        return 0, b""


def answers(port: int, management_port: int) -> bool:
    status, body = _get(f"http://{HOST}:{management_port}/health/ready")
    if status != 200 or json.loads(body or b"{}").get("status") != "UP":
        return False
    return _get(url(port) + "/subjects")[0] == 200


def wait_ready(port: int, management_port: int, pid: int, log_file: Path, timeout: float) -> float:
    """Block until /health/ready is UP and ccompat lists subjects; return the seconds it took."""
    t0 = time.monotonic()
    while True:
        if not alive(pid, MARKER):
            raise RegistryNotReady(url(port), timeout, log_file,
                                   f" (the JVM, pid {pid}, exited; last lines:\n{log_tail(log_file)}\n)")
        if answers(port, management_port):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise RegistryNotReady(url(port), timeout, log_file)
        time.sleep(0.2)
