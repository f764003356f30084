"""Ports and JVM processes: pick free ports, spawn in a new process group, stop for sure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import PortInUse

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = HOST) -> list[int]:
    """`count` distinct free ports: every socket is held until all are chosen, so the kernel
    cannot hand out the same port twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def check_port_free(port: int, purpose: str, host: str = HOST) -> int:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            raise PortInUse(host, port, purpose) from None
    return port


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(argv: Sequence[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `argv` detached from the terminal, in its own process group, output appended to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env)


def alive(pid: int | None, marker: str = "") -> bool:
    """True if `pid` runs (not a zombie) and, when given, its command line contains `marker`
    (guards against a recycled pid)."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X") and marker in cmdline


def stop(pid: int | None, marker: str, timeout: float = 20.0, popen: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group of `pid`, wait up to `timeout`, then SIGKILL it."""
    if not alive(pid, marker):
        _reap(popen)
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(popen)
            if not alive(pid, marker):
                _reap(popen)
                return
            time.sleep(0.1)


def kill_group(pid: int | None, marker: str, popen: subprocess.Popen | None = None,
               signal_name: str = "SIGKILL", timeout: float = 10.0) -> None:
    """Send `signal_name` to the process group of `pid` if it runs; for SIGKILL, wait until it is gone."""
    if not alive(pid, marker):
        _reap(popen)
        return
    assert pid is not None
    try:
        os.killpg(pid, signal.Signals[signal_name])
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while signal_name == "SIGKILL" and alive(pid, marker) and time.monotonic() < deadline:
        _reap(popen)
        time.sleep(0.05)
    _reap(popen)


def _reap(popen: subprocess.Popen | None) -> None:
    if popen is not None:
        popen.poll()


def exit_status(popen: subprocess.Popen | None) -> str:
    """How a child ended, in words ("exit code 1", "killed by SIGKILL"); "" if unknown."""
    code = popen.poll() if popen is not None else None
    if code is None:
        return ""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def machine_state(path: Path) -> str:
    """Free memory and disk, for a message about a process that died without saying why."""
    import shutil

    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        available = meminfo.get("MemAvailable", "?").strip()
    except (OSError, ValueError):
        available = "?"
    try:
        free_disk = f"{shutil.disk_usage(path).free / 2**30:.1f} GiB"
    except OSError:
        free_disk = "?"
    return f"memory available {available}, disk free {free_disk} at {path}"


def rotate_logs(logs: Path, names: tuple[str, ...]) -> None:
    """Keep one previous run's logs as <name>.1; each run starts its logs empty."""
    for name in names:
        if (logs / name).exists():
            (logs / name).replace(logs / f"{name}.1")


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
