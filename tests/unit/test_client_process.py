"""tests/integration/client_process.py: a child that aborts becomes ChildDied and is started again, no broker needed."""

from __future__ import annotations

import os

import pytest

from tests.integration.client_process import ChildDied, ChildError, ClientProcess


class Counter:
    """The child's object: counts calls, raises, aborts like librdkafka's assertion, or hangs."""

    def __init__(self, start: int) -> None:
        self.count = start

    def next(self) -> int:
        self.count += 1
        return self.count

    def fail(self) -> None:
        raise ValueError("no such partition")

    def abort(self) -> None:
        os.abort()

    def hang(self) -> None:
        import time

        time.sleep(60)


def test_calls_raise_and_an_abort_becomes_a_restart(tmp_path):
    clients = ClientProcess(f"{__name__}:Counter", (10,), log=tmp_path / "child.log")
    try:
        assert [clients.call("next"), clients.call("next")] == [11, 12]
        with pytest.raises(ChildError, match="ValueError: no such partition"):
            clients.call("fail")
        assert clients.call("next") == 13  # an exception leaves the child running
        with pytest.raises(ChildDied, match="SIGABRT"):
            clients.call("abort")
        assert clients.call("next") == 11  # a new child, a new object
        with pytest.raises(ChildDied):
            clients.call("hang", timeout=1)
        assert clients.call("next") == 11
        assert [d.summary(0)["how"] for d in clients.deaths] == ["SIGABRT", "SIGKILL"]
        assert clients.starts == 3
    finally:
        clients.close()
    assert not clients.alive()


def test_a_child_dying_too_often_is_not_started_again(tmp_path):
    clients = ClientProcess(f"{__name__}:Counter", (0,), restarts=1)
    try:
        for _ in range(2):
            with pytest.raises(ChildDied):
                clients.call("abort")
        with pytest.raises(ChildDied, match="died 2 times; not started again"):
            clients.call("next")
    finally:
        clients.close()
