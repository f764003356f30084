"""A token bucket: at most `rate` rows per second on average, in bursts of at most `burst` rows, so an import
never starves live intake traffic of the broker's and the router's time. The clock is injected (tests).

    bucket = TokenBucket(rate=500, burst=100, clock=time.monotonic)
    wait = bucket.take()      # seconds to sleep before sending this row (0.0: send now)
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_RATE = 500.0  # rows/s: ~1/10 of one router's measured throughput, leaving room for live complaints


class TokenBucket:
    """`take()` books one token and says how long to wait for it; the bucket starts full."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be more than 0 rows/s, not {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)  # a tenth of a second's worth
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1 row, not {self.burst}")
        self._clock = clock
        self._tokens = self.burst
        self._at = clock()

    def take(self, count: float = 1.0) -> float:
        """Book `count` tokens; seconds until they are there (the tokens may go negative: booked ahead)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= count
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


def parse_rate(text: str) -> float | None:
    """`--rate` values: `500`, `500/s`, `0` or `unlimited` (None: no limit)."""
    value = text.strip().lower().removesuffix("/s")
    if value in ("unlimited", "none", "0"):
        return None
    rate = float(value)
    if rate <= 0:
        raise ValueError(f"--rate {text}: give rows per second, e.g. 500/s (or `unlimited`)")
    return rate
