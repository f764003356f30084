"""Kafka clients of a test in a process of their own, so that librdkafka aborting cannot end the test run.

librdkafka (confluent-kafka 2.x) sometimes aborts the whole process (SIGABRT, an assertion of its own) when a client
asks something while a node of a 3-node cluster is down: in query_watermark_offsets, in `committed`, `list_topics`
and producer calls (librdkafka#5160). A test that kills a node therefore keeps its own clients in a child process,
started with `spawn` (no librdkafka state inherited), and calls them by name through a pipe:

    clients = ClientProcess("tests.integration.three_broker_clients:Observer", (cluster, groups), log=path)
    clients.call("committed", group)

If the child dies (or does not answer within the call's timeout, and is then killed), the call raises `ChildDied`
and the next call starts a new child; `deaths` records each death (when, how it ended, the end of its standard error,
where librdkafka writes its assertion) so the test can report the gap instead of ending with it.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

_SPAWN = multiprocessing.get_context("spawn")


class ChildDied(RuntimeError):
    """The child process ended (or hung) before it answered: its clients and everything they held are gone."""


class ChildError(RuntimeError):
    """A call raised in the child: the exception's class name and message (the exception itself may not pickle)."""

    def __init__(self, kind: str, message: str, trace: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.trace = kind, trace


@dataclass(frozen=True)
class Death:
    at: float  # time.monotonic() when the parent saw it
    exitcode: int | None  # negative: killed by that signal (-6: SIGABRT, librdkafka's assertion)
    during: str  # the call that saw it
    stderr_tail: str

    def summary(self, t0: float) -> dict[str, Any]:
        how = (signal.Signals(-self.exitcode).name if self.exitcode is not None and self.exitcode < 0
               else f"exit {self.exitcode}")
        return {"at_s": round(self.at - t0, 1), "how": how, "during": self.during,
                "stderr": self.stderr_tail[-400:]}


class ClientProcess:
    """A child process holding the object `factory(*args)` (factory given as "module:name"), whose methods the
    parent calls by name; restarted on the next call after it dies. Calls are serialised (one pipe, one lock)."""

    def __init__(self, factory: str, args: tuple = (), log: Path | None = None, restarts: int = 10) -> None:
        self.factory, self.args, self.log, self.restarts = factory, args, log, restarts
        self.deaths: list[Death] = []
        self.starts = 0
        self._lock = threading.RLock()
        self._process: Any = None
        self._conn: Connection | None = None

    def call(self, method: str, *args: Any, timeout: float = 120.0) -> Any:
        """`method(*args)` on the child's object; ChildError if it raised, ChildDied if the child ended or hung."""
        with self._lock:
            conn = self._ensure()
            try:
                conn.send((method, args))
                if not conn.poll(timeout):
                    self._kill()
                    raise EOFError(f"no answer within {timeout:.0f}s")
                status, value = conn.recv()
            except (EOFError, OSError, BrokenPipeError) as error:
                death = self._died(method)
                raise ChildDied(f"the client process died during {method}: {death.summary(death.at)} ({error})") \
                    from error
        if status == "error":
            raise ChildError(*value)
        return value

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first call and after a death)."""
        with self._lock:
            return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        with self._lock:
            return self._process is not None and self._process.is_alive()

    def close(self, timeout: float = 30.0) -> None:
        with self._lock:
            if self._process is None:
                return
            try:
                assert self._conn is not None
                self._conn.send(None)
                self._process.join(timeout)
            except (OSError, BrokenPipeError):
                pass
            self._kill()

    def _ensure(self) -> Connection:
        if self._process is not None and not self._process.is_alive():
            self._died("(between calls)")
        if self._process is None:
            if self.starts > self.restarts:
                raise ChildDied(f"the client process died {len(self.deaths)} times; not started again: "
                                f"{[d.summary(d.at) for d in self.deaths]}")
            parent, child = _SPAWN.Pipe()
            self._process = _SPAWN.Process(target=serve, args=(child, self.factory, self.args, self.log),
                                           name=f"kafka-clients-{self.factory}", daemon=True)
            self._process.start()
            child.close()
            self._conn, self.starts = parent, self.starts + 1
        assert self._conn is not None
        return self._conn

    def _died(self, during: str) -> Death:
        self._kill()
        death = Death(time.monotonic(), self._process.exitcode if self._process is not None else None, during,
                      _tail(self.log))
        self.deaths.append(death)
        self._process = self._conn = None
        return death

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.kill()
        if process is not None:
            process.join(10)


def serve(conn: Connection, factory: str, args: tuple, log: Path | None) -> None:
    """The child's loop: build the object, answer calls until told to stop (None) or the parent goes away."""
    if log is not None:  # librdkafka writes its logs and its assertion to file descriptor 2
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)
    module, name = factory.split(":")
    target = getattr(importlib.import_module(module), name)(*args)
    try:
        while True:
            try:
                request = conn.recv()
            except EOFError:
                return
            if request is None:
                return
            method, call_args = request
            try:
                conn.send(("ok", getattr(target, method)(*call_args)))
            except Exception as error:  # noqa: BLE001 - handed to the parent, which raises ChildError
                conn.send(("error", (type(error).__name__, str(error), traceback.format_exc())))
    finally:
        close = getattr(target, "close", None)
        if close is not None:
            close()


def _tail(log: Path | None, size: int = 2000) -> str:
    if log is None or not log.exists():
        return ""
    with open(log, "rb") as file:
        file.seek(max(log.stat().st_size - size, 0))
        return file.read().decode(errors="replace")
