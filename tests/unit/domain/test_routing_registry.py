from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest
from routingkit import AFTER_SPLIT, BEFORE_SPLIT, SPLIT_DAY, copy_config

from envgrid.domain.config_errors import ConfigError
from envgrid.domain.registry import GridLevel, NoVersionInForce, load_registry_set


def level_count(version, level):
    return sum(1 for grid in version.grids.values() if grid.level == level)


def test_level_counts_of_both_versions(context):
    before, after = context.registry.at(BEFORE_SPLIT), context.registry.at(AFTER_SPLIT)
    assert level_count(before, GridLevel.CITY) == level_count(after, GridLevel.CITY) == 1
    assert level_count(before, GridLevel.DISTRICT) == 14  # 11 districts + 3 functional zones (plan 四)
    assert level_count(after, GridLevel.DISTRICT) == 15  # + 龙港市
    assert level_count(before, GridLevel.TOWNSHIP) == level_count(after, GridLevel.TOWNSHIP) == 191
    assert level_count(before, GridLevel.VILLAGE) == level_count(after, GridLevel.VILLAGE) == 3685


def test_version_boundaries_are_local_midnight(context):
    assert context.registry.at(SPLIT_DAY - dt.timedelta(microseconds=1)).id == "wenzhou-2016"
    assert context.registry.at(SPLIT_DAY).id == "wenzhou-2019"
    assert context.registry.at(SPLIT_DAY.astimezone(dt.UTC)).id == "wenzhou-2019"
    with pytest.raises(NoVersionInForce, match="2015"):
        context.registry.at(dt.datetime(2015, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="timezone"):
        context.registry.at(dt.datetime(2020, 1, 1))


def test_longgang_belongs_to_cangnan_before_the_split(context):
    before, after = context.registry.at(BEFORE_SPLIT), context.registry.at(AFTER_SPLIT)
    assert [g.code for g in before.chain("330383198001")] == ["330383198001", "330383198", "330327", "3303"]
    assert before.grid("330383198").name == "龙港镇"
    assert [g.code for g in after.chain("330383198001")] == ["330383198001", "330383198", "330383", "3303"]
    assert before.grid("330383").code == "330327"  # a code of the later split resolves to its predecessor
    assert after.grid("330383").name == "龙港市"


def test_functional_zones_take_precedence_over_their_host_district(context):
    version = context.registry.at(AFTER_SPLIT)
    chain = version.chain("330303015")  # 星海街道
    assert [g.code for g in chain] == ["330303015", "330391", "3303"]
    assert chain[1].kind == "functional_zone" and chain[1].synthetic
    assert {g.code for g in version.children("330391")} == {"330303012", "330303013", "330303014", "330303015"}
    assert all(g.parent != "330303" for g in version.children("330391"))


def test_every_chain_is_consistent(context):
    for version in context.registry.versions:
        for code, grid in version.grids.items():
            chain = version.chain(code)
            assert chain[0] is grid and chain[-1] is version.city
            assert [int(g.level) for g in chain] == list(range(int(grid.level), 0, -1))
            assert all(child.parent == parent.code for child, parent in pairwise(chain))


def _break(tmp_path, file: str, old: str, new: str):
    root = copy_config(tmp_path)
    target = root / file
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root, target


@pytest.mark.parametrize(
    "file, old, new, entry, problem",
    [
        ("config/registry/wenzhou-2019.yaml", 'host_district: "330303"', 'host_district: "330399"',
         "functional_zones[0] (330391)", "host_district 330399"),
        ("config/registry/wenzhou-2019.yaml", "valid_from: 2019-09-25", "valid_from: 2019-13-25",
         "(file)", "month must be in 1..12"),
        ("config/registry/wenzhou-2019.yaml", "valid_from: 2019-09-25", "valid_from: soon",
         "valid_from", "date"),
        ("config/registry/wenzhou-2019.yaml", "villages: ../../data/wenzhou/villages.csv",
         "villages: ../../data/wenzhou/nowhere.csv", "files.villages", "file not found"),
        ("data/wenzhou/villages.csv", "330302006044,鼓楼社区,330302006", "330302006044,鼓楼社区,330302999",
         "line 2 (330302006044)", "unknown township_code 330302999"),
        ("config/registry/wenzhou-2016.yaml", 'into: "330327"', 'into: "330399"',
         "merges[0] (330383)", "'into' 330399"),
    ],
)
def test_errors_name_file_entry_and_problem(tmp_path, file, old, new, entry, problem):
    root, target = _break(tmp_path, file, old, new)
    with pytest.raises(ConfigError) as error:
        load_registry_set(root / "config" / "registry")
    assert error.value.path.endswith(target.name) or target.name in str(error.value)
    assert entry in error.value.entry and problem in str(error.value)


def test_overlapping_versions_are_rejected(tmp_path):
    root, _ = _break(tmp_path, "config/registry/wenzhou-2016.yaml", "valid_to: 2019-09-25", "valid_to: 2020-01-01")
    with pytest.raises(ConfigError, match="overlap"):
        load_registry_set(root / "config" / "registry")


def test_a_city_supplied_geojson_may_cover_only_some_districts(tmp_path):
    """Districts the fine file does not cover resolve with their real district polygon (level 2)."""
    import json

    root = copy_config(tmp_path)
    fine = root / "data" / "wenzhou" / "synthetic_grids.geojson"
    collection = json.loads(fine.read_text(encoding="utf-8"))
    collection["properties"]["synthetic"] = False
    collection["features"] = [
        {**f, "properties": {**f["properties"], "synthetic": False}}
        for f in collection["features"] if f["properties"]["code"].startswith("330305")
    ]
    fine.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    registry = load_registry_set(root / "config" / "registry")
    after = registry.at(AFTER_SPLIT)
    assert not after.fine_geometry_synthetic
    lucheng = after.locate(120.655, 28.015)
    assert lucheng.code == "330302" and after.grid(lucheng.code).level == GridLevel.DISTRICT
    dongtou = after.locate(121.157, 27.836)
    assert after.grid(dongtou.code).level == GridLevel.VILLAGE and dongtou.code.startswith("330305")
    longgang_2018 = registry.at(BEFORE_SPLIT).locate(120.55, 27.58)
    assert registry.at(BEFORE_SPLIT).chain_codes(longgang_2018.code) == ("330327", "3303")


def test_unknown_codes_in_the_fine_geojson_are_reported(tmp_path):
    root = copy_config(tmp_path)
    fine = root / "data" / "wenzhou" / "synthetic_grids.geojson"
    fine.write_text(fine.read_text(encoding="utf-8").replace('"330302006044"', '"330302006999"', 1), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_registry_set(root / "config" / "registry")
    assert "330302006999" in error.value.entry and "synthetic_grids.geojson" in error.value.path


def test_level1_and_level2_codes_without_geometry(context):
    from envgrid.domain.registry import level1_and_level2_codes

    expected = {g.code for v in context.registry.versions for g in v.grids.values() if g.level <= GridLevel.DISTRICT}
    codes = level1_and_level2_codes()
    assert set(codes) == expected and len(codes) == 16 and list(codes) == sorted(codes)
