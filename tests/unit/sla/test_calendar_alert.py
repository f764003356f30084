"""The alert on open deadlines resting on unofficial calendar data: present, valid, and firing only around a new year.

promtool (Debian/Ubuntu: `apt-get install prometheus`) checks the rules file and runs rule unit tests on
synthetic series; `scripts/setup.sh` installs it (Debian package prometheus).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ALERTS = Path(__file__).resolve().parents[3] / "deploy" / "observability" / "alerts.yml"
RULE = "EnvgridDeadlinesOnUnofficialCalendar"
PROMTOOL = shutil.which("promtool")

# promtool's clock starts at 1970-01-01 00:00 UTC: day 30 is 31 Jan, 62 is 4 Mar, 200 is 20 Jul, 304 is 1 Nov,
# 310 is 7 Nov. Three deadlines rest on provisional data all year, none on Monday–Friday.
FIRES_ON = {"30d": True, "62d": False, "200d": False, "304d": False, "310d": True}


def rule_tests(rule: dict) -> dict:
    annotations = {"summary": "3 open SLA deadlines rest on cn_provisional calendar data",
                   "description": rule["annotations"]["description"]}
    fired = [{"exp_labels": {"severity": "warning", "basis": "cn_provisional"}, "exp_annotations": annotations}]
    return {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1d",
        "tests": [{
            "interval": "1d",
            "input_series": [
                {"series": 'envgrid_sla_deadlines_on_unofficial_calendar{basis="cn_provisional"}', "values": "3+0x320"},
                {"series": 'envgrid_sla_deadlines_on_unofficial_calendar{basis="weekday_fallback"}', "values": "0+0x320"},
            ],
            "alert_rule_test": [{"eval_time": at, "alertname": RULE, "exp_alerts": fired if fires else []}
                                for at, fires in FIRES_ON.items()],
        }],
    }


def alert_rule() -> dict:
    rules = {r["alert"]: r for g in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"] for r in g["rules"]}
    return rules[RULE]


def test_the_rule_watches_the_gauge_near_a_new_year():
    rule = alert_rule()
    assert "envgrid_sla_deadlines_on_unofficial_calendar" in rule["expr"] and "> 0" in rule["expr"]
    assert "day_of_year() <= 60" in rule["expr"] and "month() == 12" in rule["expr"]
    assert rule["labels"]["severity"] == "warning" and "config/calendar" in rule["annotations"]["description"]


def test_promtool_accepts_the_rules_and_the_alert_fires_only_within_60_days_of_a_new_year(tmp_path):
    assert PROMTOOL, "promtool not found: scripts/setup.sh installs it (apt-get install -y prometheus)"
    checked = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = tmp_path / "calendar_alert_test.yml"
    tests.write_text(yaml.safe_dump(rule_tests(alert_rule()), allow_unicode=True), encoding="utf-8")
    tested = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, timeout=120)
    assert tested.returncode == 0, tested.stdout + tested.stderr
