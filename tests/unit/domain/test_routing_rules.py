from __future__ import annotations

import itertools

import pytest
from routingkit import AFTER_SPLIT, copy_config

from envgrid.domain.config_errors import ConfigError
from envgrid.domain.rules import category_codes, list_categories, load_rules_set

SEVERITIES = ("low", "medium", "high", "critical")
L4_CATEGORIES = {
    "construction_dust", "construction_noise", "garbage_burning", "agricultural_waste_burning",
    "livestock_poultry_pollution",
}


def test_category_list_covers_the_plan():
    codes = category_codes()
    assert len(codes) == len(set(codes))
    assert L4_CATEGORIES | {
        "water_pollution", "air_pollution", "solid_waste", "hazardous_waste", "marine_pollution",
        "forestry_damage", "enterprise_discharge", "environmental_crime",
    } <= set(codes)
    assert {c.code for c in list_categories() if c.patrol_level == 4} == L4_CATEGORIES


def test_every_category_has_a_department_at_every_level_and_in_every_grid(context):
    """Whatever grid the event lies in and whatever level it ends at, someone leads it."""
    for rules in context.rules.versions:
        for version in context.registry.versions:
            sample_chains = [version.chain(code) for code in ("330302006044", "330305001", "330391", "3303")]
            levels_seen = {}
            for category, severity, flags, chain in itertools.product(
                category_codes(), SEVERITIES, itertools.product((False, True), repeat=3), sample_chains
            ):
                outcome = rules.resolve(category, severity, [g.code for g in chain],
                                        key_entity=flags[0], suspected_crime=flags[1], cross_district=flags[2])
                departments = (outcome.lead, *outcome.assisting)
                assert departments and all(d in context.departments for d in departments)
                assert 1 <= outcome.level <= 4
                levels_seen.setdefault(category, set()).add(outcome.level)
            assert all({1, 2} <= seen for seen in levels_seen.values())


def test_no_rule_references_an_unknown_department_or_grid(context):
    known_grids = {code for version in context.registry.versions for code in version.grids}
    for rules in context.rules.versions:
        for rule in rules.rules:
            mentioned = [rule.lead, *rule.assisting]
            for override in rule.by_severity.values():
                mentioned += [d for d in [override.lead, *override.add_assisting] if d]
            assert all(code in context.departments for code in mentioned), rule.id
            assert rule.within is None or rule.within in known_grids, rule.id
            assert rule.category in category_codes(), rule.id


def test_special_conditions(context):
    rules = context.rules.at(AFTER_SPLIT)
    dust = rules.resolve("construction_dust", "low")
    assert (dust.level, dust.lead, dust.rule_id) == (4, "housing", "R-CONSTRUCTION-DUST")
    key_entity = rules.resolve("construction_dust", "low", key_entity=True)
    assert key_entity.level == 2 and "S-KEY-ENTITY" in key_entity.applied
    crime = rules.resolve("water_pollution", "medium", suspected_crime=True)
    assert "psb" in crime.assisting and "S-SUSPECTED-CRIME" in crime.applied
    cross = rules.resolve("garbage_burning", "low", cross_district=True)
    assert cross.level == 1 and "S-CROSS-DISTRICT" in cross.applied
    assert rules.resolve("construction_dust", "high").level == 3
    assert rules.resolve("construction_dust", "critical").level == 2  # severity alone never goes above L2


def test_scoped_rule_beats_the_city_wide_one(context):
    rules = context.rules.at(AFTER_SPLIT)
    version = context.registry.at(AFTER_SPLIT)
    assert rules.resolve("marine_pollution", "low", version.chain_codes("330305001")).rule_id == "R-MARINE-DONGTOU"
    assert rules.resolve("marine_pollution", "low", version.chain_codes("330382001")).rule_id == "R-MARINE"


@pytest.mark.parametrize(
    "old, new, entry, problem",
    [
        ("lead: housing,", "lead: builders,", "rules[0] (R-CONSTRUCTION-DUST)", "unknown department 'builders'"),
        ("category: construction_dust,", "category: dust,", "rules[0] (R-CONSTRUCTION-DUST)", "unknown category 'dust'"),
        ('within: "330305"', 'within: "330399"', "R-MARINE-DONGTOU", "330399 is not a grid"),
        ("level: 4}", "level: 5}", "rules[0] (R-CONSTRUCTION-DUST).level", "Input should be"),
        ("id: R-AIR,", "id: R-WATER,", "(top level)", "duplicate rule id(s): R-WATER"),
    ],
)
def test_rule_errors_name_file_entry_and_problem(tmp_path, old, new, entry, problem):
    root = copy_config(tmp_path)
    rules_file = root / "config" / "rules" / "wenzhou-2016.yaml"
    text = rules_file.read_text(encoding="utf-8")
    assert old in text
    rules_file.write_text(text.replace(old, new, 1), encoding="utf-8")
    from envgrid.domain.registry import load_registry_set

    with pytest.raises(ConfigError) as error:
        load_rules_set(root / "config" / "rules", registry=load_registry_set(root / "config" / "registry"))
    assert error.value.path == str(rules_file)
    assert entry in error.value.entry and problem in str(error.value)
