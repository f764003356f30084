"""The demo's Prometheus (envgrid.demo.prometheus): its configuration is the site's, pointed at the worker;
it runs on loopback with its storage under the run directory, scrapes a metrics endpoint, loads the alert
rules, serves the console dashboard, and stops. Needs Debian's prometheus package (scripts/setup.sh), not
the cluster: the endpoint scraped is this process's own (streams.metrics.serve_metrics)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml

from envgrid.demo import run
from envgrid.demo.prometheus import LocalPrometheus, PrometheusError, observability_dir, scrape_config
from envgrid.localcluster.proc import free_port, port_open
from envgrid.streams import metrics
from tests.unit.observability import OBSERVABILITY, alert_rules, promtool


def site() -> dict:
    return yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text(encoding="utf-8"))


def test_the_config_is_the_sites_pointed_at_the_workers(tmp_path):
    config = scrape_config(site(), ["127.0.0.1:40001", "127.0.0.1:40002"], [OBSERVABILITY / "alerts.yml"], "2s")
    job = {j["job_name"]: j for j in config["scrape_configs"]}["envgrid"]
    assert job["static_configs"] == [{"targets": ["127.0.0.1:40001", "127.0.0.1:40002"], "labels": {"env": "local"}}]
    assert config["rule_files"] == [str(OBSERVABILITY / "alerts.yml")]
    assert config["global"]["scrape_interval"] == config["global"]["evaluation_interval"] == "2s"
    assert site()["global"]["scrape_interval"] == "15s", "the site's file itself is left as it is"
    with pytest.raises(PrometheusError, match="no scrape job named 'envgrid'"):
        scrape_config({"scrape_configs": [{"job_name": "other"}]}, ["x:1"], [], "2s")


def test_the_evaluation_job_scrapes_the_evaluation_watch_or_is_left_out():
    both = scrape_config(site(), ["127.0.0.1:40001"], [], "2s", evaluation_targets=["127.0.0.1:40009"])
    jobs = {j["job_name"]: j for j in both["scrape_configs"]}
    assert set(jobs) == {"envgrid", "envgrid-evaluation"}
    assert jobs["envgrid-evaluation"]["static_configs"] == [{"targets": ["127.0.0.1:40009"], "labels": {"env": "local"}}]
    assert jobs["envgrid"]["static_configs"][0]["targets"] == ["127.0.0.1:40001"]
    workers_only = scrape_config(site(), ["127.0.0.1:40001"], [], "2s")
    assert [j["job_name"] for j in workers_only["scrape_configs"]] == ["envgrid"]


def test_promtool_accepts_the_generated_config(tmp_path):
    prometheus = LocalPrometheus(tmp_path / "prometheus")
    prometheus.targets = ["127.0.0.1:9464"]
    prometheus.evaluation_targets = ["127.0.0.1:9465"]
    checked = promtool("check", "config", str(prometheus.write_config()))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_it_scrapes_the_worker_serves_the_dashboard_on_loopback_and_stops(tmp_path):
    port = metrics.serve_metrics(0)
    metrics.EVENTS_CONSUMED.labels(topic="envgrid.test-local-prometheus").inc()
    run_dir = tmp_path / "var" / "prometheus"
    prometheus = LocalPrometheus(run_dir, port=0, interval="1s").start([f"127.0.0.1:{port}"])
    try:
        deadline = time.monotonic() + 60
        while not prometheus.targets_up():
            assert time.monotonic() < deadline, "the metrics endpoint was not scraped within 60 s"
            time.sleep(0.3)
        found = []
        while not found and time.monotonic() < deadline:
            found = prometheus.query('envgrid_events_consumed_total{topic="envgrid.test-local-prometheus"}')
            time.sleep(0.3)
        assert found and found[0]["metric"]["job"] == "envgrid"

        flags = prometheus.api("/api/v1/status/flags")
        assert flags["web.listen-address"] == f"127.0.0.1:{prometheus.port}"
        assert flags["storage.tsdb.path"] == str(run_dir / "data")
        assert flags["storage.tsdb.retention.time"] == "2d"
        assert flags["web.console.templates"] == str(OBSERVABILITY / "consoles")
        assert (run_dir / "data").is_dir() and (run_dir / "prometheus.yml").is_file()

        loaded = {rule["name"] for group in prometheus.api("/api/v1/rules")["groups"] for rule in group["rules"]}
        assert loaded == {rule["alert"] for rule in alert_rules()}

        with urllib.request.urlopen(prometheus.console_url, timeout=10) as response:  # noqa: S310 - loopback
            page = response.read().decode()
        assert response.status == 200 and 'id="envgrid-panel-spec"' in page and "/classic/static/js/prom_console.js" in page
        with urllib.request.urlopen(prometheus.url + "/classic/alerts", timeout=10) as response:  # noqa: S310 - loopback
            assert "EnvgridSlaBreaches" in response.read().decode()
        with pytest.raises(PrometheusError, match="parse error"):
            prometheus.query("sum by (topic (envgrid_events_consumed_total)")
    finally:
        prometheus.stop()
    assert not port_open(prometheus.port), "Prometheus still listens after stop()"


def test_the_demo_says_what_is_missing_before_it_starts_anything(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus binary here
    monkeypatch.setenv("ENVGRID_VAR_DIR", str(tmp_path / "var"))
    assert run.main(["--prometheus"]) == 2
    out = capsys.readouterr().out
    assert "prometheus not found" in out and "apt-get install -y prometheus" in out
    assert not (tmp_path / "var" / "cluster").exists()


def test_without_a_checkout_it_asks_for_the_observability_files(monkeypatch, tmp_path):
    monkeypatch.setenv("ENVGRID_OBSERVABILITY_DIR", str(tmp_path))
    with pytest.raises(PrometheusError, match="ENVGRID_OBSERVABILITY_DIR"):
        observability_dir()
    shutil.copytree(OBSERVABILITY, tmp_path / "observability")
    monkeypatch.setenv("ENVGRID_OBSERVABILITY_DIR", str(tmp_path / "observability"))
    assert observability_dir() == tmp_path / "observability"
    monkeypatch.delenv("ENVGRID_OBSERVABILITY_DIR")
    assert observability_dir() == OBSERVABILITY


def test_the_demo_option_and_its_default_port():
    assert run._parser().parse_args([]).prometheus is False
    args = run._parser().parse_args(["--prometheus"])
    assert args.prometheus is True and args.prometheus_port == 9090


def test_the_sites_own_command_serves_the_dashboard(tmp_path):
    """The command of deploy/observability/README.md, on a free port and with its storage in tmp_path."""
    port = free_port()
    command = [shutil.which("prometheus") or "prometheus", "--config.file=deploy/observability/prometheus.yml",
               "--web.console.templates=deploy/observability/consoles",
               "--web.console.libraries=deploy/observability/console_libraries",
               f"--web.listen-address=127.0.0.1:{port}", f"--storage.tsdb.path={tmp_path / 'data'}"]
    with open(tmp_path / "prometheus.log", "wb") as log:
        process = subprocess.Popen(command, cwd=OBSERVABILITY.parents[1], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        page = ""
        while not page:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            assert time.monotonic() < deadline, "the site's Prometheus did not serve the dashboard within 60 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/consoles/envgrid.html", timeout=5) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.3)
        assert 'id="envgrid-panel-spec"' in page
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_port_in_use_is_named_with_the_way_out(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PrometheusError, match=rf"127.0.0.1:{port}.*--prometheus-port 0"):
            LocalPrometheus(tmp_path, port=port).check()
