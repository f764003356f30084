"""The lint that `make test` runs: `ruff check` over the whole repository (config in pyproject.toml).

RUF100 is on, so a `noqa` marker that silences nothing, or names a rule nobody checks, fails too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"ruff found problems (fix them, or `ruff check --fix`):\n{result.stdout}{result.stderr}"


def test_ruff_would_catch_a_blind_except(tmp_path: Path) -> None:
    """The rule set is live: a swallowed exception of any kind is reported."""
    snippet = tmp_path / "blind.py"
    snippet.write_text("def f() -> None:\n    try:\n        pass\n    except Exception:\n        pass\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--config", str(REPO_ROOT / "pyproject.toml"),
                             "--output-format", "concise", str(snippet)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert "BLE001" in result.stdout, result.stdout + result.stderr
