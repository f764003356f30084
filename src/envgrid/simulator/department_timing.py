"""When simulated units act: response times per channel, nudged into office hours most of the time.

Figures follow config/sla.yaml loosely (hotline: sign within 2 working hours, resolve within 5 working
days; patrol: 4 working hours / 10 working days; petitions: 60 working days), so that most cases meet
their limits, some come close (warnings) and the late ones breach.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from envgrid.domain.registry.model import CHINA_TIME

# channel -> (min, max) hours from dispatch to acknowledge: within the limit mostly (hotline: 2 working hours,
# a few just past it by day; patrol: 4 working hours, all within; late and silent cases breach anyway)
_ACK_HOURS = {
    "HOTLINE_12345": (0.25, 2.2), "HOTLINE_12369": (0.25, 2.2), "PATROL": (0.2, 2.0),
    "WEB": (2.0, 24.0), "LETTER": (4.0, 72.0), "VISIT": (2.0, 48.0),
}
_DEFAULT_ACK = (1.0, 8.0)
# channel -> (usual min, usual max, late min, late max) calendar days from acknowledge to result
_RESOLVE_DAYS = {
    "HOTLINE_12345": (1, 5, 9, 16), "HOTLINE_12369": (1, 5, 9, 16), "PATROL": (1, 10, 16, 28),
    "WEB": (3, 40, 90, 120), "LETTER": (3, 40, 90, 120), "VISIT": (3, 40, 90, 120),
}
_DEFAULT_RESOLVE = (1, 10, 16, 28)
# channel -> most working days an extension may ask for (config/sla.yaml: hotline 5, petition 30)
_MAX_EXTENSION = {"HOTLINE_12345": 5, "HOTLINE_12369": 5, "PATROL": 10, "WEB": 30, "LETTER": 30, "VISIT": 30}
_OPEN, _CLOSE = time(8, 30), time(17, 30)
OFFICE_HOURS_SHARE = 0.85  # the rest act whenever (duty officers, evening patrols)
RECEIVED_LAG_SECONDS = (1, 30)  # from acting to the notice reaching the system


def ack_after(channel: str, rng: random.Random) -> timedelta:
    low, high = _ACK_HOURS.get(channel, _DEFAULT_ACK)
    return _seconds(rng.uniform(low, high) * 3600)


def resolve_days(channel: str) -> tuple[int, int, int, int]:
    """(usual min, usual max, late min, late max) calendar days from acknowledge to result."""
    return _RESOLVE_DAYS.get(channel, _DEFAULT_RESOLVE)


def result_after(channel: str, rng: random.Random, late: bool) -> timedelta:
    usual_low, usual_high, late_low, late_high = resolve_days(channel)
    low, high = (late_low, late_high) if late else (usual_low, usual_high)
    return _seconds(rng.uniform(low, high) * 86400)


def extension_days(channel: str, rng: random.Random) -> int:
    most = _MAX_EXTENSION.get(channel, 10)
    return rng.randint(max(1, most // 3), most)


def hours(rng: random.Random, low: float, high: float) -> timedelta:
    return _seconds(rng.uniform(low, high) * 3600)


def in_office(at: datetime, rng: random.Random) -> datetime:
    """`at`, or the next office morning when it falls at night or on a weekend (most of the time)."""
    if rng.random() >= OFFICE_HOURS_SHARE:
        return at
    local = at.astimezone(CHINA_TIME)
    day = local.date()
    if local.time() >= _CLOSE:
        day += timedelta(days=1)
    elif local.time() >= _OPEN and local.weekday() < 5:
        return at
    while day.weekday() >= 5:
        day += timedelta(days=1)
    start = datetime.combine(day, _OPEN, CHINA_TIME) + _seconds(rng.uniform(0, 5400))
    return max(at, start).astimezone(at.tzinfo)


def received_lag(rng: random.Random) -> timedelta:
    return timedelta(seconds=rng.randint(*RECEIVED_LAG_SECONDS))


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=max(60, round(value)))  # whole seconds: timestamp-millis round-trips them
