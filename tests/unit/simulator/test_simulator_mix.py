"""On 5,000 events the mix is close to the configuration, and everything that should appear does."""

from __future__ import annotations

import math
from collections import Counter

from envgrid.simulator.model import BROKEN_KINDS, CHANNELS, DATUMS, NOTICE_KINDS, GeneratorConfig
from envgrid.simulator.reference import patrol_categories

CONFIG = GeneratorConfig()


def _close(observed: int, total: int, expected_share: float) -> bool:
    """Within 4 binomial standard deviations (plus a little slack for small shares)."""
    sd = math.sqrt(total * expected_share * (1 - expected_share))
    return abs(observed - total * expected_share) <= 4 * sd + 3


def test_broken_share(sample):
    assert _close(sum(1 for e in sample if e.truth.broken), len(sample), CONFIG.broken_share)


def test_all_broken_kinds_appear(sample):
    assert set(Counter(e.truth.broken for e in sample if e.truth.broken)) == set(BROKEN_KINDS)


def test_duplicate_share_of_reports(sample):
    reports = [e for e in sample if e.truth.valid and e.kind != "DepartmentNotice"]
    duplicates = sum(1 for e in reports if e.truth.duplicate_of)
    assert _close(duplicates, len(reports), CONFIG.duplicate_share)


def test_channel_mix(sample):
    complaints = [e for e in sample if e.truth.valid and e.kind == "PetitionComplaint"]
    counts = Counter(e.value["channel"] for e in complaints)
    assert set(counts) == set(CHANNELS)
    total = sum(CONFIG.channel_shares.values())
    for channel, share in CONFIG.channel_shares.items():
        assert _close(counts[channel], len(complaints), share / total), (channel, counts)
    assert counts["HOTLINE_12345"] + counts["HOTLINE_12369"] > len(complaints) / 2


def test_datum_mix(sample):
    located = [e for e in sample if e.truth.valid and e.truth.has_coordinates]
    counts = Counter(e.value["location"]["datum"] for e in located)
    assert set(counts) == set(DATUMS)
    for datum, share in CONFIG.datum_shares.items():
        assert _close(counts[datum], len(located), share), (datum, counts)


def test_every_notice_kind_appears(sample):
    kinds = Counter(e.value["kind"] for e in sample if e.truth.valid and e.kind == "DepartmentNotice")
    assert set(kinds) == set(NOTICE_KINDS)


def test_notices_of_a_case_come_in_lifecycle_order(sample):
    order = {kind: i for i, kind in enumerate(
        ("ACKNOWLEDGE", "PROGRESS", "TRANSFER_REQUEST", "ESCALATION_REQUEST", "JOINT_ENFORCEMENT_REQUEST",
         "ENFORCEMENT_ORDER", "EXTENSION_REQUEST", "RESULT", "CLOSE"))}
    seen: dict[str, list[int]] = {}
    for event in sample:
        if event.truth.valid and event.kind == "DepartmentNotice":
            seen.setdefault(event.truth.case_id, []).append(order[event.value["kind"]])
    assert seen
    for steps in seen.values():
        assert steps == sorted(steps)


def test_patrol_reports_mostly_cover_level_4_duties(sample):
    patrols = [e for e in sample if e.truth.valid and e.kind == "PatrolReport"]
    l4 = set(patrol_categories())
    share = sum(e.value["category"] in l4 for e in patrols) / len(patrols)
    assert 0.7 < share < 0.95
    stopped = sum(e.value["stopped_on_site"] for e in patrols)
    escalated = sum(e.value["needs_escalation"] for e in patrols)
    assert 0.2 * len(patrols) < stopped < 0.7 * len(patrols)
    assert 0.2 * len(patrols) < escalated < 0.7 * len(patrols)


def test_reporters_come_from_the_roster(sample):
    from envgrid.simulator.reference import grid_members

    members = grid_members()
    for event in sample:
        if event.truth.valid and event.kind == "PatrolReport":
            assert event.value["reporter_id"] in members.get(event.value["grid_code"], ())


def test_flags_are_rare_but_present(sample):
    reports = [e.value for e in sample if e.truth.valid and e.kind != "DepartmentNotice"]
    for flag in ("suspected_crime", "cross_district"):
        count = sum(value[flag] for value in reports)
        assert 0 < count < 0.1 * len(reports), flag
    assert 0 < sum(value["key_entity"] is not None for value in reports) < 0.1 * len(reports)
    complainants = [v["complainant"] for v in reports if "complainant" in v]
    anonymous = sum(c is None for c in complainants)
    assert 0.05 * len(complainants) < anonymous < 0.2 * len(complainants)
    assert any(c and c["id_number"] for c in complainants)
