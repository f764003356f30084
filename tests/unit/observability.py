"""What the tests of deploy/observability read: the alert rules, the Grafana dashboard's and the console
dashboard's PromQL expressions, the series the worker exports, and promtool to parse expressions with."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

from envgrid.streams import calendar_metrics, metrics

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
CONSOLE = OBSERVABILITY / "consoles" / "envgrid.html"
PROMTOOL = shutil.which("promtool")
# Anything that looks like one of our series, or like a counter/histogram series of anyone's.
SERIES = re.compile(r"\b(envgrid_[a-zA-Z0-9_]+|[a-zA-Z_][a-zA-Z0-9_]*_(?:total|bucket))\b")
# The one series Prometheus makes itself that a rule may use: whether a worker's scrape succeeded.
SCRAPE_HEALTH = re.compile(r'\bup\{job="envgrid"\}')
# Defined in streams/metrics.py but set only by envgrid.streams.lag.LagCollector, which no envgrid process runs
# (a worker reports its own lag, streams/worker_lag.py): no dashboard or rule may count on it.
NOT_FROM_THE_WORKER = {"envgrid_lag_collection_errors_total", "envgrid_lag_collection_errors_created"}
# Grafana's template variables, as Prometheus would see them with "All" selected
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$topic": ".*", "$department": ".*", "$group": ".*"}


def known_series() -> set[str]:
    """Every series name the worker exports (with the _total/_bucket/... suffixes Prometheus sees)."""
    names: set[str] = set()
    for metric in [*vars(metrics).values(), *vars(calendar_metrics).values()]:
        if not isinstance(metric, MetricWrapperBase):
            continue
        if isinstance(metric, Counter):
            names |= {metric._name + "_total", metric._name + "_created"}
        elif isinstance(metric, Histogram):
            names |= {metric._name + s for s in ("_bucket", "_sum", "_count", "_created")}
        else:
            names.add(metric._name)
    return (names - NOT_FROM_THE_WORKER) | {"up"}


def series_in(expr: str) -> set[str]:
    return set(SERIES.findall(expr)) | ({"up"} if SCRAPE_HEALTH.search(expr) else set())


def alert_rules() -> list[dict]:
    doc = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads((OBSERVABILITY / "grafana-envgrid.json").read_text(encoding="utf-8"))


def dashboard_exprs() -> list[str]:
    """The Grafana dashboard's panel and variable queries, as written (with $variables)."""
    exprs: list[str] = []

    def walk(panels):
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets", []))
            walk(panel.get("panels", []))

    walk(dashboard()["panels"])
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(variable["definition"])
    return exprs


def as_promql(grafana_expr: str) -> str:
    """A Grafana query as Prometheus receives it: variables filled in, `label_values(m, l)` asks for `m`."""
    expr = re.sub(r"^label_values\((.+),\s*\w+\)$", r"\1", grafana_expr.strip())
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def console_panels() -> list[dict]:
    """The console dashboard's panels: the JSON the page draws ({id, title, expr: [...], name: [...]})."""
    html = CONSOLE.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="envgrid-panel-spec">(.*?)</script>', html, re.S)
    assert found, f"{CONSOLE}: no panel spec"
    return list(json.loads(found.group(1)))


def console_exprs() -> list[str]:
    return [expr for panel in console_panels() for expr in panel["expr"]]


def promtool(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool not found: scripts/setup.sh installs it (apt-get install -y prometheus)"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=timeout)


def unparsable(exprs: list[str], directory: Path) -> str:
    """promtool's complaints about `exprs` ('' when all parse): promtool 2.42 has no expression checker, so each
    becomes a recording rule of a temporary rule file, which `promtool check rules` parses."""
    rules = {"groups": [{"name": "parse-check",
                         "rules": [{"record": f"envgrid_check:expr_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = directory / "expressions.rules.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    checked = promtool("check", "rules", str(path))
    return "" if checked.returncode == 0 else checked.stdout + checked.stderr
