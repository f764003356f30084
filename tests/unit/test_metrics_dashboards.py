"""deploy/observability: the Grafana dashboard, alert rules and scrape config load, and every PromQL
expression names only metrics defined in streams/metrics.py (a renamed metric breaks this test, not a
dashboard nobody looks at until an incident)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

from envgrid.streams import calendar_metrics, metrics

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
# Anything that looks like one of our series, or like a counter/histogram series of anyone's.
SERIES = re.compile(r"\b(envgrid_[a-zA-Z0-9_]+|[a-zA-Z_][a-zA-Z0-9_]*_(?:total|bucket))\b")


def known_series() -> set[str]:
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
    return names


def dashboard() -> dict:
    return json.loads((OBSERVABILITY / "grafana-envgrid.json").read_text(encoding="utf-8"))


def dashboard_exprs() -> list[str]:
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


def alert_rules() -> list[dict]:
    doc = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_dashboard_loads_with_unique_panel_ids():
    dash = dashboard()
    assert dash["uid"] and dash["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["type"] == "row" or p["targets"] for p in dash["panels"])


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_expressions_name_only_defined_metrics(source):
    exprs = dashboard_exprs() if source == "dashboard" else [r["expr"] for r in alert_rules()]
    assert exprs
    known = known_series()
    for expr in exprs:
        used = set(SERIES.findall(expr))
        assert used, f"{source}: no envgrid metric in {expr!r}"
        assert used <= known, f"{source}: {sorted(used - known)} not defined in streams/metrics.py: {expr!r}"


def test_dashboard_covers_the_ops_views():
    text = "\n".join(dashboard_exprs())
    for needed in ("envgrid_events_consumed_total", "envgrid_events_produced_total",
                   "envgrid_routing_decisions_total", "envgrid_open_cases", "envgrid_sla_events_total",
                   "envgrid_dead_letters_total", "envgrid_merges_total", "envgrid_transfers_total",
                   "envgrid_escalations_total", "envgrid_consumer_lag_messages"):
        assert needed in text, needed
    assert "histogram_quantile(0.5," in text and "histogram_quantile(0.99," in text
    assert "by (resolution_path)" in text and "by (department)" in text and "by (stage, reason)" in text


def test_alerts_cover_the_required_conditions():
    rules = {r["alert"]: r for r in alert_rules()}
    assert all(r.get("annotations", {}).get("summary") and r.get("labels", {}).get("severity")
               for r in rules.values())
    exprs = {name: r["expr"] for name, r in rules.items()}
    assert 'envgrid_sla_events_total{kind="breach"}' in exprs["EnvgridSlaBreaches"]
    assert "increase(envgrid_dead_letters_total" in exprs["EnvgridDeadLettersIncreasing"]
    assert rules["EnvgridConsumerLagHigh"]["for"] == "5m"
    assert rules["EnvgridNoThroughput"]["for"] == "10m"
    assert "envgrid_consumer_lag_messages" in exprs["EnvgridNoThroughput"]
    assert "histogram_quantile(0.99" in exprs["EnvgridRoutingLatencyHigh"]
    assert "> 0.05" in exprs["EnvgridRoutingLatencyHigh"]


def test_scrape_config_points_at_the_worker_port():
    doc = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text(encoding="utf-8"))
    assert doc["rule_files"] == ["alerts.yml"]
    targets = [t for job in doc["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert "127.0.0.1:9464" in targets
