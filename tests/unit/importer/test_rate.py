"""The token bucket, on an injected clock: how long each row waits, never a real sleep."""

from __future__ import annotations

import pytest

from envgrid.connectors.importer.rate import TokenBucket, parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_a_burst_through_then_paces():
    clock = Clock()
    bucket = TokenBucket(rate=100, burst=10, clock=clock)
    assert [bucket.take() for _ in range(10)] == [0.0] * 10
    assert bucket.take() == pytest.approx(0.01)
    assert bucket.take() == pytest.approx(0.02)  # booked behind the one before


def test_waiting_out_the_answer_keeps_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=50, burst=1, clock=clock)
    for _ in range(500):
        clock.now += bucket.take()  # the caller sleeps exactly what it was told
    assert clock.now - 1000.0 == pytest.approx(499 / 50)


def test_idle_time_refills_only_up_to_the_burst():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    clock.now += 3600
    assert [bucket.take() for _ in range(6)][-1] == pytest.approx(0.1)


@pytest.mark.parametrize(("text", "rate"), [("500", 500.0), ("2000/s", 2000.0), ("unlimited", None), ("0", None)])
def test_rate_option(text, rate):
    assert parse_rate(text) == rate


def test_a_negative_rate_is_refused():
    with pytest.raises(ValueError, match="rows per second"):
        parse_rate("-5/s")
