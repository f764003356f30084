"""The checkpoint: the contiguous prefix of done rows, saved atomically, refused for another file."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envgrid.connectors.importer.checkpoint import (
    AckTracker,
    Checkpoint,
    CheckpointError,
    FileIdentity,
    load_checkpoint,
    save_checkpoint,
)


def test_the_prefix_waits_for_the_first_unacknowledged_row():
    tracker = AckTracker()
    for _ in (1, 2, 4, 5):  # row 3 is rejected, never produced
        tracker.produced()
    tracker.acknowledged(2)
    tracker.rejected_row(3, "bad_time")
    assert tracker.prefix == 0 and tracker.pending == 3
    tracker.acknowledged(1)
    assert tracker.prefix == 3 and tracker.sent == 2 and tracker.rejected == Counter(bad_time=1)
    tracker.acknowledged(5)
    assert tracker.prefix == 3
    tracker.failed()  # row 4's delivery failed: the prefix never passes it
    assert tracker.prefix == 3 and tracker.pending == 0


def test_a_resumed_tracker_counts_on_from_the_checkpoint():
    tracker = AckTracker(100, sent=90, rejected=Counter(empty_row=10))
    tracker.acknowledged(100)  # a late report of a row the checkpoint already covers
    tracker.rejected_row(101, "empty_row")
    assert (tracker.prefix, tracker.sent, tracker.rejected) == (101, 90, Counter(empty_row=11))


@given(st.permutations(range(1, 41)), st.sets(st.integers(1, 40)))
def test_the_prefix_is_the_longest_run_of_done_rows(order, never):
    tracker = AckTracker()
    for row in order:
        if row not in never:
            tracker.acknowledged(row)
    expected = min(never, default=41) - 1
    assert tracker.prefix == expected and tracker.sent == expected


def test_saved_and_loaded_for_the_same_file(tmp_path):
    export = tmp_path / "a.csv"
    export.write_bytes(b"x" * 10)
    identity = FileIdentity.of(export)
    path = tmp_path / "cp" / "a.json"
    assert load_checkpoint(path, export, identity, "t").row == 0  # none yet: from the first row
    save_checkpoint(path, Checkpoint(str(export), identity, "t", 7, 5, Counter(bad_time=2)))
    loaded = load_checkpoint(path, export, identity, "t")
    assert (loaded.row, loaded.sent, loaded.rejected, loaded.finished) == (7, 5, Counter(bad_time=2), False)
    assert json.loads(path.read_text())["size"] == 10
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]  # no temporary file left behind


def test_another_file_or_topic_is_not_resumed(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_bytes(b"first export")
    second.write_bytes(b"other export")
    path = tmp_path / "a.json"
    save_checkpoint(path, Checkpoint(str(first), FileIdentity.of(first), "t", 3))
    with pytest.raises(CheckpointError, match="not of .*b.csv"):
        load_checkpoint(path, second, FileIdentity.of(second), "t")
    with pytest.raises(CheckpointError, match="not u"):
        load_checkpoint(path, first, FileIdentity.of(first), "u")
    path.write_text("{broken")
    with pytest.raises(CheckpointError, match="delete it"):
        load_checkpoint(path, first, FileIdentity.of(first), "t")
