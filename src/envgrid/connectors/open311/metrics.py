"""Prometheus metrics of the Open311 gateway (served on its own /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("envgrid_open311_requests_total", "Open311 HTTP requests by endpoint (route) and status code",
                   ["endpoint", "status"])
PRODUCE_SECONDS = Histogram(
    "envgrid_open311_produce_seconds", "From produce() to the broker's acknowledgement of one complaint",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
