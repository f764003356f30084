"""The accounting holds against the real routing domain: the pipeline's decision for a generated report
lands in the grid its truth names, and broken-but-decodable input fails where its truth says."""

from __future__ import annotations

import pytest

from envgrid.connectors.records import routing_input
from envgrid.domain.routing import ResolutionPath, decide
from envgrid.domain.rules import UnknownCategory
from envgrid.simulator.model import OUTSIDE_CITY, UNKNOWN_CATEGORY
from envgrid.simulator.reference import registry_set, rules_set


def _decide(event):
    return decide(routing_input(event.kind, event.value), registry_set(), rules_set())


def _reports(sample):
    return [e for e in sample if e.truth.valid and e.kind != "DepartmentNotice"]


def _expected_chain(event) -> tuple[str, ...]:
    """The true chain; a patrol report is owned by the grid it reports from (a grid code beats coordinates)."""
    chain = event.truth.grid_chain
    if event.kind == "PatrolReport":
        return chain[chain.index(event.value["grid_code"]):]
    return chain


def test_reports_with_coordinates_or_grid_code_route_to_their_true_grid(sample):
    reports = [e for e in _reports(sample) if e.truth.has_coordinates or e.kind == "PatrolReport"]
    exact = sum(tuple(g.code for g in _decide(e).owning_chain) == _expected_chain(e) for e in reports)
    assert exact >= 0.99 * len(reports)


def test_address_only_reports_route_inside_their_true_chain(sample):
    reports = [e for e in _reports(sample) if not e.truth.has_coordinates and e.kind == "PetitionComplaint"]
    assert reports
    inside = 0
    for event in reports:
        decision = _decide(event)
        inside += not decision.is_triage and decision.owning_chain[0].code in event.truth.grid_chain
    assert inside >= 0.95 * len(reports)


def test_outside_city_reports_go_to_triage_or_their_patrol_grid(sample):
    broken = [e for e in sample if e.truth.broken == OUTSIDE_CITY]
    assert broken
    for event in broken:
        decision = _decide(event)
        if event.kind == "PetitionComplaint":
            assert decision.provenance.resolution_path is ResolutionPath.TRIAGE


def test_unknown_categories_are_refused_by_the_rules(sample):
    broken = [e for e in sample if e.truth.broken == UNKNOWN_CATEGORY]
    assert broken
    for event in broken:
        with pytest.raises(UnknownCategory):
            _decide(event)


def test_the_domain_merges_exactly_the_repeats_the_truth_names(sample):
    """Replay the reports through envgrid.domain.duplicates as the pipeline would: repeats join their original's
    case, and (almost) nothing else merges.

    A repeat is missed when it resolves to another merge zone than its original (an address-only repeat
    resolved by its text to a neighbouring grid) or matches another nearby incident first: about 1.7 % of
    repeats over 20 seeds, up to 4.8 % in one sample of ~190 repeats. So the bound is checked over four
    samples pooled (~750 repeats), where 3 % is three standard deviations above that mean."""
    from envgrid.simulator.generator import EventGenerator

    tallies = [_merge_tally(events) for events in (sample, *(EventGenerator(seed).take(5000) for seed in (1, 2, 3)))]
    missed, wrong, repeats, false_merges, originals = (sum(column) for column in zip(*tallies, strict=True))
    assert missed + wrong <= 0.03 * repeats, (missed, wrong, repeats)
    # Some unrelated reports do merge, by the domain's policy: same category, same village, one of them
    # without coordinates (≈2.5 % of originals with 5,000 events over four simulated days).
    assert false_merges <= 0.04 * originals, (false_merges, originals)


def _merge_tally(sample) -> tuple[int, int, int, int, int]:
    """(missed repeats, repeats merged into the wrong case, repeats, false merges, originals) of one sample."""
    from envgrid.domain.duplicates import DuplicatePolicy, IncidentIndex, Sighting, merge_zone
    from envgrid.simulator.reference import to_wgs84

    policy, zones = DuplicatePolicy(), {}
    missed, wrong, repeats, false_merges, originals = 0, 0, 0, 0, 0
    for event in _reports(sample):
        decision = _decide(event)
        chain = [g.code for g in decision.owning_chain]
        location = event.value["location"]
        lon = lat = None
        if location["longitude"] is not None:
            lon, lat = to_wgs84(location["longitude"], location["latitude"], location["datum"])
        sighting = Sighting(event.truth.case_id, event.value["category"], event.value["occurred_at"], chain[0], lon, lat)
        index = zones.setdefault(merge_zone(chain), IncidentIndex())
        found = index.find_duplicate(sighting, policy)
        if event.truth.duplicate_of:
            repeats += 1
            missed += found is None
            wrong += found is not None and found != event.truth.case_id
        else:
            originals += 1
            false_merges += found is not None
            index.add(sighting, policy)
    return missed, wrong, repeats, false_merges, originals
