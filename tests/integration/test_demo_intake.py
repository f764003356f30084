"""`make demo` runs the Open311 intake API and the case store, and sends part of its complaints through the API.

The demo runs as a user starts it (`python -m envgrid.demo`), on the session's cluster (external to it, as in
tests/integration/test_dashboard.py) with ENVGRID_CASE_STORE_DSN naming a fresh database. While it runs, the test is
a partner's HTTP client: it reads the API and OpenAPI addresses and the run's key from the demo's output, loads the
OpenAPI page, is refused without a key, submits a complaint of its own twice under one Idempotency-Key (one
request id), and reads the complaint's status until the case store has it: a case opened on the demo's accelerated
clock (simulated March 2025, not today). When the demo ends it must have had every complaint it posted accepted,
with each one's status answered from the case store, and it must stop the gateway and the sink it started.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from envgrid import paths
from envgrid.connectors.settings import CASE_STORE_DSN_ENV
from envgrid.localcluster.cluster import LocalCluster
from envgrid.localcluster.proc import free_port, port_open
from tests.integration.case_store_process import case_store_admin_dsn, fresh_database
from tests.integration.demo_process import tail, wait_while_running
from tests.integration.pipeline_process import REPO, grant_units

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

START = "2025-03-04T09:00:00+08:00"  # a Tuesday morning in Wenzhou, simulated
OUR_COMPLAINT = {"service_code": "construction_dust", "lat": "27.686913", "long": "120.510485", "datum": "WGS-84",
                 "description": "工地渣土车未覆盖，扬尘严重 (integration test)", "first_name": "测试",
                 "phone": "10000000000"}


def test_the_demo_takes_complaints_through_the_api_and_answers_their_status_from_the_case_store(
        cluster, cluster_is_local, unique_name, tmp_path):
    var = tmp_path / "var"
    prefix = unique_name("api")
    grant_units(prefix)
    dsn = fresh_database(case_store_admin_dsn(cluster_is_local), prefix)
    api_port = free_port()
    output = tmp_path / "demo.out"
    command = [sys.executable, "-m", "envgrid.demo", "--count", "240", "--rate", "40", "--settle", "40",
               "--start", START, "--prefix", prefix, "--metrics-port", "0", "--api-port", str(api_port),
               "--api-share", "0.3", "--department-credentials", str(LocalCluster().credentials_dir())]
    env = {**cluster.child_env(os.environ), paths.VAR_ENV: str(var), CASE_STORE_DSN_ENV: dsn}
    with open(output, "w") as out:
        demo = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True)

    def explain() -> str:
        return "\n".join(f"--- {path.name} (end) ---\n" + tail(path) for path in
                         (output, var / "log" / "demo-open311.log", var / "log" / "demo-case-store.log",
                          var / "log" / "demo-worker.log"))

    try:
        wait_while_running(lambda: "api key" in _text(output), demo, 300, "the demo to print the API's addresses", explain)
        printed = _text(output)
        api = re.search(r"api +(http://\S+)/open311/v2", printed)
        docs = re.search(r"openapi +(http://\S+/docs)", printed)
        key = re.search(r"api key +(\S+)", printed)
        assert api and docs and key, f"the demo did not say where its API is\n{printed}"
        assert api.group(1) == f"http://127.0.0.1:{api_port}"

        client = httpx.Client(base_url=api.group(1), timeout=30)
        page = httpx.get(docs.group(1), timeout=30)
        assert page.status_code == 200 and "swagger-ui" in page.text, "no OpenAPI page"
        described = client.get("/openapi.json").json()
        assert {"/open311/v2/requests.{fmt}", "/open311/v2/services.{fmt}"} <= set(described["paths"])
        services = client.get("/open311/v2/services.json").json()
        assert "construction_dust" in {s["service_code"] for s in services}

        refused = client.post("/open311/v2/requests.json", data={**OUR_COMPLAINT, "api_key": "not-a-key"})
        assert refused.status_code == 403 and refused.json()[0]["code"] == 403, refused.text

        ours = {**OUR_COMPLAINT, "api_key": key.group(1)}
        idempotency = {"Idempotency-Key": f"it-{prefix}"}
        first = client.post("/open311/v2/requests.json", data=ours, headers=idempotency)
        again = client.post("/open311/v2/requests.json", data=ours, headers=idempotency)
        assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
        request_id = first.json()[0]["service_request_id"]
        assert again.json()[0]["service_request_id"] == request_id, "a retried submission got a second request"

        status: dict = {}

        def in_store() -> bool:
            nonlocal status
            status = client.get(f"/open311/v2/requests/{request_id}.json").json()[0]
            return bool(status.get("service_code"))

        wait_while_running(in_store, demo, 240, "the case store to have the test's own complaint", explain)
        assert status["status"] == "open" and status["service_code"] == "construction_dust", status
        assert status["requested_datetime"].startswith("2025-03-0"), \
            f"the gateway did not stamp the complaint with the demo's accelerated clock: {status}"
        assert status.get("agency_responsible"), status
        client.close()

        assert demo.wait(timeout=600) == 0, f"the demo failed\n{explain()}"
    finally:
        if demo.poll() is None:
            demo.terminate()
            demo.wait(timeout=150)

    printed = _text(output)
    accepted = re.search(r"(\d+) service requests accepted \(201\), (\d+) refused", printed)
    known = re.search(r"statuses from the case store: (\d+) of (\d+) known", printed)
    assert accepted and known, f"no API summary\n{printed[-3000:]}"
    assert int(accepted.group(1)) >= 20 and accepted.group(2) == "0", accepted.group(0)
    assert known.group(1) == known.group(2) == accepted.group(1), known.group(0)
    example = re.search(r"requested (\S+), expected", printed)
    assert example and example.group(1).startswith("2025-03-0"), "statuses are not on the demo's clock"
    assert not port_open(api_port), "the gateway still listens after the demo ended"
    assert not _running("envgrid.connectors.case_store", str(var)), "the case store sink still runs"

    # The auditor's commands on the demo's traffic, as the README shows them, logged in as the auditor
    as_auditor = ((LocalCluster().addresses("auditor") or cluster) if cluster_is_local else cluster).child_env(os.environ)
    audited = _command("envgrid.audit", "--topic-prefix", prefix, "--json", env=as_auditor)
    report = json.loads(audited.stdout)
    assert len(report["cases"]) >= 100 and all(c["chain"]["intact"] for c in report["cases"]), audited.stderr[-2000:]
    _command("envgrid.evaluation", "report", "--period", "2025-03", "--out", str(tmp_path / "evaluation"),
             "--topic-prefix", prefix, env=as_auditor)
    with open(tmp_path / "evaluation" / "evaluation-2025-03.csv", encoding="utf-8-sig", newline="") as file:
        city = next(row for row in csv.DictReader(file) if row["unit_kind"] == "grid" and row["level"] == "1")
    assert int(city["cases"]) == len([c for c in report["cases"] if not c["case_id"].startswith("SUP-")]), city
    assert (tmp_path / "evaluation" / "city-2025-03.html").is_file()
    for module in ("envgrid.audit", "envgrid.evaluation report", "envgrid.spotcheck draw"):
        assert "usage:" in _command(*module.split(), "--help").stdout


def _command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**(env or os.environ), "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 0, f"python -m {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _running(module: str, marker: str) -> bool:
    """A process running `module` with `marker` in its environment (the demo's var dir)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if module.encode() in cmdline and marker.encode() in environ:
            return True
    return False
