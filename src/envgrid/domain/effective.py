"""Effective dating: a sequence of versions, each valid from a start instant until the next one's.

The grid registry and the jurisdiction rules both change over time (龙港市 split from 苍南县 in 2019);
an event is always judged by the versions in force when it happened, so a replay decides as the city
did then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from itertools import pairwise
from typing import Generic, Protocol, TypeVar


class NoVersionInForce(LookupError):
    """No configured version covers the event's time."""


class Dated(Protocol):
    id: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None


V = TypeVar("V", bound=Dated)


class EffectiveDated(Generic[V]):
    """Versions ordered by start, none overlapping; `at(moment)` picks the one in force."""

    what = "version"  # named in errors, e.g. "grid registry version"

    def __init__(self, versions: Iterable[V]) -> None:
        self.versions: tuple[V, ...] = tuple(sorted(versions, key=lambda v: v.valid_from))
        for earlier, later in pairwise(self.versions):
            if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                raise ValueError(f"{self.what}s {earlier.id} and {later.id} overlap")

    def at(self, moment: dt.datetime) -> V:
        """The version in force at `moment` (timezone-aware)."""
        if moment.tzinfo is None:
            raise ValueError(f"time {moment.isoformat()} has no timezone; pass an aware datetime")
        latest = self.versions[-1]  # most events are recent: try the open-ended version first
        if latest.valid_to is None and latest.valid_from <= moment:
            return latest
        for version in reversed(self.versions):
            if version.valid_from <= moment:
                if version.valid_to is None or moment < version.valid_to:
                    return version
                break
        periods = ", ".join(f"{v.id} {v.valid_from.date()}..{v.valid_to.date() if v.valid_to else ''}"
                            for v in self.versions)
        raise NoVersionInForce(f"no {self.what} in force at {moment.isoformat()} (versions: {periods})")

    def by_id(self, version_id: str) -> V:
        for version in self.versions:
            if version.id == version_id:
                return version
        raise KeyError(f"unknown {self.what} {version_id!r}")
