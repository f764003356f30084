"""The hash chain the case desk writes (through the in-memory pipeline, the worker's composition) and how the
audit's verification names the case and revision of an altered, deleted or reordered entry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from envgrid.connectors.history_chain import PREFIX, ReadEntry, entry_hash, verify
from envgrid.streams.state_codec import decode_state, encode_state
from tests.unit.audit.traffic import history, run
from tests.unit.pipeline.harness import HISTORY


def _longest(min_entries: int = 5) -> tuple[str, list[dict]]:
    """The case with most entries, each once (the traffic re-delivers some: a repeated notice gets its outputs
    again, as after a worker restart)."""
    by_case = {case: list({p.value["event_id"]: p.value for p in entries}.values())
               for case, entries in history().items()}
    case_id = max(by_case, key=lambda c: len(by_case[c]))
    assert len(by_case[case_id]) >= min_entries
    return case_id, by_case[case_id]


def _entries(values: list[dict]) -> list[ReadEntry]:
    return [ReadEntry(value, offset) for offset, value in enumerate(values)]


def test_every_history_entry_links_to_the_cases_previous_one_as_sent() -> None:
    pipeline, _ = run()
    last: dict[str, str] = {}
    seen: set[str] = set()
    for output in (o for o in pipeline.sent if o.topic == HISTORY):
        value = output.value
        if value["event_id"] in seen:
            continue  # a re-delivery: the same record again
        seen.add(value["event_id"])
        assert value["previous_hash"] == last.get(value["case_id"]), value["event_id"]
        last[value["case_id"]] = entry_hash(value)
    assert all(h.startswith(PREFIX) for h in last.values()) and len(last) > 50


def test_the_case_file_keeps_the_hash_of_its_last_entry() -> None:
    pipeline, _ = run()
    case_id, values = _longest()
    assert pipeline.state.files[case_id].history_hash == entry_hash(values[-1])


def test_a_hash_is_the_same_before_encoding_and_after_decoding() -> None:
    pipeline, _ = run()
    sent = {o.value["event_id"]: o.value for o in pipeline.sent if o.topic == HISTORY}
    for entries in list(history().values())[:20]:
        for published in entries:
            assert entry_hash(published.value) == entry_hash(sent[published.value["event_id"]])


def test_every_case_of_the_traffic_verifies_intact_redeliveries_and_all() -> None:
    redeliveries = 0
    for case_id, entries in history().items():
        breaks, redelivered = verify(case_id, [ReadEntry(p.value, p.offset) for p in entries])
        assert breaks == [], case_id
        redeliveries += redelivered
    assert redeliveries > 0


def test_an_altered_entry_breaks_the_link_of_the_next_one() -> None:
    case_id, values = _longest()
    altered = [dict(v) for v in values]
    altered[2]["reason"] = altered[2]["reason"] + " (edited)"
    breaks, _ = verify(case_id, _entries(altered))
    assert [(b.case_id, b.revision, b.event_id) for b in breaks] == [
        (case_id, values[3]["revision"], values[3]["event_id"])]
    assert breaks[0].problem.startswith("altered_or_missing_before")
    assert f"case {case_id} revision {values[3]['revision']}" in str(breaks[0])


def test_a_deleted_entry_is_named_by_the_entry_after_it() -> None:
    case_id, values = _longest()
    breaks, _ = verify(case_id, _entries(values[:2] + values[3:]))
    assert breaks and {(b.case_id, b.event_id) for b in breaks} == {(case_id, values[3]["event_id"])}
    assert breaks[0].problem.startswith("altered_or_missing_before")


def test_reordered_entries_break_the_chain_and_the_revision_order() -> None:
    case_id, values = _longest()
    first_changes = next(i for i in range(1, len(values) - 1) if values[i + 1]["revision"] > values[i]["revision"])
    swapped = list(values)
    swapped[first_changes], swapped[first_changes + 1] = swapped[first_changes + 1], swapped[first_changes]
    breaks, _ = verify(case_id, _entries(swapped))
    problems = {b.problem.split(":")[0] for b in breaks}
    assert "altered_or_missing_before" in problems and "revision_out_of_order" in problems


def test_a_deleted_first_entry_is_a_missing_start_and_a_deleted_revision_a_gap() -> None:
    case_id, values = _longest()
    breaks, _ = verify(case_id, _entries(values[1:]))
    assert breaks[0].problem.startswith("missing_start") and breaks[0].revision == values[1]["revision"]
    revision = values[-1]["revision"]
    without = [v for v in values if v["revision"] != revision - 1]
    problems = [b.problem for b in verify(case_id, _entries(without))[0]]
    assert any(p.startswith("revision_gap") for p in problems)


def test_an_exact_redelivery_is_skipped_not_a_break() -> None:
    case_id, values = _longest()
    breaks, redelivered = verify(case_id, _entries(values[:3] + values[2:]))
    assert breaks == [] and redelivered == 1


def test_a_window_that_starts_mid_case_starts_the_chain_at_its_first_entry() -> None:
    case_id, values = _longest()
    assert verify(case_id, _entries(values[2:]), from_start=False) == ([], 0)


def test_history_before_the_chain_verifies_and_the_chain_starts_at_the_first_link() -> None:
    """Entries an earlier release wrote carry no previous_hash; a case file restored from its changelog has no
    last hash, so the case's next entry carries none either, and the chain starts there."""
    case_id, values = _longest()
    old = [dict(v, previous_hash=None) for v in values[:3]]
    old[0]["details"] = {k: v for k, v in old[0]["details"].items() if k != "decision"}  # as an earlier release wrote
    restarted = [dict(values[3], previous_hash=None), *values[4:]]
    restarted[1:] = [dict(v) for v in restarted[1:]]
    restarted[1]["previous_hash"] = entry_hash(restarted[0])
    for before, after in zip(restarted[1:], restarted[2:], strict=False):
        after["previous_hash"] = entry_hash(before)
    assert verify(case_id, _entries(old + restarted)) == ([], 0)
    stripped = [*old, *restarted[:2], dict(restarted[2], previous_hash=None), *restarted[3:]]
    problems = [b.problem for b in verify(case_id, _entries(stripped))[0]]
    assert problems and problems[0].startswith("unlinked")


