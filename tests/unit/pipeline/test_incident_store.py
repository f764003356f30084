"""The router's incident store: what it writes to its changelog per batch, and what a process that restores a
partition from that changelog does with a report it meets again (the crash between flush and commit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from envgrid.domain.duplicates import DuplicatePolicy, IncidentIndex
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams.composition import routing_service
from envgrid.streams.incident_store import IncidentStore
from envgrid.streams.routing_service import Intake, Located
from envgrid.streams.state_codec import decode_state, encode_state
from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER, as_input, decode

REPORTS = GeneratorConfig(kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.3, "DepartmentNotice": 0.0},
                          broken_share=0.0, duplicate_share=0.3)


def _located(count: int, seed: int = 5) -> list[Located]:
    service = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    located = [service.locate(as_input(event), "intake") for event in generate(seed=seed, count=count, config=REPORTS)]
    return [entry for entry in located if isinstance(entry, Located)]


def _store(*partitions: int) -> IncidentStore:
    store = IncidentStore()
    for partition in partitions:
        store.restore(partition, [])
    return store


def test_a_batch_writes_each_changed_index_once_and_then_nothing() -> None:
    service = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    store = _store(3)
    reports = _located(120)
    for located in reports:
        assert isinstance(store.open_or_merge(service, 3, located), Intake)
    records = store.take_changed()
    keys = [record.key for record in records]
    assert len(keys) == len(set(keys)) == len({located.incidents_key for located in reports})
    assert {record.partition for record in records} == {3}
    for record in records:
        assert decode_state(record.value).case_of  # an incident index, in the state codec
    assert store.take_changed() == []


def test_a_restored_partition_gives_a_report_it_already_handled_the_same_outputs_and_changes_nothing() -> None:
    """The worker crashed after the batch's outputs and changelog were acknowledged, before its offsets were
    committed: the next owner restores the partition and is handed the same reports again."""
    reports = _located(80, seed=11)
    first_service = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    first = _store(0)
    before = [first.open_or_merge(first_service, 0, located) for located in reports]
    changelog = [(record.key, record.value) for record in first.take_changed()]

    restarted_service = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    restarted = IncidentStore()
    assert restarted.restore(0, changelog) == len(changelog)
    after = [restarted.open_or_merge(restarted_service, 0, located) for located in reports]
    for earlier, again in zip(before, after, strict=True):
        assert isinstance(earlier, Intake) and isinstance(again, Intake)
        assert again.redelivered and not earlier.redelivered
        assert (again.case_id, again.merged, again.outputs) == (earlier.case_id, earlier.merged, earlier.outputs)
    assert restarted.take_changed() == []  # a redelivery writes no state


def test_a_restored_partition_merges_a_new_repeat_into_the_case_opened_before_the_crash() -> None:
    reports = _located(200, seed=3)
    service = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    reference = _store(0)
    expected = [reference.open_or_merge(service, 0, located) for located in reports]
    merged_at = next(i for i, intake in enumerate(expected) if isinstance(intake, Intake) and intake.merged)

    before = _store(0)
    for located in reports[:merged_at]:
        before.open_or_merge(service, 0, located)
    restored = IncidentStore()
    restored.restore(0, [(r.key, r.value) for r in before.take_changed()])
    again = restored.open_or_merge(routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER), 0, reports[merged_at])
    assert isinstance(again, Intake) and again.merged and not again.redelivered
    assert again.case_id == expected[merged_at].case_id  # type: ignore[union-attr]


def test_the_latest_changelog_value_of_a_key_wins_and_a_tombstone_deletes_it() -> None:
    old, new = IncidentIndex(), IncidentIndex()
    new.handled("report-1", "case-1", False, datetime(2026, 12, 1, 9, tzinfo=UTC), DuplicatePolicy(), "digest")
    store = IncidentStore()
    count = store.restore(2, [(b'"zone|a"', encode_state(old)), (b'"zone|b"', encode_state(old)),
                              (b'"zone|a"', encode_state(new)), (b'"zone|b"', None), (None, encode_state(old))])
    assert count == 1
    assert store.index(2, "zone|a").case_of("report-1") == ("case-1", False)
    assert store.index(2, "zone|b").case_of("report-1") is None  # deleted: an empty index


def test_a_partition_not_restored_here_cannot_be_used_and_a_released_one_is_forgotten() -> None:
    service = routing_service(CATALOGUE, decode, TEST_PSEUDONYMISER)
    store = _store(1)
    located = _located(5)[0]
    with pytest.raises(KeyError, match="partition 4"):
        store.open_or_merge(service, 4, located)
    store.open_or_merge(service, 1, located)
    store.release([1])
    assert not store.owns(1) and store.take_changed() == []  # a revoked partition's pending writes go too
    with pytest.raises(KeyError):
        store.index(1, located.incidents_key)


def test_a_changelog_value_that_is_no_incident_index_is_refused_with_its_key() -> None:
    with pytest.raises(TypeError, match="zone.x"):
        IncidentStore().restore(0, [(b'"zone|x"', encode_state({"not": "an index"}))])


def test_changelog_keys_are_json_strings_as_faust_wrote_them_so_an_upgraded_router_adopts_its_indexes() -> None:
    """The checked-in changelog fixture was written by faust's `incidents` table (keys as JSON strings)."""
    from tests.integration.changelog_fixture import load_records

    faust_records = [(r.key, r.value) for r in load_records() if r.table == "incidents"]
    store = IncidentStore()
    assert store.restore(5, faust_records) >= 1
    key = next(iter(store.indexes(5)))
    assert "|" in key and not key.startswith('"')
    store.changed(5, key, store.index(5, key))
    (record,) = store.take_changed()
    assert record.key == json.dumps(key).encode() and record.key in {k for k, _ in faust_records}

