from __future__ import annotations

import pytest
from routingkit import AFTER_SPLIT, BEFORE_SPLIT


@pytest.fixture(scope="module")
def matcher(context):
    return context.registry.at(AFTER_SPLIT).address_matcher


@pytest.mark.parametrize(
    "text, code",
    [
        ("温州市鹿城区五马街道鼓楼社区解放街12号", "330302006044"),
        ("鹿城区五马街道鼓楼社区", "330302006044"),
        ("五马鼓楼社区", "330302006044"),  # suffix 街道 dropped, district missing
        ("鹿城五马街道鼓楼居委会", "330302006044"),  # 区 dropped, 社区 spelt 居委会
        ("温州市鹿城区五马街道", "330302006"),
        ("瓯海区某某路88号", "330304"),
        ("浙南产业集聚区星海街道", "330303015"),
        ("龙港市江口社区", "330383198004"),
    ],
)
def test_most_specific_named_grid(matcher, text, code):
    assert matcher.match(text).code == code


def test_shared_village_name_is_settled_by_the_higher_levels(context, matcher):
    version = context.registry.at(AFTER_SPLIT)
    same_name = [g for g in version.grids.values() if g.name == "西岙村委会"]
    assert len(same_name) > 1
    target = same_name[0]
    township = version.grid(target.parent)
    match = matcher.match(f"{township.name}西岙村")
    assert match.code == target.code and not match.ambiguous_candidates


def test_unsettled_ambiguity_stops_at_the_common_level(context, matcher):
    match = matcher.match("西岙村")
    assert match.code == "3303" and len(match.ambiguous_candidates) > 1
    contradicting = matcher.match("瓯海区西岙村")  # no 西岙 in 瓯海: the district named wins
    assert contradicting.code == "330304"


def test_names_follow_the_registry_version(context):
    before = context.registry.at(BEFORE_SPLIT).address_matcher
    assert before.match("苍南县龙港镇").code == "330383198"
    assert context.registry.at(BEFORE_SPLIT).chain(before.match("龙港市江口社区").code)[2].code == "330327"


def test_no_known_name(matcher):
    assert matcher.match("No. 5 Nowhere Road") is None
    assert matcher.match("北京市朝阳区").code == "3303"  # 朝阳 is a village name in five townships: city only
