"""The Open311 gateway as its users run it: `python -m envgrid.connectors.open311 serve` in its own process group,
connected as the intake-gateway principal on the local secured cluster (else as the session's own client)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from envgrid.connectors.open311.keys import digest_of
from tests.integration.pipeline_process import REPO

PARTNER, KEY = "it-web", "integration-test-key-0123456789abcdef"


def gateway_principal() -> str | None:
    """`intake-gateway` on the local secured cluster; None elsewhere (the environment's client is used)."""
    from envgrid.localcluster.cluster import LocalCluster

    return "intake-gateway" if LocalCluster().status().get("security") == "sasl" else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class GatewayProcess:
    def __init__(self, cluster, prefix: str, dsn: str, workdir: Path, *, produce_timeout: float = 10.0,
                 log: Path | None = None) -> None:
        self.cluster, self.prefix, self.dsn, self.produce_timeout = cluster, prefix, dsn, produce_timeout
        self.keys = workdir / "open311-keys.yaml"
        self.keys.write_text(f"keys:\n  - {{name: {PARTNER}, channel: WEB, sha256: {digest_of(KEY)}}}\n", encoding="utf-8")
        self.log = log or REPO / "var" / "log" / f"test-open311-{prefix}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "envgrid.connectors.open311", "serve", "--port", str(self.port),
                   "--keys", str(self.keys), "--topic-prefix", self.prefix, "--case-store-dsn", self.dsn,
                   "--produce-timeout", str(self.produce_timeout), "--loglevel", "warning"]
        principal = gateway_principal()
        if principal:
            command += ["--principal", principal]
        self.process = subprocess.Popen(command, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                        env=self.cluster.child_env(os.environ), start_new_session=True, cwd=REPO)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"the gateway exited; see {self.log}\n{self.log_tail()}"
            try:
                if httpx.get(f"{self.url}/open311/v2/services.json", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the gateway did not answer within {timeout:.0f} s\n{self.log_tail()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else ["(no log)"]
        return "--- open311 gateway log (end) ---\n" + "\n".join(text[-lines:])
