"""config/sla.yaml: the shipped file loads; every error names the file, the entry and the problem."""
from __future__ import annotations

import copy
from datetime import time, timedelta
from pathlib import Path

import pytest
import yaml

from envgrid.domain.sla.commands import Milestone, PauseReason
from envgrid.domain.sla.policy import DEFAULT_SLA_FILE, Channel, SlaConfigError, load_sla_policies, parse_sla_policies
from envgrid.domain.sla.worktime import TimeBasis


def shipped() -> dict:
    return yaml.safe_load(DEFAULT_SLA_FILE.read_text(encoding="utf-8"))


def test_shipped_file_covers_every_channel_with_sourced_limits():
    policies = load_sla_policies()
    for channel in Channel:
        policy = policies.policy_for(channel.value, "anything")
        assert policy is not None and policy.source
    petition = policies.policy_for("letter", "dust")
    assert petition.milestones[Milestone.ACCEPT_DECISION].budget == timedelta(days=15)
    resolve = petition.milestones[Milestone.RESOLVE]
    assert (resolve.limit, resolve.basis, resolve.extension.limit, resolve.extension.max_times) == (60, TimeBasis.WORKING_DAYS, 30, 1)
    assert policies.rule_for("hotline_12345", "dust", Milestone.ACKNOWLEDGE).budget == timedelta(hours=2)
    assert policies.rule_for("hotline_12369", "dust", Milestone.ACCEPT_DECISION) is None
    assert PauseReason.TRANSFERRED in petition.pause_while
    assert policies.warning_fractions == (0.5, 0.8)
    assert policies.office_periods == ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))


def test_a_category_entry_wins_over_the_channel_default():
    raw = shipped()
    raw["policies"].append({
        "name": "hotline_noise", "source": "test", "channels": ["hotline_12369"], "categories": ["construction_noise"],
        "milestones": {"acknowledge": {"limit": 1, "basis": "working_hours"}},
    })
    policies = parse_sla_policies(raw)
    assert policies.policy_for("hotline_12369", "construction_noise").name == "hotline_noise"
    assert policies.policy_for("hotline_12345", "construction_noise").name == "hotline"
    assert policies.policy_for("fax", "x") is None


def broken(mutate) -> list[str]:
    raw = copy.deepcopy(shipped())
    mutate(raw)
    with pytest.raises(SlaConfigError) as caught:
        parse_sla_policies(raw, source="config/sla.yaml")
    assert all(p.startswith("config/sla.yaml: ") for p in caught.value.problems)
    return caught.value.problems


def test_error_names_the_entry_and_the_field():
    [problem] = broken(lambda raw: raw["policies"][1]["milestones"]["resolve"].update(limit=-5))
    assert "policies[1] ('hotline'): milestones.resolve.limit" in problem and "greater than 0" in problem


def test_unknown_channel_basis_and_key():
    problems = broken(lambda raw: raw["policies"][2].update(channels=["fax"], colour="red"))
    text = "\n".join(problems)
    assert "policies[2] ('patrol'): channels.0" in text and "policies[2] ('patrol'): colour" in text
    problems = broken(lambda raw: raw["policies"][0]["milestones"]["accept_decision"].update(basis="fortnights"))
    assert "accept_decision.basis" in problems[0]


def test_extension_basis_must_match():
    problems = broken(lambda raw: raw["policies"][0]["milestones"]["resolve"]["extension"].update(basis="working_hours"))
    assert "policies[0] ('petition'): milestones.resolve" in problems[0] and "differs" in problems[0]


def test_duplicate_coverage_and_missing_defaults():
    def duplicate(raw):
        raw["policies"].append({**raw["policies"][2], "name": "patrol_again"})
    [problem] = broken(duplicate)
    assert f"policies[{len(shipped()['policies'])}] ('patrol_again')" in problem and "already covered by 'patrol'" in problem
    problems = broken(lambda raw: raw["policies"].pop(2))
    assert problems == ["config/sla.yaml: policies: channel 'patrol' has no default entry (category '*')"]


@pytest.mark.parametrize("mutate, expected", [
    (lambda raw: raw.update(warning_fractions=[0.8, 0.5]), "warning_fractions"),
    (lambda raw: raw.update(warning_fractions=[0.5, 1.0]), "warning_fractions"),
    (lambda raw: raw["working_hours"].update(periods=["12:00-08:30"]), "closes before it opens"),
    (lambda raw: raw["working_hours"].update(periods=["8.30 to noon"]), "must look like"),
    (lambda raw: raw["working_hours"].update(periods=["08:30-12:00", "11:00-17:30"]), "overlap"),
    (lambda raw: raw.update(timezone="Europe/Paris"), "only Asia/Shanghai"),
    (lambda raw: raw["policies"][0].update(source=""), "policies[0] ('petition'): source"),
    (lambda raw: raw.pop("version"), "version"),
])
def test_other_problems(mutate, expected):
    assert expected in "\n".join(broken(mutate))


def test_unreadable_or_non_mapping_file(tmp_path: Path):
    with pytest.raises(SlaConfigError, match="cannot read"):
        load_sla_policies(tmp_path / "missing.yaml")
    bad = tmp_path / "sla.yaml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(SlaConfigError, match=f"{bad}: top level must be a mapping"):
        load_sla_policies(bad)
