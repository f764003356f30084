"""Broken input: what a real intake topic receives now and then, each kind recorded in the truth.

`invalid_avro` and `missing_fields` are bytes the deserializer must refuse; `unknown_category` and
`outside_city` decode fine and must be refused later (validation, routing).
"""

from __future__ import annotations

import json
import random
from typing import Any

from envgrid.simulator.model import RawBytesSpec
from envgrid.simulator.rand import pick, randint
from envgrid.simulator.reference import category_codes

# Plausible codes a misconfigured intake system might send; filtered against the real rules.
_UNKNOWN_CATEGORIES = (
    "light_pollution", "radiation_leak", "odour_nuisance_v2", "pet_noise", "electromagnetic_radiation",
    "soil_contamination_legacy", "unclassified", "CONSTRUCTION_DUST", "噪声",
)
# WGS-84 points well outside Wenzhou: other cities, and open sea far off the coast.
OUTSIDE_POINTS = (
    (120.155, 30.274, "Hangzhou"), (121.549, 29.868, "Ningbo"), (121.474, 31.230, "Shanghai"),
    (119.296, 26.074, "Fuzhou"), (122.800, 27.300, "East China Sea"), (123.500, 26.500, "East China Sea"),
    (116.397, 39.908, "Beijing"), (0.0, 0.0, "null island"),
)


def unknown_category(rng: random.Random) -> str:
    known = set(category_codes())
    candidates = [code for code in _UNKNOWN_CATEGORIES if code not in known]
    return pick(rng, candidates) if candidates else f"uncategorised_{rng.randrange(1000)}"


def outside_point(rng: random.Random) -> tuple[float, float]:
    lon, lat, _ = pick(rng, OUTSIDE_POINTS)
    return round(lon + rng.uniform(-0.05, 0.05), 6), round(lat + rng.uniform(-0.05, 0.05), 6)


def invalid_avro(rng: random.Random, event_name: str, value: dict[str, Any]) -> RawBytesSpec:
    """Bytes that are not a Confluent-framed Avro record."""
    roll = rng.random()
    if roll < 0.35:  # random garbage with a non-zero first byte
        payload = bytes([rng.randrange(1, 256)]) + rng.randbytes(randint(rng, 4, 120))
    elif roll < 0.7:  # a producer that sent JSON instead of Avro
        payload = json.dumps(value, default=str, ensure_ascii=False).encode("utf-8")
    elif roll < 0.85:  # wrong magic byte in front of an otherwise plausible frame
        payload = bytes([pick(rng, (1, 2, 0x7F, 0xFF))]) + rng.randbytes(4) + rng.randbytes(randint(rng, 8, 80))
    else:  # too short to hold even the 5-byte header
        payload = bytes([0]) + rng.randbytes(randint(rng, 0, 3))
    return RawBytesSpec(reason="invalid_avro", event_name=event_name, payload=payload)


def missing_fields(rng: random.Random, event_name: str, value: dict[str, Any]) -> RawBytesSpec:
    """A real frame (registry schema id) whose Avro body stops early, so required fields are missing."""
    return RawBytesSpec(reason="missing_fields", event_name=event_name, value=value,
                        keep_fraction=round(rng.uniform(0.05, 0.6), 3))


def truncate_frame(frame: bytes, keep_fraction: float) -> bytes:
    """Keep the 5-byte Confluent header and the first `keep_fraction` of the body (at least one byte less)."""
    header, body = frame[:5], frame[5:]
    keep = min(len(body) - 1, max(0, int(len(body) * keep_fraction)))
    return header + body[:keep]
