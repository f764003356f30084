"""Helpers for tests that run the demo as its user does (`python -m envgrid.demo` in its own process group)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def wait_while_running(predicate: Callable[[], bool], demo: subprocess.Popen, timeout: float, what: str,
                       explain: Callable[[], str], every: float = 1.0) -> None:
    """Until `predicate()`; fails, with `explain()`, if the demo stops first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert demo.poll() is None, f"the demo stopped (exit {demo.returncode}) before {what}\n{explain()}"
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}\n{explain()}"
        time.sleep(every)


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` of a log (each cut at 300 characters), or "(none)"."""
    try:
        return "\n".join(line[:300] for line in path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(none)"
