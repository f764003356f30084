"""A local Prometheus for the demo (`envgrid-demo --prometheus`) and the dashboard test.

It scrapes the worker or workers it is given, evaluates the alert rules and serves envgrid's throughput
dashboard (a Prometheus console template), all read from `deploy/observability/` of the checkout: one
source for a site's Prometheus and this one. It listens on loopback only, keeps its storage under the run's
var dir (`var/prometheus/data`) and runs until `stop()`. The server is Debian's package `prometheus` (2.42,
installed by scripts/setup.sh); the dashboard uses the JavaScript that Prometheus 2 serves under
`/classic/static`, so nothing else is needed (Grafana's server is not used).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from envgrid import paths

OBSERVABILITY_ENV = "ENVGRID_OBSERVABILITY_DIR"
CONSOLE_PATH = "/consoles/envgrid.html"
JOB = "envgrid"  # the scrape job of deploy/observability/prometheus.yml; the alert rules name it
EVALUATION_JOB = "envgrid-evaluation"  # the job scraping the one `python -m envgrid.evaluation watch`
HOST = "127.0.0.1"


class PrometheusError(RuntimeError):
    """The local Prometheus cannot run: what is missing or what went wrong, and what to do."""


def observability_dir() -> Path:
    """`$ENVGRID_OBSERVABILITY_DIR`, else `deploy/observability` of the checkout this package runs from."""
    configured = os.environ.get(OBSERVABILITY_ENV)
    directory = Path(configured) if configured else paths.PACKAGE_DIR.parents[1] / "deploy" / "observability"
    if not (directory / "prometheus.yml").is_file():
        raise PrometheusError(
            f"no Prometheus files in {directory}: they are in deploy/observability of a checkout of envgrid "
            f"(an installed package does not carry them); set {OBSERVABILITY_ENV} to that directory")
    return directory


def scrape_config(site: Mapping[str, Any], targets: Sequence[str], rule_files: Sequence[Path],
                  interval: str, evaluation_targets: Sequence[str] = ()) -> dict[str, Any]:
    """The site's configuration (deploy/observability/prometheus.yml) pointed at `targets`: its `envgrid`
    job scrapes exactly them (with the labels the site gives them), its `envgrid-evaluation` job exactly
    `evaluation_targets` (the job is left out without any), rule files by absolute path, and scrape and rule
    evaluation every `interval`."""
    config = copy.deepcopy(dict(site))
    config["global"] = {**config.get("global", {}), "scrape_interval": interval, "evaluation_interval": interval}
    config["rule_files"] = [str(path) for path in rule_files]
    jobs = {job.get("job_name"): job for job in config.get("scrape_configs", [])}
    if JOB not in jobs:
        raise PrometheusError(f"the Prometheus configuration has no scrape job named {JOB!r}")
    _point(jobs[JOB], targets)
    if evaluation_targets and EVALUATION_JOB in jobs:
        _point(jobs[EVALUATION_JOB], evaluation_targets)
    else:
        config["scrape_configs"] = [job for job in config["scrape_configs"] if job.get("job_name") != EVALUATION_JOB]
    return config


def _point(job: dict[str, Any], targets: Sequence[str]) -> None:
    """The job scrapes exactly `targets`, with the labels the site gives its targets."""
    labels = next((static.get("labels") for static in job.get("static_configs", []) if static.get("labels")), None)
    job["static_configs"] = [{"targets": list(targets), **({"labels": labels} if labels else {})}]


class LocalPrometheus:
    """`prometheus` on loopback, scraping the targets given to `start()` ("host:port" of workers' metrics
    endpoints) every `interval`.

    `run_dir` holds its configuration and storage (`data/`); `port` 0 picks a free one; `files` defaults to
    `observability_dir()`. `check()` says early what is missing; `start()` returns once it answers; `stop()`
    ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, run_dir: Path, *, port: int = 9090, interval: str = "2s", files: Path | None = None,
                 log: Path | None = None, retention: str = "2d") -> None:
        self.targets: list[str] = []
        self.evaluation_targets: list[str] = []
        self.run_dir = run_dir
        self.files = files or observability_dir()
        self.interval = interval
        self.retention = retention
        self.log = log or run_dir / "prometheus.log"
        self.binary = shutil.which("prometheus")
        self._requested_port = port
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def console_url(self) -> str:
        return self.url + CONSOLE_PATH

    @property
    def config_file(self) -> Path:
        return self.run_dir / "prometheus.yml"

    def check(self) -> None:
        """Everything start() needs, or a PrometheusError saying what to do."""
        if self.binary is None:
            raise PrometheusError("prometheus not found: install Debian's package (apt-get install -y prometheus); "
                                  "scripts/setup.sh does")
        for needed in ("alerts.yml", "consoles/envgrid.html", "console_libraries/envgrid.lib"):
            if not (self.files / needed).is_file():
                raise PrometheusError(f"{self.files / needed} is missing")
        if self._requested_port:
            from envgrid.localcluster.errors import PortInUse
            from envgrid.localcluster.proc import check_port_free

            try:
                check_port_free(self._requested_port, "Prometheus", HOST)
            except PortInUse as error:  # e.g. the system's own Prometheus, which Debian's package starts on 9090
                raise PrometheusError(f"{error} The demo's --prometheus-port 0 picks a free port.") from None

    def write_config(self) -> Path:
        site = yaml.safe_load((self.files / "prometheus.yml").read_text(encoding="utf-8"))
        config = scrape_config(site, self.targets, [self.files / "alerts.yml"], self.interval, self.evaluation_targets)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text("# written by envgrid.demo.prometheus from " + str(self.files / "prometheus.yml")
                                    + "\n" + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return self.config_file

    def command(self) -> list[str]:
        return [self.binary or "prometheus", f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.run_dir / 'data'}", f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address={HOST}:{self.port}",
                f"--web.console.templates={self.files / 'consoles'}",
                f"--web.console.libraries={self.files / 'console_libraries'}"]

    def start(self, targets: Sequence[str], timeout: float = 60.0,
              evaluation_targets: Sequence[str] = ()) -> LocalPrometheus:
        from envgrid.localcluster.proc import free_port, spawn

        if not targets:
            raise ValueError("LocalPrometheus needs at least one target to scrape")
        self.targets = list(targets)
        self.evaluation_targets = list(evaluation_targets)
        self.check()
        self.port = self._requested_port or free_port(HOST)
        self.write_config()
        self.process = spawn(self.command(), self.log, cwd=self.run_dir)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise PrometheusError(f"prometheus stopped at start (exit {self.process.returncode}); see {self.log}:\n"
                                      + self._log_tail())
            if time.monotonic() > deadline:
                self.stop()
                raise PrometheusError(f"prometheus did not answer within {timeout:.0f} s; see {self.log}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None:
            from envgrid.localcluster.proc import stop

            stop(self.process.pid, "prometheus", timeout=20.0, popen=self.process)
            self.process = None

    def targets_up(self) -> bool:
        """True once every target has been scraped successfully."""
        active = self.api("/api/v1/targets")["activeTargets"]
        return bool(active) and all(target["health"] == "up" for target in active)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query: the result vector (Prometheus' HTTP API)."""
        return list(self.api("/api/v1/query", query=expr)["result"])

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return list(self.api("/api/v1/query_range", query=expr, start=str(start), end=str(end), step=str(step))["result"])

    def api(self, path: str, **params: str) -> Any:
        """GET an API path; its `data`, or a PrometheusError with Prometheus' own error (e.g. a parse error)."""
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback URL we built
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    # -- helpers ---------------------------------------------------------------------------------------

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:  # noqa: S310 - loopback
                return bool(response.status == 200)
        except OSError:
            return False

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
