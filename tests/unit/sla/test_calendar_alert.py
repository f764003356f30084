"""The alert on open deadlines resting on unofficial calendar data watches the right gauge around a new year.

When it fires (within 60 days of a new year) and when it must not is tested by promtool on synthetic series:
deploy/observability/tests/calendar_alert_test.yml, run with the other rule tests by tests/unit/test_alert_rules.py.
"""
from __future__ import annotations

from tests.unit.observability import alert_rules

RULE = "EnvgridDeadlinesOnUnofficialCalendar"


def test_the_rule_watches_the_gauge_near_a_new_year():
    rule = {r["alert"]: r for r in alert_rules()}[RULE]
    assert "envgrid_sla_deadlines_on_unofficial_calendar" in rule["expr"] and "> 0" in rule["expr"]
    assert "day_of_year() <= 60" in rule["expr"] and "month() == 12" in rule["expr"]
    assert rule["labels"]["severity"] == "warning" and "config/calendar" in rule["annotations"]["description"]
