"""The pure, deterministic event generator: a seed and a config in, `GeneratedEvent`s out. No Kafka.

Everything random comes from one `random.Random(seed)`: event ids are UUIDs built from its bits, and
times run on a simulated clock (`config.start` plus exponential inter-arrival times, busier by day), so
the same seed and config always yield the same events.

    for event in EventGenerator(seed=7).take(1000): ...
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from envgrid.domain.case_ids import case_id_for
from envgrid.simulator import broken, reports
from envgrid.simulator.incidents import Incident, RecentIncidents
from envgrid.simulator.model import (
    DEPARTMENT_NOTICE,
    INVALID_AVRO,
    MISSING_FIELDS,
    OUTSIDE_CITY,
    PATROL_REPORT,
    PETITION_COMPLAINT,
    UNKNOWN_CATEGORY,
    GeneratedEvent,
    GeneratorConfig,
    RawBytesSpec,
    Truth,
)
from envgrid.simulator.notices import CaseBook
from envgrid.simulator.places import PlaceSampler, Spot, address_text
from envgrid.simulator.rand import Weighted, pick, randint
from envgrid.simulator.reference import (
    Geography,
    category_codes,
    fallback_member_id,
    grid_members,
    load_geography,
    patrol_categories,
    registry_set,
)
from envgrid.simulator.reports import LocationChoice

# Relative report volume by hour of day (local time): quiet at night, peaks mid-morning and evening.
# Version-4 UUID bits, as uuid.UUID(int=..., version=4) sets them.
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)

# Relative complaint volume by category (unknown codes weigh 1): dust, noise and smells dominate.
COMPLAINT_CATEGORY_WEIGHTS: dict[str, float] = {
    "construction_noise": 6.0, "construction_dust": 4.0, "air_pollution": 4.0, "water_pollution": 3.0,
    "garbage_burning": 2.0, "livestock_poultry_pollution": 1.5, "enterprise_discharge": 2.0,
    "solid_waste": 1.5, "agricultural_waste_burning": 1.0, "hazardous_waste": 0.5, "marine_pollution": 0.4,
    "forestry_damage": 0.4, "environmental_crime": 0.3, "noise_industrial": 2.0, "odor": 3.0,
    "illegal_sand_mining": 0.3, "catering_fumes": 3.0, "vehicle_emissions": 1.0, "medical_waste": 0.3,
    "fuel_vapor_recovery": 0.3,
}
_HOURLY = (0.25, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.4, 1.6, 1.6, 1.4,
           1.1, 1.2, 1.4, 1.4, 1.3, 1.2, 1.1, 1.2, 1.2, 1.0, 0.7, 0.4)


def generate(seed: int, count: int, config: GeneratorConfig | None = None) -> Iterator[GeneratedEvent]:
    """`count` events for `seed` (the same every time)."""
    return itertools.islice(EventGenerator(seed, config), count)


class EventGenerator:
    """An endless, deterministic stream of intake events for Wenzhou."""

    def __init__(self, seed: int, config: GeneratorConfig | None = None, geography: Geography | None = None) -> None:
        self.seed = seed
        self.config = config or GeneratorConfig()
        self.rng = random.Random(seed)
        self.geo = geography or load_geography()
        self.places = PlaceSampler(self.geo, self.rng)
        self.cases = CaseBook()
        self.categories = category_codes()
        self.patrol_categories = patrol_categories()
        self._registry = registry_set()
        self._chains: dict[tuple[str, str], tuple[str, ...]] = {}
        self._version = self._registry.at(self.config.start)
        self._members = grid_members()
        self._index = 0
        self._clock_ms = 0
        self._now = self.config.start
        self._recent = RecentIncidents(self.config.duplicate_window)
        cfg = self.config
        self._kinds = Weighted(cfg.kind_shares)
        self._channels = Weighted(cfg.channel_shares)
        self._datums = Weighted(cfg.datum_shares)
        self._broken_kinds = Weighted(cfg.broken_kind_shares)
        self._complaint_categories = Weighted([(c, COMPLAINT_CATEGORY_WEIGHTS.get(c, 1.0)) for c in self.categories])

    def __iter__(self) -> Iterator[GeneratedEvent]:
        while True:
            yield self.next_event()

    def take(self, count: int) -> list[GeneratedEvent]:
        return [self.next_event() for _ in range(count)]

    def next_event(self) -> GeneratedEvent:
        rng, cfg = self.rng, self.config
        now = self._tick()
        if rng.random() < cfg.broken_share:
            return self._broken(now)
        kind = self._kinds.draw(rng)
        if kind == DEPARTMENT_NOTICE:
            notice = self._notice(now)
            if notice is not None:
                return notice
            kind = PETITION_COMPLAINT
        if rng.random() < cfg.duplicate_share:
            duplicate = self._duplicate(now)
            if duplicate is not None:
                return duplicate
        return self._complaint(now) if kind == PETITION_COMPLAINT else self._patrol(now)

    # -- reports -------------------------------------------------------------------------------

    def _complaint(self, now: datetime, register: bool = True) -> GeneratedEvent:
        rng, cfg = self.rng, self.config
        event_id = self._uuid()
        channel = self._channels.draw(rng)
        category = self._complaint_categories.draw(rng)
        spot = self.places.incident_place()
        choice = self._location_choice(spot)
        value = reports.complaint_value(
            rng, event_id=event_id, index=self._index, now=now,
            occurred_at=now - reports.reported_at_lag(channel, rng), channel=channel, category=category,
            spot=spot, location=reports.location_value(spot, choice),
            anonymous=rng.random() < cfg.anonymous_share, key_entity=rng.random() < cfg.key_entity_share,
            suspected_crime=self._crime(category), cross_district=rng.random() < cfg.cross_district_share,
        )
        truth = self._report_truth(value, spot, choice, channel)
        if register:
            self._remember(value, spot, choice, channel, truth.case_id or "")
            self.cases.open_case(rng, truth.case_id or "", event_id, category, spot.district_code,
                                 spot.township_code, now, self._index)
        return GeneratedEvent(PETITION_COMPLAINT, event_id, value, None, truth)

    def _patrol(self, now: datetime, register: bool = True) -> GeneratedEvent:
        rng, cfg = self.rng, self.config
        event_id = self._uuid()
        spot = self.places.incident_place()
        at_village = spot.village_code in self.geo.villages and rng.random() < 0.8
        grid_code = spot.village_code if at_village else spot.township_code
        members = self._members.get(grid_code)
        reporter = pick(rng, members) if members else fallback_member_id(grid_code, randint(rng, 1, 3 if at_village else 5))
        category = reports.patrol_category(rng, self.categories, self.patrol_categories)
        with_coordinates = rng.random() < 0.9
        address, levels = (address_text(self.geo, spot, rng, patrol=True)
                           if not with_coordinates or rng.random() < 0.7 else (None, ()))
        choice = LocationChoice(with_coordinates, self._datum() if with_coordinates else "WGS84", address, levels)
        value = reports.patrol_value(
            rng, event_id=event_id, now=now, grid_code=grid_code, reporter_id=reporter, category=category,
            stoppable=category in self.patrol_categories,
            location=reports.location_value(spot, choice), key_entity=rng.random() < cfg.key_entity_share,
            suspected_crime=self._crime(category), cross_district=rng.random() < cfg.cross_district_share,
        )
        truth = self._report_truth(value, spot, choice, "PATROL")
        if register:
            self._remember(value, spot, choice, None, truth.case_id or "")
            if value["needs_escalation"]:
                self.cases.open_case(rng, truth.case_id or "", event_id, category, spot.district_code,
                                     spot.township_code, now, self._index)
        return GeneratedEvent(PATROL_REPORT, grid_code, value, None, truth)

    def _duplicate(self, now: datetime) -> GeneratedEvent | None:
        """A complaint repeating a recent incident: new id, same category, nearby, another person."""
        rng, cfg = self.rng, self.config
        original = self._recent.pick(rng, now)
        if original is None:
            return None
        channel = original.channel
        while channel == original.channel:
            channel = self._channels.draw(rng)
            if len(self._channels.items) == 1:
                break
        low, high = cfg.duplicate_jitter_m
        spot = self.places.jitter(original.spot, rng.uniform(low, high))
        if original.with_coordinates:
            choice = self._location_choice(spot, force_coordinates=True)
        else:
            address, levels = address_text(self.geo, spot, rng, levels=original.address_levels)
            choice = LocationChoice(False, "WGS84", address, levels)
        span_ms = max(0, int((now - original.occurred_at).total_seconds() * 1000))
        occurred_at = original.occurred_at + timedelta(milliseconds=rng.randrange(span_ms + 1))
        event_id = self._uuid()
        value = reports.complaint_value(
            rng, event_id=event_id, index=self._index, now=now, occurred_at=occurred_at, channel=channel,
            category=original.category, spot=spot, location=reports.location_value(spot, choice),
            anonymous=rng.random() < cfg.anonymous_share, key_entity=False,
            suspected_crime=self._crime(original.category), cross_district=False,
        )
        truth = replace(self._report_truth(value, spot, choice, channel),
                        duplicate_of=original.event_id, case_id=original.case_id)
        return GeneratedEvent(PETITION_COMPLAINT, event_id, value, None, truth)

    def _notice(self, now: datetime) -> GeneratedEvent | None:
        event_id = self._uuid()
        made = self.cases.next_notice(self.rng, event_id, now, self._index)
        if made is None:
            return None
        value, case = made
        truth = Truth(index=self._index, event_id=event_id, valid=True, expected_category=case.category,
                      district_code=case.district_code, township_code=case.township_code,
                      case_id=case.case_id, case_of=case.first_event_id, notice_kind=value["kind"])
        return GeneratedEvent(DEPARTMENT_NOTICE, case.case_id, value, None, truth)

    # -- broken input --------------------------------------------------------------------------

    def _broken(self, now: datetime) -> GeneratedEvent:
        rng = self.rng
        reason = self._broken_kinds.draw(rng)
        if reason in (INVALID_AVRO, MISSING_FIELDS):
            kind = self._kinds.draw(rng)
            base = self._unregistered(kind, now)
            assert base.value is not None
            make = broken.invalid_avro if reason == INVALID_AVRO else broken.missing_fields
            spec: RawBytesSpec = make(rng, kind, base.value)
            truth = Truth(index=self._index, event_id=base.truth.event_id, valid=False, broken=reason)
            return GeneratedEvent(base.kind, base.key, None, spec, truth)
        base = self._unregistered(PETITION_COMPLAINT if rng.random() < 0.75 else PATROL_REPORT, now)
        value: dict[str, Any] = dict(base.value or {})
        if reason == UNKNOWN_CATEGORY:
            value["category"] = broken.unknown_category(rng)
            truth = replace(base.truth, valid=False, broken=reason, expected_category=None, case_id=None)
        else:
            lon, lat = broken.outside_point(rng)
            value["location"] = {"longitude": lon, "latitude": lat, "datum": "WGS84", "address": None}
            truth = Truth(index=self._index, event_id=base.truth.event_id, valid=False, broken=OUTSIDE_CITY,
                          expected_category=value["category"], datum="WGS84", has_coordinates=True)
        return GeneratedEvent(base.kind, base.key, value, None, truth)

    def _unregistered(self, kind: str, now: datetime) -> GeneratedEvent:
        """An event of `kind` that opens no case and that no later event repeats or acts on."""
        if kind == DEPARTMENT_NOTICE:
            event_id = self._uuid()
            case_id = case_id_for(self._uuid())
            value = {"event_id": event_id, "occurred_at": now, "received_at": now, "case_id": case_id,
                     "kind": "PROGRESS", "unit_kind": "DEPARTMENT", "unit_code": "epb", "message": "正在处理",
                     "reason": None, "suggested_department": None, "assisting_departments": [],
                     "resolution": None, "order": None, "extension_days": None, "rating": None}
            return GeneratedEvent(DEPARTMENT_NOTICE, case_id, value, None,
                                  Truth(index=self._index, event_id=event_id, valid=True))
        return self._complaint(now, register=False) if kind == PETITION_COMPLAINT else self._patrol(now, register=False)

    # -- helpers -------------------------------------------------------------------------------

    def _tick(self) -> datetime:
        """Advance the simulated clock by one inter-arrival time, shorter by day than at night."""
        self._index += 1
        rate = _HOURLY[self._now.hour] / self.config.mean_interarrival_s
        self._clock_ms += int(self.rng.expovariate(rate) * 1000)
        self._now = self.config.start + timedelta(milliseconds=self._clock_ms)
        return self._now

    def _uuid(self) -> str:
        """`str(uuid.UUID(int=rng.getrandbits(128), version=4))`, formatted directly (3× faster)."""
        bits = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _datum(self) -> str:
        return self._datums.draw(self.rng)

    def _crime(self, category: str) -> bool:
        share = self.config.suspected_crime_share
        return self.rng.random() < (share * 10 if category == "environmental_crime" else share)

    def _location_choice(self, spot: Spot, force_coordinates: bool = False) -> LocationChoice:
        rng, cfg = self.rng, self.config
        roll = rng.random()
        address_only = not force_coordinates and roll < cfg.address_only_share
        coordinates_only = cfg.address_only_share <= roll < cfg.address_only_share + cfg.coordinates_only_share
        if address_only:
            address, levels = address_text(self.geo, spot, rng)
            return LocationChoice(False, "WGS84", address, levels)
        address, levels = (None, ()) if coordinates_only else address_text(self.geo, spot, rng)
        return LocationChoice(True, self._datum(), address, levels)

    def _report_truth(self, value: dict[str, Any], spot: Spot, choice: LocationChoice, channel: str) -> Truth:
        event_id = value["event_id"]
        version = self._version
        if not version.in_force_at(value["occurred_at"]):
            version = self._version = self._registry.at(value["occurred_at"])
        leaf = spot.village_code if spot.village_code in self.geo.villages else spot.township_code
        chain = self._chains.get((version.id, leaf))
        if chain is None:
            chain = self._chains[(version.id, leaf)] = tuple(grid.code for grid in version.chain(leaf))
        return Truth(
            index=self._index, event_id=event_id, valid=True, expected_category=value["category"],
            grid_chain=chain, registry_version=version.id,
            district_code=spot.district_code, township_code=spot.township_code,
            village_code=spot.village_code if spot.village_code in self.geo.villages else None,
            placement=spot.placement, datum=choice.datum if choice.with_coordinates else None,
            has_coordinates=choice.with_coordinates, has_address=choice.address is not None,
            address_levels=choice.address_levels, channel=channel, case_id=case_id_for(event_id),
        )

    def _remember(self, value: dict[str, Any], spot: Spot, choice: LocationChoice, channel: str | None,
                  case_id: str) -> None:
        self._recent.add(Incident(value["event_id"], value["category"], spot, value["occurred_at"],
                                  value["received_at"], channel, choice.with_coordinates,
                                  choice.address_levels, case_id))
