"""The type check runs with the tests: mypy over domain/ and streams/, as configured in pyproject.toml.

domain/ is strict with no exception; streams/ is strict except `disallow_untyped_decorators` (faust's
decorators are untyped). The project's mypy plugin (scripts/mypy_enum_str.py) also makes comparing a
StrEnum with a plain string an error, which mypy's own `strict_equality` lets through.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300  # a cold cache takes ~15 s, a warm one under 1 s


def test_domain_and_streams_type_check() -> None:
    result = _mypy()  # the files to check are the config's `files`
    assert result.returncode == 0, f"mypy found type errors (fix them; config in pyproject.toml):\n{_output(result)}"


def test_domain_is_never_relaxed() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert {"src/envgrid/domain", "src/envgrid/streams"} <= set(config["files"])
    for override in config.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        relaxed = [m for m in modules if m in ("envgrid", "envgrid.*", "envgrid.domain") or m.startswith("envgrid.domain.")]
        assert not relaxed, f"pyproject.toml relaxes mypy for {relaxed}: domain/ must stay strict"


def test_comparing_a_str_enum_with_a_string_is_a_type_error(tmp_path: Path) -> None:
    """Issue 7: `effect.event == "dispatched"` kept rerouted cases from reaching their new lead."""
    snippet = tmp_path / "enum_compare.py"
    snippet.write_text(
        "from envgrid.domain.cases.effects import LifecycleEvent, LifecycleKind\n"
        "\n"
        "def by_string(effect: LifecycleEvent) -> bool:\n"
        '    return effect.event == "dispatched"\n'
        "\n"
        "def by_member(effect: LifecycleEvent) -> bool:\n"
        "    return effect.event is LifecycleKind.DISPATCHED or effect.event == LifecycleKind.REROUTED\n",
        encoding="utf-8",
    )
    result = _mypy(str(snippet))
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert any("enum_compare.py:4:" in e and "[enum-str-compare]" in e for e in errors), _output(result)
    assert all("enum_compare.py:4:" in e for e in errors), _output(result)  # comparing with members is fine


def _mypy(*files: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", *files]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr).strip()
