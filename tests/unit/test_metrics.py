"""Naming rules of every Prometheus metric in streams/metrics.py, and the HTTP endpoint."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, Summary
from prometheus_client.metrics import MetricWrapperBase

from envgrid.streams import metrics

ALLOWED_LABELS = {
    "topic", "department", "state", "resolution_path", "clock", "kind", "milestone", "stage", "reason",
    "audience", "cause", "processor", "group", "partition", "outcome", "role", "change", "dependency",
    # the evaluation gauges (envgrid.evaluation.stream): window is month, quarter or year; unit_kind grid or
    # department; unit a level-2 grid (the registry's 14, 15 since 2019) or a department (departments.yaml);
    # indicator a closed set (evaluation.indicators.RATES and stream.COUNTS)
    "window", "unit_kind", "unit", "indicator",
    "rating",  # metrics.RATING_GRADES: the three grades of a complainant's rating, and reopened
}

DEFINED = {name: value for name, value in vars(metrics).items() if isinstance(value, MetricWrapperBase)}


def exported_name(metric: MetricWrapperBase) -> str:
    """The name Prometheus sees (prometheus_client strips `_total` from a counter's stored name)."""
    return metric._name + ("_total" if isinstance(metric, Counter) else "")


def test_metrics_are_defined():
    assert len(DEFINED) >= 10
    assert "CONSUMER_LAG" in DEFINED


@pytest.mark.parametrize("attr", sorted(DEFINED))
def test_prefix(attr):
    assert exported_name(DEFINED[attr]).startswith("envgrid_"), attr


@pytest.mark.parametrize("attr", sorted(DEFINED))
def test_counters_end_in_total(attr):
    metric = DEFINED[attr]
    name = exported_name(metric)
    if isinstance(metric, Counter):
        assert name.endswith("_total"), f"{attr}: counter {name} must end in _total"
    else:
        assert not name.endswith("_total"), f"{attr}: only counters end in _total ({name})"


@pytest.mark.parametrize("attr", sorted(DEFINED))
def test_durations_carry_seconds(attr):
    metric = DEFINED[attr]
    name = exported_name(metric)
    if isinstance(metric, (Histogram, Summary)) or any(w in name for w in ("latency", "duration", "_time")):
        assert "_seconds" in name, f"{attr}: {name} measures time and must say _seconds"


@pytest.mark.parametrize("attr", sorted(DEFINED))
def test_labels_are_bounded(attr):
    labels = set(DEFINED[attr]._labelnames)
    assert labels <= ALLOWED_LABELS, f"{attr}: unbounded or unknown labels {sorted(labels - ALLOWED_LABELS)}"


def test_names_are_unique():
    names = [exported_name(m) for m in DEFINED.values()]
    assert len(names) == len(set(names))


def test_only_known_metric_types():
    for attr, metric in DEFINED.items():
        assert isinstance(metric, (Counter, Gauge, Histogram)), f"{attr}: {type(metric).__name__}"


def test_serve_metrics_over_http_on_loopback():
    port = metrics.serve_metrics(0)
    assert port > 0
    assert metrics.serve_metrics(0) == port  # once per process
    metrics.EVENTS_CONSUMED.labels(topic="envgrid.test-metrics").inc()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        body = response.read().decode()
    assert 'envgrid_events_consumed_total{topic="envgrid.test-metrics"}' in body
    assert "# TYPE envgrid_routing_latency_seconds histogram" in body


def test_counters_with_closed_label_sets_are_exported_from_zero():
    """So that `increase()` (and the SLA-breach alert) counts each label's first increment."""
    metrics.export_known_labels()
    for kind in ("warning", "breach", "withdrawn"):
        for milestone in ("acknowledge", "accept_decision", "resolve"):
            assert REGISTRY.get_sample_value("envgrid_sla_events_total", {"kind": kind, "milestone": milestone}) is not None
    for outcome in ("held", "applied_on_open", "refused_never_opened"):
        assert REGISTRY.get_sample_value("envgrid_held_notices_total", {"outcome": outcome}) is not None
    assert REGISTRY.get_sample_value("envgrid_escalations_total", {"cause": "sla_breach"}) is not None
