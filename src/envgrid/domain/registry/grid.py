"""A grid (网格) of the four-level environmental-supervision grid and its level."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class GridLevel(IntEnum):
    """Level 1 is the whole city; level 4 villages and communities. A smaller number is a higher level."""

    CITY = 1  # 一级网格
    DISTRICT = 2  # 二级网格: districts, counties, county-level cities and functional zones
    TOWNSHIP = 3  # 三级网格: townships and streets (乡镇/街道)
    VILLAGE = 4  # 四级网格: villages and communities (村/社区)


@dataclass(frozen=True, slots=True)
class Grid:
    code: str
    name: str
    level: GridLevel
    parent: str | None
    kind: str  # city | district | functional_zone | township | village
    synthetic: bool = False  # True when code, name or membership is invented (functional zones)
