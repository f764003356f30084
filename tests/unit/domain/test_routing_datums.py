from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from envgrid.domain.geo.datums import Datum, bd09_to_gcj02, from_wgs84, gcj02_to_bd09, to_wgs84, wgs84_to_gcj02

METRES_PER_DEGREE = 111_320.0
china_lon = st.floats(73.7, 134.8, allow_nan=False)
china_lat = st.floats(18.2, 53.5, allow_nan=False)


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * METRES_PER_DEGREE * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * METRES_PER_DEGREE)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat, st.sampled_from([Datum.GCJ02, Datum.BD09]))
def test_conversions_round_trip_within_a_metre(lon, lat, datum):
    there = from_wgs84(lon, lat, datum)
    back = to_wgs84(*there, datum)
    assert metres_between((lon, lat), back) < 1.0


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd09_inverse_round_trips(lon, lat):
    assert metres_between((lon, lat), bd09_to_gcj02(*gcj02_to_bd09(lon, lat))) < 0.01


def test_offsets_in_wenzhou_have_the_published_size():
    wgs = (120.655, 28.015)
    gcj = wgs84_to_gcj02(*wgs)
    assert 300 < metres_between(wgs, gcj) < 700  # GCJ-02 shifts Wenzhou by roughly half a kilometre
    assert 700 < metres_between(wgs, gcj02_to_bd09(*gcj)) < 1600
    assert to_wgs84(*wgs, "WGS84") == wgs
