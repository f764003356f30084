"""`python -m envgrid.spotcheck draw | verify` without a broker: JSON lines out, verified back, tampering caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envgrid.spotcheck.cli import main

AT = "2027-01-04T10:00:00+08:00"


def _draw(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main(["draw", "--json", "--at", AT, *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_draw_then_verify_matches_and_a_changed_outcome_does_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draws = _draw(capsys, "--period", "2027-Q1", "--published-value", "福彩3D 2027001: 482", "--grid", "3303", "--grid", "330302")
    assert [d["grid_code"] for d in draws] == ["3303", "330302"] and draws[0]["algorithm_version"] == 1
    again = _draw(capsys, "--period", "2027-Q1", "--published-value", "福彩3D 2027001: 482", "--grid", "3303", "--grid", "330302")
    assert again == draws  # anyone re-running the command gets the same draw
    file = tmp_path / "q1.jsonl"
    file.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in draws), encoding="utf-8")
    assert main(["verify", str(file)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"MATCH {d['event_id']}" for d in draws]
    tampered = json.loads(json.dumps(draws[1]))
    tampered["inspections"][0]["inspectors"][0]["inspector_id"] = "IN-330302-01"
    file.write_text(json.dumps(tampered, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["verify", str(file)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"MISMATCH {tampered['event_id']}") and "the outcome differs" in out


def test_the_next_quarter_excludes_the_previous_inspectors_and_verifies_with_the_previous_draw(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q1 = _draw(capsys, "--period", "2027-Q1", "--published-value", "a", "--grid", "330302")
    previous = tmp_path / "q1.jsonl"
    previous.write_text(json.dumps(q1[0], ensure_ascii=False) + "\n", encoding="utf-8")
    q2 = _draw(capsys, "--period", "2027-Q2", "--published-value", "b", "--grid", "330302", "--previous", str(previous))
    assert q2[0]["inputs"]["previous_draw_id"] == q1[0]["event_id"]
    current = tmp_path / "q2.jsonl"
    current.write_text(json.dumps(q2[0], ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["verify", str(current), "--previous", str(previous)]) == 0
    capsys.readouterr()
    assert main(["verify", str(current)]) == 1  # without the previous draw it cannot be checked, and says so
    assert "give that draw (--previous)" in capsys.readouterr().out


def test_other_lists_are_named_as_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draws = _draw(capsys, "--period", "2027-Q1", "--published-value", "a", "--grid", "330302")
    file = tmp_path / "q1.jsonl"
    file.write_text(json.dumps(draws[0], ensure_ascii=False) + "\n", encoding="utf-8")
    source = Path("src/envgrid/config/spotcheck/key-entities.csv").read_text(encoding="utf-8").splitlines()
    fewer = tmp_path / "entities.csv"
    fewer.write_text("\n".join(source[:-1]) + "\n", encoding="utf-8")
    assert main(["verify", str(file), "--entities", str(fewer)]) == 1
    assert "the key-entity list differs from the draw's" in capsys.readouterr().out


def test_help_and_a_bad_period() -> None:
    result = subprocess.run([sys.executable, "-m", "envgrid.spotcheck", "draw", "--help"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0 and "--published-value" in result.stdout
    result = subprocess.run([sys.executable, "-m", "envgrid.spotcheck", "draw", "--period", "2027-Q5",
                             "--published-value", "x"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "2027-Q5" in result.stderr
