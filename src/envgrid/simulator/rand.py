"""Fast draws from `random.Random`: the generator makes ~20 draws per event, so these matter.

`Random.choice` and `Random.choices` are exact but slow (rejection sampling, argument handling); a
float draw scaled to the length is ~2× faster and its bias (< 2⁻⁴⁰) is irrelevant for a simulation.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """One item, uniformly."""
    return items[int(rng.random() * len(items))]


class Weighted:
    """Items with weights (not necessarily summing to one), drawn by bisecting the cumulative weights."""

    __slots__ = ("items", "_cumulative", "_total")

    def __init__(self, weights: dict[str, float] | Sequence[tuple[str, float]]) -> None:
        pairs = list(weights.items()) if isinstance(weights, dict) else list(weights)
        self.items = [item for item, _ in pairs]
        self._cumulative = list(accumulate(weight for _, weight in pairs))
        self._total = self._cumulative[-1]

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect(self._cumulative, rng.random() * self._total)]

    def __len__(self) -> int:
        return len(self.items)


def randint(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high], both included."""
    return low + int(rng.random() * (high - low + 1))
