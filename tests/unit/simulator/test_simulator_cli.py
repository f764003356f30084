"""The CLI's dry run prints one JSON object per event, the same for the same seed."""

from __future__ import annotations

import json

import pytest

from envgrid.simulator.cli import main


def test_dry_run_prints_jsonl(capsys):
    assert main(["generate", "--count", "40", "--seed", "4", "--dry-run", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 40
    rows = [json.loads(line) for line in lines]
    assert {row["kind"] for row in rows} <= {"PetitionComplaint", "PatrolReport", "DepartmentNotice"}
    assert all(set(row) == {"kind", "key", "value", "raw", "truth"} for row in rows)
    assert main(["generate", "--count", "40", "--seed", "4", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_shares_from_the_command_line(capsys):
    assert main(["generate", "--count", "300", "--dry-run", "--broken-share", "0.5", "--duplicate-share", "0"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert 100 < sum(row["truth"]["broken"] is not None for row in rows) < 200
    assert not any(row["truth"]["duplicate_of"] for row in rows)


def test_start_needs_a_timezone(capsys):
    assert main(["generate", "--count", "1", "--dry-run", "--start", "2024-01-01T08:00"]) == 2
    assert "timezone" in capsys.readouterr().err


@pytest.mark.parametrize("share", ["-0.1", "1.5"])
def test_bad_share_is_refused(capsys, share):
    assert main(["generate", "--count", "1", "--dry-run", "--broken-share", share]) == 2
    assert "broken_share" in capsys.readouterr().err
