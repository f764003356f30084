"""Value dicts of petition complaints and patrol reports (Avro-ready: aware datetimes, enum symbols)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from envgrid.simulator import texts
from envgrid.simulator.places import Spot
from envgrid.simulator.rand import Weighted, pick
from envgrid.simulator.reference import from_wgs84

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
_SEVERITY = Weighted(dict(zip(SEVERITIES, (0.25, 0.5, 0.2, 0.05), strict=True)))
_SEVERITY_SERIOUS = Weighted(dict(zip(SEVERITIES, (0.05, 0.35, 0.4, 0.2), strict=True)))
SERIOUS_CATEGORIES = frozenset({"hazardous_waste", "environmental_crime", "enterprise_discharge", "marine_pollution",
                                "medical_waste"})
# Mean delay between the incident and the report reaching the channel, in hours.
_LAG_HOURS = {"HOTLINE_12345": 1.0, "HOTLINE_12369": 1.0, "WEB": 3.0, "LETTER": 96.0, "VISIT": 30.0}
_CHANNEL_TICKET = {"HOTLINE_12345": "12345-", "HOTLINE_12369": "12369-", "WEB": "WEB-", "LETTER": "XF-", "VISIT": "ZF-"}


@dataclass(slots=True)
class LocationChoice:
    """How a reporter describes the place: coordinates (in a datum) and/or address text."""

    with_coordinates: bool
    datum: str
    address: str | None
    address_levels: tuple[str, ...]


def location_value(spot: Spot, choice: LocationChoice) -> dict[str, Any]:
    """The Avro Location: the WGS-84 point expressed in the chosen datum, rounded like a phone app (1e-6°)."""
    if choice.with_coordinates:
        lon, lat = from_wgs84(spot.lon, spot.lat, choice.datum)
        lon, lat = round(lon, 6), round(lat, 6)
    else:
        lon = lat = None
    return {"longitude": lon, "latitude": lat, "datum": choice.datum, "address": choice.address}


def severity(category: str, rng: random.Random) -> str:
    return (_SEVERITY_SERIOUS if category in SERIOUS_CATEGORIES else _SEVERITY).draw(rng)


def reported_at_lag(channel: str, rng: random.Random) -> timedelta:
    """How long after the incident the report arrives, by channel (letters take days)."""
    return timedelta(milliseconds=int(rng.expovariate(1 / _LAG_HOURS.get(channel, 2.0)) * 3_600_000) + 60_000)


def evidence_refs(rng: random.Random, now: datetime, count: int) -> list[str]:
    if not count:
        return []
    day = _day_strings(now.toordinal())[1]
    return [f"evidence://{day}/{rng.getrandbits(64):016x}.{pick(rng, ('jpg', 'jpg', 'mp4', 'png'))}"
            for _ in range(count)]


def complaint_value(rng: random.Random, *, event_id: str, index: int, now: datetime, occurred_at: datetime,
                    channel: str, category: str, spot: Spot, location: dict[str, Any],
                    anonymous: bool, key_entity: bool, suspected_crime: bool,
                    cross_district: bool) -> dict[str, Any]:
    complainant = None
    if not anonymous:
        name = texts.person_name(rng) if rng.random() < 0.85 else None
        phone = texts.phone_number(rng) if channel != "LETTER" or rng.random() < 0.6 else None
        id_number = (texts.id_number(rng, now.year)
                     if channel in ("LETTER", "VISIT") and rng.random() < 0.5 else None)
        complainant = {"name": name, "phone": phone, "id_number": id_number}
    ticket = _CHANNEL_TICKET[channel]
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "received_at": now,
        "channel": channel,
        "channel_reference": f"{ticket}{_day_strings(now.toordinal())[0]}-{index:07d}" if rng.random() < 0.9 else None,
        "category": category,
        "severity": severity(category, rng),
        "description": texts.description(category, rng),
        "location": location,
        "complainant": complainant,
        "key_entity": texts.key_entity(rng) if key_entity else None,
        "suspected_crime": suspected_crime,
        "cross_district": cross_district,
        "attachments": evidence_refs(rng, now, pick(rng, (0, 0, 0, 1, 2, 3))),
    }


def patrol_category(rng: random.Random, categories: tuple[str, ...], l4: tuple[str, ...]) -> str:
    """Mostly the L4 duties (dust, noise, burning, livestock), sometimes anything else the rules know."""
    if l4 and rng.random() < 0.78:
        return pick(rng, l4)
    return pick(rng, categories)


def patrol_value(rng: random.Random, *, event_id: str, now: datetime, grid_code: str, reporter_id: str,
                 category: str, stoppable: bool, location: dict[str, Any], key_entity: bool,
                 suspected_crime: bool, cross_district: bool) -> dict[str, Any]:
    stopped = rng.random() < (0.55 if stoppable else 0.08)
    escalate = suspected_crime or rng.random() < (0.06 if stopped else 0.6)
    return {
        "event_id": event_id,
        "occurred_at": now - timedelta(milliseconds=int(rng.expovariate(1 / 900_000)) + 30_000),
        "received_at": now,
        "grid_code": grid_code,
        "reporter_id": reporter_id,
        "category": category,
        "severity": severity(category, rng),
        "description": texts.description(category, rng, patrol=True, stopped=stopped),
        "location": location,
        "stopped_on_site": stopped,
        "needs_escalation": escalate,
        "key_entity": texts.key_entity(rng) if key_entity else None,
        "suspected_crime": suspected_crime,
        "cross_district": cross_district,
        "evidence_refs": evidence_refs(rng, now, pick(rng, (1, 1, 2, 3))),
    }


@lru_cache(maxsize=64)
def _day_strings(ordinal: int) -> tuple[str, str]:
    """("20240304", "2024/03/04") for a day: formatting dates per event is measurably slow."""
    day = date.fromordinal(ordinal)
    return f"{day:%Y%m%d}", f"{day:%Y/%m/%d}"
