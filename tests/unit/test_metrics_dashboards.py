"""deploy/observability: the Grafana dashboard, the console dashboard, the alert rules and the scrape config
load, every PromQL expression parses (promtool), and names only series the worker exports
(streams/metrics.py). A renamed metric breaks this test, not a dashboard nobody looks at until an incident."""

from __future__ import annotations

import pytest
import yaml

from tests.unit.observability import (
    OBSERVABILITY,
    alert_rules,
    as_promql,
    console_exprs,
    console_panels,
    dashboard,
    dashboard_exprs,
    known_series,
    series_in,
    unparsable,
)

SOURCES = {
    "grafana": lambda: [as_promql(e) for e in dashboard_exprs()],
    "console": console_exprs,
    "alerts": lambda: [r["expr"] for r in alert_rules()],
}


def test_dashboard_loads_with_unique_panel_ids():
    dash = dashboard()
    assert dash["uid"] and dash["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["type"] == "row" or p["targets"] for p in dash["panels"])


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_expressions_name_only_series_the_worker_exports(source):
    exprs = SOURCES[source]()
    assert exprs
    known = known_series()
    for expr in exprs:
        used = series_in(expr)
        assert used, f"{source}: no envgrid metric in {expr!r}"
        assert used <= known, f"{source}: {sorted(used - known)} not exported by the worker (streams/metrics.py): {expr!r}"


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_expressions_parse(source, tmp_path):
    exprs = SOURCES[source]()
    assert not unparsable(exprs, tmp_path), unparsable(exprs, tmp_path)


def test_the_parse_check_would_see_a_broken_expression(tmp_path):
    assert "parse error" in unparsable(["sum by (topic (envgrid_events_consumed_total)"], tmp_path)


def test_grafana_variables_are_filled_in_for_the_parse_check():
    assert as_promql('label_values(envgrid_open_cases, department)') == "envgrid_open_cases"
    assert "$" not in "".join(as_promql(e) for e in dashboard_exprs())


def test_dashboard_covers_the_ops_views():
    text = "\n".join(dashboard_exprs())
    for needed in ("envgrid_events_consumed_total", "envgrid_events_produced_total",
                   "envgrid_routing_decisions_total", "envgrid_open_cases", "envgrid_sla_events_total",
                   "envgrid_dead_letters_total", "envgrid_merges_total", "envgrid_transfers_total",
                   "envgrid_escalations_total", "envgrid_consumer_lag_messages"):
        assert needed in text, needed
    assert "histogram_quantile(0.5," in text and "histogram_quantile(0.99," in text
    assert "by (resolution_path)" in text and "by (department)" in text and "by (stage, reason)" in text


def test_console_shows_throughput_lag_latency_cases_sla_and_dead_letters():
    """What deploy/observability/README.md says the console dashboard shows."""
    panels = {p["id"]: p for p in console_panels()}
    assert len(panels) == len(console_panels()), "panel ids must be unique"
    assert all(p["title"] and len(p["expr"]) == len(p["name"]) for p in panels.values())
    wanted = {
        "events-in": "sum by (topic) (rate(envgrid_events_consumed_total",
        "events-out": "sum by (topic) (rate(envgrid_events_produced_total",
        "consumer-lag": "sum by (group) (max by (group, topic, partition) (envgrid_consumer_lag_messages",
        "routing-latency": "envgrid_routing_latency_seconds_bucket{clock=\"processing\"}",
        "open-cases": "sum by (department) (envgrid_open_cases)",
        "sla-events": "sum by (kind) (increase(envgrid_sla_events_total",
        "dead-letters": "sum by (stage, reason) (increase(envgrid_dead_letters_total",
        "evaluation": 'envgrid_evaluation_rate{window="month",unit_kind="department",indicator="response_rate"}',
    }
    assert set(panels) == set(wanted)
    for panel_id, expected in wanted.items():
        assert expected in panels[panel_id]["expr"][0], (panel_id, panels[panel_id]["expr"])
    assert 'topic!~".*-changelog"' in panels["consumer-lag"]["expr"][0]
    latency = panels["routing-latency"]["expr"]
    assert latency[0].startswith("histogram_quantile(0.5,") and latency[1].startswith("histogram_quantile(0.99,")


def test_alerts_cover_the_required_conditions():
    rules = {r["alert"]: r for r in alert_rules()}
    assert all(r.get("annotations", {}).get("summary") and r.get("labels", {}).get("severity")
               for r in rules.values())
    exprs = {name: r["expr"] for name, r in rules.items()}
    assert 'up{job="envgrid"} == 0' in exprs["EnvgridWorkerDown"]
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
    jobs = {job["job_name"]: job for job in doc["scrape_configs"]}
    targets = [t for sc in jobs["envgrid"]["static_configs"] for t in sc["targets"]]  # the job the rules name
    assert "127.0.0.1:9464" in targets
    assert doc["global"]["scrape_interval"] == "15s"
