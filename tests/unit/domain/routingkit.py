"""Shared helpers for the routing tests: times around the 龙港 split, points, config copies."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from hypothesis import strategies as st

from envgrid import paths
from envgrid.domain.registry import CHINA_TIME

BEFORE_SPLIT = dt.datetime(2018, 6, 1, 10, 0, tzinfo=CHINA_TIME)
AFTER_SPLIT = dt.datetime(2023, 6, 1, 10, 0, tzinfo=CHINA_TIME)
SPLIT_DAY = dt.datetime(2019, 9, 25, 0, 0, tzinfo=CHINA_TIME)
CITY_BOUNDS = (119.622383, 27.167389, 121.253786, 28.614376)
LONGGANG_POINT = (120.55, 27.58)  # inside today's 龙港市 polygon
LUCHENG_POINT = (120.655, 28.015)  # central 鹿城区

longitudes = st.floats(CITY_BOUNDS[0], CITY_BOUNDS[2], allow_nan=False)
latitudes = st.floats(CITY_BOUNDS[1], CITY_BOUNDS[3], allow_nan=False)
event_times = st.datetimes(
    min_value=dt.datetime(2016, 1, 18), max_value=dt.datetime(2030, 1, 1), timezones=st.just(CHINA_TIME)
)


def copy_config(tmp_path: Path) -> Path:
    """A writable copy of config/ and data/wenzhou/ laid out like the repository (for breaking it)."""
    root = tmp_path / "repo"
    shutil.copytree(paths.CONFIG_DIR, root / "config", ignore=shutil.ignore_patterns("*.py"))
    shutil.copytree(paths.DATA_DIR, root / "data" / "wenzhou")
    return root
