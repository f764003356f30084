"""Every alert rule of deploy/observability/alerts.yml has promtool unit tests beside it
(deploy/observability/tests/*.yml) for when it fires and when it must not, and they pass; promtool accepts
the rules and the scrape configuration. promtool comes with Debian's package prometheus (scripts/setup.sh)."""

from __future__ import annotations

import yaml

from tests.unit.observability import OBSERVABILITY, alert_rules, promtool

RULE_TESTS = sorted((OBSERVABILITY / "tests").glob("*.yml"))


def test_promtool_accepts_the_rules_and_the_scrape_config():
    checked = promtool("check", "rules", str(OBSERVABILITY / "alerts.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    checked = promtool("check", "config", str(OBSERVABILITY / "prometheus.yml"))  # also loads alerts.yml
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_rule_has_a_case_that_fires_and_one_that_must_not():
    fires: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["rule_files"] == ["../alerts.yml"], f"{path.name} must test the rules beside it"
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fires == set(), f"rules without a test where they fire: {sorted(names - fires)}"
    assert names - silent == set(), f"rules without a test where they must not fire: {sorted(names - silent)}"
    assert (fires | silent) <= names, f"tests of rules that do not exist: {sorted((fires | silent) - names)}"


def test_the_rule_tests_pass():
    assert RULE_TESTS
    tested = promtool("test", "rules", *map(str, RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
