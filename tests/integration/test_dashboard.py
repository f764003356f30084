"""`envgrid-demo --prometheus` on the real broker: a real Prometheus scrapes the demo's worker and its evaluation
watch (`python -m envgrid.evaluation watch`, the 评价 gauges), and the console dashboard, loaded in headless
Chromium, draws every graph with data.

The demo runs as `make demo ARGS=--prometheus` would (its worker on a free metrics port, the department
simulator, the accelerated clock, generated traffic with broken input), on a Tuesday morning of simulated
time so that SLA clocks run at once. While it runs, the test asks Prometheus' HTTP API for every expression
of the dashboard and wants data, checks that the worker (or, for envgrid_evaluation_*, the evaluation watch)
exports every series the dashboard names, takes a
screenshot (printed: var/screenshots/dashboard.png) and reads the rendered page: every panel has its graph,
none says "No timeseries returned" or "Error loading data". Then it stops the demo with Ctrl-C (SIGINT), which
must stop Prometheus and the evaluation watch too. Chromium is Debian's package `chromium` (scripts/setup.sh installs it).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from envgrid import paths
from envgrid.demo.prometheus import LocalPrometheus, PrometheusError
from envgrid.localcluster.cluster import LocalCluster
from envgrid.localcluster.proc import free_port, port_open
from tests.integration.demo_process import tail, wait_while_running
from tests.integration.pipeline_process import grant_units
from tests.unit.observability import console_panels, series_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
START = "2025-03-04T09:00:00+08:00"  # a Tuesday, 9 o'clock in Wenzhou: working hours from the first report
# Panels whose numbers must have moved, not only exist: traffic went through, cases opened, SLA clocks ran.
MOVED = {"events-in", "events-out", "routing-latency", "open-cases", "sla-events"}


def test_the_demo_serves_a_live_dashboard_with_data(cluster, unique_name, tmp_path):
    assert CHROMIUM, "chromium not found: scripts/setup.sh installs it (apt-get install -y chromium)"
    var = tmp_path / "var"
    port = free_port()
    output = tmp_path / "demo.out"
    prefix = unique_name("dash")
    # To the demo the session's cluster is external: the simulated units log in with the session cluster's
    # credentials, and their ACLs for this prefix are set apart, as for an installed demo.
    grant_units(prefix)
    command = [sys.executable, "-m", "envgrid.demo", "--count", "300", "--rate", "50", "--settle", "300",
               "--start", START, "--prefix", prefix, "--metrics-port", "0",
               "--prometheus", "--prometheus-port", str(port),
               "--department-credentials", str(LocalCluster().credentials_dir())]
    env = {**cluster.child_env(os.environ), paths.VAR_ENV: str(var)}
    with open(output, "w") as out:
        # Started with SIGINT ignored, as a shell without job control starts a background command (and as
        # CI may start this test): the demo must still stop on Ctrl-C.
        demo = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True, preexec_fn=_ignore_sigint)
    prometheus = LocalPrometheus(var / "prometheus", port=port)  # a handle on the demo's, for its HTTP API

    def explain() -> str:
        return "\n".join(f"--- {path.name} (end) ---\n" + tail(path)
                         for path in (output, var / "log" / "demo-worker.log", var / "log" / "prometheus.log",
                                      var / "log" / "demo-evaluation.log"))

    try:
        started = time.time()
        wait_while_running(lambda: port_open(port), demo, 240, "the demo's Prometheus to answer", explain, every=2)
        panels = console_panels()
        pending = {(panel["id"], expr) for panel in panels for expr in panel["expr"]}

        def all_have_data() -> bool:
            for panel_id, expr in sorted(pending):
                values = _values(prometheus, expr, started)
                if values and (panel_id not in MOVED or max(values) > 0):
                    pending.discard((panel_id, expr))
            return not pending

        wait_while_running(all_have_data, demo, 240, "data for every expression of the dashboard",
                           lambda: f"still without data: {sorted(pending)}\n{explain()}", every=2)

        config = yaml.safe_load((var / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
        targets = {t["labels"]["job"]: t for t in prometheus.api("/api/v1/targets")["activeTargets"]}
        assert set(targets) == {"envgrid", "envgrid-evaluation"}, sorted(targets)
        assert config["global"]["scrape_interval"] == "2s"
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        for job, target in targets.items():
            assert jobs[job]["static_configs"][0]["targets"] == [target["labels"]["instance"]]
            assert target["health"] == "up", f"{job}: {target.get('lastError')}"
        worker = targets["envgrid"]
        assert worker["labels"]["instance"] == f"127.0.0.1:{(var / 'demo-worker.port').read_text()}"  # --metrics-port 0

        # every series a panel names is served: by the worker, or (envgrid_evaluation_*) by the evaluation watch
        scraped = _worker_series(worker["scrapeUrl"]) | _worker_series(targets["envgrid-evaluation"]["scrapeUrl"])
        for expr in (expr for panel in panels for expr in panel["expr"]):
            assert series_in(expr) <= scraped, f"{sorted(series_in(expr) - scraped)} not served: {expr}"

        screenshot = paths.var_dir() / "screenshots" / "dashboard.png"
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.unlink(missing_ok=True)
        view = prometheus.console_url + '#pctc{"duration":180,"endTime":0}'  # the last 3 minutes, as the time control writes it
        _chromium(f"--screenshot={screenshot}", view, profile=tmp_path / "chromium")
        assert screenshot.is_file() and screenshot.stat().st_size > 20_000, "no screenshot of the dashboard"
        print(f"\ndashboard screenshot: {screenshot}")

        page = _chromium("--dump-dom", view, profile=tmp_path / "chromium")
        drawn = _panels_drawn(page)
        assert set(drawn) == {panel["id"] for panel in panels}, f"panels on the page: {sorted(drawn)}"
        for panel_id, html in drawn.items():
            assert "prom_graph_error" not in html, f"{panel_id}: {re.findall(r'prom_graph_error[^<]*<', html)}"
            assert "<svg" in html and "<path" in html, f"{panel_id}: no graph drawn"
            assert "/classic/graph?g0.expr=" in html, f"{panel_id}: no link to its query"
        assert '<span class="label">intake.petition-complaints</span>' in drawn["events-in"], "topics keep their prefix"
        assert 'id="prom_graph_refresh_button_value">10s<' in page, "the graphs do not refresh every 10 s"
    finally:
        stopped = _interrupt(demo, markers=(str(var),))
    assert stopped == 130, f"the demo did not stop cleanly on Ctrl-C (exit {stopped})\n{explain()}"
    assert not port_open(port), "Prometheus still listens after the demo stopped"
    assert not _pids_with((f"--topic-prefix {prefix}",)), "the worker or the evaluation watch still runs after the demo"
    assert "See you next time" in tail(var / "log" / "prometheus.log"), "Prometheus did not shut down"
    assert (var / "prometheus" / "data" / "wal").is_dir(), "Prometheus' storage is not under the run's var dir"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _values(prometheus: LocalPrometheus, expr: str, since: float) -> list[float]:
    """The finite values `expr` had since `since`, at 1 s steps (the graphs' data)."""
    try:
        result = prometheus.query_range(expr, since, time.time(), 1)
    except (PrometheusError, OSError):
        return []
    return [float(v) for series in result for _, v in series["values"] if math.isfinite(float(v))]


def _worker_series(url: str) -> set[str]:
    """Every series name the demo's worker serves, read from the endpoint Prometheus scrapes."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def _chromium(mode: str, url: str, profile: Path) -> str:
    """Headless Chromium on `url`; waits (in virtual time) for the page's scripts and queries."""
    done = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={profile}", "--window-size=1400,1700", "--virtual-time-budget=8000",
                           mode, url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _panels_drawn(page: str) -> dict[str, str]:
    """Panel id -> the HTML of that panel, from the rendered page."""
    parts = re.split(r'<div class="envgrid-panel" id="([^"]+)">', page)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}



def _interrupt(demo: subprocess.Popen, markers: tuple[str, ...]) -> int | None:
    """Ctrl-C, as a person would. If the demo does not stop within 150 s: SIGKILL it, and the worker and
    Prometheus it started (each in its own session), found by `markers` in their command lines."""
    if demo.poll() is None:
        demo.send_signal(signal.SIGINT)
        try:
            return demo.wait(timeout=150)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
            for pid in _pids_with(markers):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
    return demo.returncode


def _pids_with(markers: tuple[str, ...]) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if any(marker in cmdline for marker in markers):
                found.append(int(proc.name))
    return found
