"""The grid registry (网格): grids of four levels, in effective-dated versions.

A `RegistryVersion` is one consistent set of grids valid for a period; a `RegistrySet` holds every
version and picks the one in force at an event's time (time is always passed in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from envgrid.domain.effective import EffectiveDated  # re-exported
from envgrid.domain.effective import NoVersionInForce as NoVersionInForce
from envgrid.domain.registry.address_matcher import AddressMatcher
from envgrid.domain.registry.config_schema import NearBoundaryPolicy
from envgrid.domain.registry.grid import Grid, GridLevel

if TYPE_CHECKING:
    from envgrid.domain.geo.spatial_index import LeafGridIndex, PointLocation

CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


class ChainFacts(NamedTuple):
    """What routing needs about a grid's chain, computed once per version."""

    codes: tuple[str, ...]  # the grid and its ancestors, most specific first
    district: str | None  # the level-2 grid (district or functional zone) in the chain
    synthetic: bool  # some grid of the chain has a synthetic code or membership
    description: str  # 'L4 330302006044 鼓楼社区 / … / L1 3303 温州市'


class RegistryVersion:
    """One consistent set of grids, with its spatial index and address matcher."""

    def __init__(
        self,
        *,
        id: str,
        valid_from: dt.date,
        valid_to: dt.date | None,
        source: str,
        grids: dict[str, Grid],
        city_code: str,
        aliases: dict[str, str],
        index: LeafGridIndex,
        fine_geometry_synthetic: bool,
        near_boundary_policy: NearBoundaryPolicy,
        address_names: dict[str, list[str]] | None = None,
    ) -> None:
        self.id = id
        self.valid_from = dt.datetime.combine(valid_from, dt.time(), CHINA_TIME)
        self.valid_to = None if valid_to is None else dt.datetime.combine(valid_to, dt.time(), CHINA_TIME)
        self.source = source
        self.grids = grids
        self.city = grids[city_code]
        self.aliases = aliases
        self.index = index
        self.fine_geometry_synthetic = fine_geometry_synthetic
        self.near_boundary_policy = near_boundary_policy
        self.near_boundary_distance_m = index.near_distance_m
        self._chains = {code: self._build_chain(code) for code in grids}
        self._facts = {code: self._chain_facts(chain) for code, chain in self._chains.items()}
        self.address_matcher = AddressMatcher(grids.values(), self.chain, address_names)
        # memo of values computed from this version by routing; a version never changes
        self.derived: dict[str, Any] = {}

    def in_force_at(self, moment: dt.datetime) -> bool:
        return self.valid_from <= moment and (self.valid_to is None or moment < self.valid_to)

    def at(self, moment: dt.datetime) -> RegistryVersion:
        """This version whatever the time: a single version acts as a pinned registry (replays "as of")."""
        return self

    def grid(self, code: str) -> Grid | None:
        """The grid with this code in this version; a code of a later split resolves to its predecessor."""
        found = self.grids.get(code)
        if found is None and code in self.aliases:
            found = self.grids.get(self.aliases[code])
        return found

    def chain(self, code: str) -> tuple[Grid, ...]:
        """The grid and its ancestors, most specific first, ending at the city. Empty if unknown."""
        grid = self.grid(code)
        return self._chains[grid.code] if grid is not None else ()

    def facts(self, code: str) -> ChainFacts | None:
        """Precomputed facts about the chain of `code` (one lookup on the hot path); None if unknown."""
        facts = self._facts.get(code)
        if facts is None:
            grid = self.grid(code)
            return self._facts[grid.code] if grid is not None else None
        return facts

    def chain_codes(self, code: str) -> tuple[str, ...]:
        """Codes of `chain(code)`."""
        facts = self.facts(code)
        return facts.codes if facts else ()

    def district_of(self, code: str) -> str | None:
        """Code of the level-2 grid (district or functional zone) above or at `code`; None for the city."""
        facts = self.facts(code)
        return facts.district if facts else None

    def describe_chain(self, code: str) -> str:
        """'L4 330302006044 鼓楼社区 / L3 … / L1 3303 温州市' (precomputed: it is in every decision's reason)."""
        facts = self.facts(code)
        return facts.description if facts else ""

    def locate(self, lon: float, lat: float) -> PointLocation | None:
        """The leaf grid at a WGS-84 point (see LeafGridIndex.locate)."""
        return self.index.locate(lon, lat)

    def common_parent(self, codes: Iterable[str]) -> Grid:
        """The most specific grid that contains every one of `codes` (the city at worst)."""
        chains = [self.chain(code) for code in codes]
        shared = set(chains[0]).intersection(*chains[1:]) if chains else {self.city}
        return max(shared, key=lambda grid: grid.level) if shared else self.city

    def children(self, code: str) -> tuple[Grid, ...]:
        return tuple(g for g in self.grids.values() if g.parent == code)

    @staticmethod
    def _chain_facts(chain: tuple[Grid, ...]) -> ChainFacts:
        return ChainFacts(
            codes=tuple(g.code for g in chain),
            district=next((g.code for g in chain if g.level == GridLevel.DISTRICT), None),
            synthetic=any(g.synthetic for g in chain),
            description=" / ".join(f"L{int(g.level)} {g.code} {g.name}" for g in chain),
        )

    def _build_chain(self, code: str) -> tuple[Grid, ...]:
        chain: list[Grid] = []
        current: str | None = code
        while current is not None:
            grid = self.grids[current]
            chain.append(grid)
            current = grid.parent
        return tuple(chain)

    def __repr__(self) -> str:
        return f"RegistryVersion({self.id!r}, {self.valid_from.date()}..{self.valid_to.date() if self.valid_to else ''})"


class RegistrySet(EffectiveDated["RegistryVersion"]):
    """Every registry version, ordered by start; picks the version in force at a given time."""

    what = "grid registry version"
