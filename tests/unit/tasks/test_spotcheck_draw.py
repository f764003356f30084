"""The 双随机 draw: reproducible from its inputs, and its rules hold for any published value, grid, quota and
previous draw (property tests over the shipped synthetic lists and the real registry)."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envgrid.domain.config_errors import ConfigError
from envgrid.domain.departments import department_codes
from envgrid.domain.registry import load_registry_set
from envgrid.domain.registry.model import RegistrySet
from envgrid.domain.tasks.quarters import Quarter
from envgrid.domain.tasks.spotcheck import PreviousDraw, draw, drawing_grids, task_openings
from envgrid.domain.tasks.spotcheck_lists import (
    InspectionList,
    Inspector,
    KeyEntity,
    list_digest,
    load_entities,
    load_inspectors,
)
from envgrid.domain.tasks.spotcheck_rules import DrawRules, EntityQuota, LevelRules, load_draw_rules

Q1 = Quarter.parse("2027-Q1")


@cache
def inputs() -> tuple[RegistrySet, InspectionList[KeyEntity], InspectionList[Inspector], DrawRules]:
    registry = load_registry_set()
    return (registry, load_entities(registry), load_inspectors(registry, tuple(department_codes())), load_draw_rules())


def _township(registry: RegistrySet, code: str) -> str | None:
    return next((g.code for g in registry.at(Q1.start()).chain(code) if int(g.level) == 3), None)


def test_same_inputs_same_outcome_and_another_published_value_another_draw() -> None:
    registry, entities, inspectors, rules = inputs()
    first = draw("330302", Q1, "2027001", entities, inspectors, rules, registry)
    again = draw("330302", Q1, "2027001", entities, inspectors, rules, registry)
    other = draw("330302", Q1, "2027002", entities, inspectors, rules, registry)
    assert first == again
    assert first.draw_id != other.draw_id and first.seed != other.seed
    assert first.algorithm_version == 1 and first.inputs.entities_digest == entities.digest
    assert first.inputs.registry_version == "wenzhou-2019" and first.inputs.previous_draw_id is None


def test_the_seed_is_sha256_of_the_published_value_grid_and_period() -> None:
    import hashlib
    registry, entities, inspectors, rules = inputs()
    drawn = draw("3303", Q1, "lottery 2027-001", entities, inspectors, rules, registry)
    assert drawn.seed == hashlib.sha256(b"envgrid-spotcheck/1\nlottery 2027-001\n3303\n2027-Q1").hexdigest()


def test_every_level_1_and_2_grid_draws_and_each_inspection_becomes_a_task() -> None:
    registry, entities, inspectors, rules = inputs()
    grids = drawing_grids(registry, Q1)
    assert grids[0] == "3303" and len(grids) == 16
    drawn = draw("3303", Q1, "v", entities, inspectors, rules, registry)
    assert drawn.requested == 6 and len(drawn.inspections) == 6  # count: 6 at level 1
    openings = task_openings(drawn, registry, Q1.start())
    assert [o.case_id for o in openings] == [i.case_id for i in drawn.inspections]
    first = openings[0]
    assert first.handling_level == 1 and first.grid_chain[-1] == "3303" and first.set_by == "3303"
    assert first.lead_department == drawn.inspections[0].inspectors[0].department
    assert len({o.case_id for o in openings}) == len(openings)


def test_the_list_digest_ignores_row_order() -> None:
    _, entities, _, _ = inputs()
    assert list_digest(tuple(reversed(entities.rows))) == entities.digest


@st.composite
def draw_inputs(draw_: st.DrawFn) -> tuple[str, str, DrawRules, InspectionList[Inspector], PreviousDraw | None]:
    registry, entities, inspectors, rules = inputs()
    grid = draw_(st.sampled_from(drawing_grids(registry, Q1)))
    published = draw_(st.text(min_size=1, max_size=20))
    quota = draw_(st.one_of(st.builds(EntityQuota, count=st.integers(0, 20)),
                            st.builds(EntityQuota, share=st.floats(0.01, 1.0), minimum=st.integers(0, 3))))
    level = LevelRules(entities=quota, inspectors_per_entity=draw_(st.integers(1, 5)))
    varied = rules.model_copy(update={"levels": {**rules.levels, 1: level, 2: level}})
    kept = draw_(st.lists(st.booleans(), min_size=len(inspectors), max_size=len(inspectors)))
    some = tuple(p for p, keep in zip(inspectors.rows, kept, strict=True) if keep or draw_(st.booleans()))
    pool = InspectionList(some, list_digest(some), "subset")
    previous = None
    if draw_(st.booleans()):
        ids = [p.inspector_id for p in inspectors]
        ents = [e.entity_id for e in entities]
        assigned = draw_(st.dictionaries(st.sampled_from(ents), st.frozensets(st.sampled_from(ids), max_size=6), max_size=40))
        previous = PreviousDraw("SCD-previous", assigned)
    return grid, published, varied, pool, previous


@given(draw_inputs())
def test_the_draw_rules_hold(case: tuple[str, str, DrawRules, InspectionList[Inspector], PreviousDraw | None]) -> None:
    grid, published, rules, pool, previous = case
    registry, entities, _, _ = inputs()
    drawn = draw(grid, Q1, published, entities, pool, rules, registry, previous)
    level_rules = rules.levels[drawn.grid_level]
    assert drawn.requested == level_rules.entities.of(drawn.candidates)
    assert len(drawn.inspections) == drawn.requested  # the count or share, never more than the candidates
    assert len({i.entity_id for i in drawn.inspections}) == len(drawn.inspections)
    version = registry.at(Q1.start())
    for inspection in drawn.inspections:
        entity_township = _township(registry, inspection.entity_grid)
        ids = [p.inspector_id for p in inspection.inspectors]
        assert len(ids) == len(set(ids)) and len(ids) + inspection.shortfall == level_rules.inspectors_per_entity
        for inspector in inspection.inspectors:
            assert _township(registry, inspector.grid_code) != entity_township  # never from the entity's township
            assert grid in version.chain_codes(inspector.grid_code)  # from the grid's own pool
            if previous is not None:
                assert inspector.inspector_id not in previous.assignments.get(inspection.entity_id, frozenset())
    assert draw(grid, Q1, published, entities, pool, rules, registry, previous) == drawn


@given(st.text(min_size=1, max_size=12), st.integers(0, 14))
def test_consecutive_quarters_never_send_an_inspector_back_to_the_same_entity(published: str, district: int) -> None:
    registry, entities, inspectors, rules = inputs()
    grid = drawing_grids(registry, Q1)[1 + district]
    everything = rules.model_copy(update={"levels": {**rules.levels, 2: LevelRules(
        entities=EntityQuota(share=1.0), inspectors_per_entity=2)}})
    quarter, previous = Q1, None
    for _ in range(4):
        drawn = draw(grid, quarter, published, entities, inspectors, everything, registry, previous)
        if previous is not None:
            for inspection in drawn.inspections:
                before = previous.assignments.get(inspection.entity_id, frozenset())
                assert not before & {p.inspector_id for p in inspection.inspectors}
        quarter, previous = quarter.next(), drawn.assignments


def test_list_errors_name_the_line(tmp_path: Path) -> None:
    registry, _, _, _ = inputs()
    bad = tmp_path / "entities.csv"
    bad.write_text("entity_id,name,grid_code,category,supervision_level,synthetic\n"
                   "KE-1,甲,330302006,wastewater,2,true\n"
                   "KE-2,乙,999999,wastewater,2,true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3 \(KE-2\): grid_code 999999 is not in any registry version"):
        load_entities(registry, bad)
    bad.write_text("entity_id,name,grid_code,category,supervision_level,synthetic\n"
                   "KE-1,甲,330302006,wastewater,2,true\n"
                   "KE-1,乙,330302006,wastewater,2,true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3 \(KE-1\): entity_id KE-1 repeats line 2"):
        load_entities(registry, bad)
    people = tmp_path / "inspectors.csv"
    people.write_text("inspector_id,name,department,grid_code,synthetic\nIN-1,丙,nowhere,330302,true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 2 \(IN-1\): department 'nowhere'"):
        load_inspectors(registry, tuple(department_codes()), people)


def test_the_shipped_lists_are_marked_synthetic() -> None:
    _, entities, inspectors, _ = inputs()
    assert all(e.synthetic for e in entities) and all(p.synthetic for p in inspectors)
    assert dataclasses.asdict(entities.rows[0])["synthetic"] is True


def test_a_quota_names_count_or_share() -> None:
    with pytest.raises(ValueError, match="either count or share"):
        EntityQuota(count=2, share=0.5)
