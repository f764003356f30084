"""Coordinate datums used by Chinese map apps, and conversion to WGS-84.

GCJ-02 (国测局坐标, Amap and Tencent) offsets WGS-84 by a published obfuscation polynomial; BD-09
(百度坐标, Baidu) adds a further rotation-like offset on top of GCJ-02. The forward formulas are the
widely published ones (e.g. the `eviltransform` and `coordtransform` projects); the inverses are solved
by fixed-point iteration, which converges to well under a centimetre in a few steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from functools import lru_cache


class Datum(str, Enum):
    """The datum a coordinate pair is expressed in."""

    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"


def to_wgs84(lon: float, lat: float, datum: Datum | str) -> tuple[float, float]:
    """(lon, lat) in `datum` converted to WGS-84."""
    datum = Datum(datum)
    if datum is Datum.WGS84:
        return lon, lat
    return _inverted(lon, lat, datum)


@lru_cache(maxsize=1024)  # a report's point is converted by the routing decision, then again for duplicates
def _inverted(lon: float, lat: float, datum: Datum) -> tuple[float, float]:
    if datum is Datum.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def from_wgs84(lon: float, lat: float, datum: Datum | str) -> tuple[float, float]:
    """WGS-84 (lon, lat) expressed in `datum`."""
    datum = Datum(datum)
    if datum is Datum.WGS84:
        return lon, lat
    gcj = wgs84_to_gcj02(lon, lat)
    return gcj if datum is Datum.GCJ02 else gcj02_to_bd09(*gcj)


_AXIS = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_ECCENTRICITY_SQUARED = 0.00669342162296594323
_BD_PI = math.pi * 3000.0 / 180.0
_INVERSE_ITERATIONS = 8
_INVERSE_TOLERANCE_DEGREES = 1e-8  # the correction is applied before stopping: final error ~1e-11°


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Apply the GCJ-02 offset (valid inside China; applied everywhere for determinism)."""
    d_lat, d_lon = _offsets(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _ECCENTRICITY_SQUARED * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_AXIS * (1 - _ECCENTRICITY_SQUARED)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_AXIS / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Invert GCJ-02 by iterating the forward formula."""
    return _invert(wgs84_to_gcj02, lon, lat, lon, lat)


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """Baidu's BD-09 from GCJ-02."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _BD_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Invert BD-09 by iterating the forward formula (the closed-form inverse is off by ~1 m)."""
    return _invert(gcj02_to_bd09, lon, lat, lon - 0.0065, lat - 0.006)


def _invert(
    forward: Callable[[float, float], tuple[float, float]], lon: float, lat: float, guess_lon: float, guess_lat: float
) -> tuple[float, float]:
    """The point whose `forward` image is (lon, lat): iterate guess -= forward(guess) - target."""
    for _ in range(_INVERSE_ITERATIONS):
        forward_lon, forward_lat = forward(guess_lon, guess_lat)
        error_lon, error_lat = forward_lon - lon, forward_lat - lat
        guess_lon -= error_lon
        guess_lat -= error_lat
        if abs(error_lon) < _INVERSE_TOLERANCE_DEGREES and abs(error_lat) < _INVERSE_TOLERANCE_DEGREES:
            break
    return guess_lon, guess_lat


def _offsets(x: float, y: float) -> tuple[float, float]:
    """The published GCJ-02 polynomials (latitude, longitude), sharing their common term."""
    pi = math.pi
    shared = (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    root = math.sqrt(abs(x))
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + shared
    d_lat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * pi) + 320 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + shared
    d_lon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    return d_lat, d_lon