def test_a_case_file_of_an_earlier_release_has_no_last_hash_and_keeps_it_once_set() -> None:
    pipeline, _ = run()
    case_id, _ = _longest()
    file = pipeline.state.files[case_id]
    encoded = encode_state(file).decode("utf-8")
    earlier = encoded.replace(f',"history_hash":"{file.history_hash}"', "")
    assert "history_hash" not in earlier
    assert decode_state(earlier.encode("utf-8")).history_hash is None
    assert decode_state(encode_state(file)).history_hash == file.history_hash
    assert replace(file, history_hash=None).history_hash is None


def test_links_stripped_from_a_case_opened_with_the_chain_are_breaks() -> None:
    case_id, values = _longest()
    stripped = [values[0], *(dict(v, previous_hash=None) for v in values[1:])]
    breaks, _ = verify(case_id, _entries(stripped))
    assert breaks and breaks[0].event_id == values[1]["event_id"] and breaks[0].problem.startswith("unlinked")


@pytest.mark.parametrize("field", ["event_id", "occurred_at", "revision", "details", "case", "previous_hash"])
def test_every_field_is_under_the_hash(field: str) -> None:
    _, values = _longest()
    value = dict(values[1])
    before = entry_hash(value)
    changed = {"event_id": "x", "occurred_at": value["occurred_at"].replace(year=2001), "revision": 99,
               "details": {"added": "1"}, "case": None, "previous_hash": "sha256:00"}[field]
    assert entry_hash(dict(value, **{field: changed})) != before


def test_details_are_hashed_in_key_order() -> None:
    _, values = _longest()
    value = dict(values[0])
    assert len(value["details"]) > 1
    reordered = dict(value, details=dict(reversed(list(value["details"].items()))))
    assert entry_hash(reordered) == entry_hash(value)


def _bodies(values: list[dict]) -> list[ReadEntry]:
    """Entries as the audit reads them off the topic: with the Avro body the writer wrote (the current schema,
    whose form is the chain's)."""
    import io

    import fastavro

    from envgrid.connectors.contracts import load_event

    parsed = load_event("CaseLifecycleEvent").parsed
    read = []
    for offset, value in enumerate(values):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, value)
        read.append(ReadEntry(value, offset, buffer.getvalue()))
    return read


def test_the_written_bytes_are_what_the_chain_hashes_so_the_audit_hashes_them_as_they_are(monkeypatch) -> None:
    from fastavro.schema import to_parsing_canonical_form

    from envgrid.connectors import history_chain
    from envgrid.connectors.contracts import load_event

    assert to_parsing_canonical_form(load_event("CaseLifecycleEvent").parsed) == history_chain.CHAIN_FORM
    case_id, values = _longest()
    read = _bodies(values)
    assert [history_chain.body_hash(r.body) for r in read] == [entry_hash(v) for v in values]  # details in key order
    encodes = []
    monkeypatch.setattr(history_chain, "entry_hash", lambda entry: encodes.append(entry) or entry_hash(entry))
    assert verify(case_id, read) == ([], 0) and encodes == []


def test_with_bodies_an_altered_entry_is_still_named_and_older_key_orders_still_verify() -> None:
    case_id, values = _longest()
    altered = [dict(v) for v in values]
    altered[2]["reason"] = altered[2]["reason"] + " (edited)"
    breaks, _ = verify(case_id, _bodies(altered))
    assert [(b.revision, b.problem.split(":")[0]) for b in breaks] == [(values[3]["revision"], "altered_or_missing_before")]
    # history from before the case desk sorted `details`: its bytes are not the hash's, the audit encodes it again
    unsorted = [dict(v, details=dict(reversed(list((v["details"] or {}).items())))) for v in values]
    assert any(list(u["details"]) != list(v["details"]) for u, v in zip(unsorted, values, strict=True))
    assert verify(case_id, _bodies(unsorted)) == ([], 0)
