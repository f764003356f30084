"""What the generator yields and how it is configured.

`GeneratedEvent` is either a value dict (valid Avro, encoded by the connector with the registry schema) or
a `RawBytesSpec` (broken input the connector turns into bytes). `Truth` records what the event is for, so
that a test or a benchmark can account for every event the pipeline receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from envgrid.domain.duplicates import DuplicatePolicy

# Event kinds are the Avro record names: the codec encodes with `EventCodec.encode(kind, value, topic)`.
PETITION_COMPLAINT = "PetitionComplaint"
PATROL_REPORT = "PatrolReport"
DEPARTMENT_NOTICE = "DepartmentNotice"
EVENT_KINDS = (PETITION_COMPLAINT, PATROL_REPORT, DEPARTMENT_NOTICE)

# Broken-input reasons (truth.broken).
INVALID_AVRO = "invalid_avro"          # garbage bytes or a wrong magic byte
MISSING_FIELDS = "missing_fields"      # Confluent frame with a real schema id, truncated Avro body
UNKNOWN_CATEGORY = "unknown_category"  # valid Avro, category code not in the jurisdiction rules
OUTSIDE_CITY = "outside_city"          # valid Avro, coordinates far outside Wenzhou, no address text
BROKEN_KINDS = (INVALID_AVRO, MISSING_FIELDS, UNKNOWN_CATEGORY, OUTSIDE_CITY)

CHANNELS = ("HOTLINE_12345", "HOTLINE_12369", "WEB", "LETTER", "VISIT")
DATUMS = ("WGS84", "GCJ02", "BD09")
NOTICE_KINDS = (
    "ACKNOWLEDGE", "PROGRESS", "TRANSFER_REQUEST", "ESCALATION_REQUEST", "JOINT_ENFORCEMENT_REQUEST",
    "RESULT", "CLOSE", "ENFORCEMENT_ORDER", "EXTENSION_REQUEST",
)

DEFAULT_START = datetime(2024, 3, 4, 0, 0, tzinfo=timezone(timedelta(hours=8)))


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything the generator's output depends on, besides the seed.

    Shares: `broken_share` is of all events; `duplicate_share` is of reports (complaints and patrol
    reports); `kind_shares` split the remaining events; `datum_shares` apply to events with coordinates.
    """

    start: datetime = DEFAULT_START
    mean_interarrival_s: float = 20.0
    kind_shares: dict[str, float] = field(default_factory=lambda: {
        PETITION_COMPLAINT: 0.6, PATROL_REPORT: 0.18, DEPARTMENT_NOTICE: 0.22,
    })
    channel_shares: dict[str, float] = field(default_factory=lambda: {
        "HOTLINE_12345": 0.45, "HOTLINE_12369": 0.27, "WEB": 0.16, "LETTER": 0.04, "VISIT": 0.08,
    })
    datum_shares: dict[str, float] = field(default_factory=lambda: {"WGS84": 0.5, "GCJ02": 0.4, "BD09": 0.1})
    broken_share: float = 0.02
    broken_kind_shares: dict[str, float] = field(default_factory=lambda: {k: 0.25 for k in BROKEN_KINDS})
    duplicate_share: float = 0.05
    duplicate_window: timedelta = timedelta(hours=48)  # inside the pipeline's merge window (72 h)
    # Repeats are 30–140 m from the original: the merge radius is 150 m, and a datum round trip and 1e-6°
    # rounding must never push a repeat over it.
    duplicate_jitter_m: tuple[float, float] = (30.0, 140.0)
    address_only_share: float = 0.15
    coordinates_only_share: float = 0.12
    anonymous_share: float = 0.12
    key_entity_share: float = 0.04
    suspected_crime_share: float = 0.02
    cross_district_share: float = 0.02

    def __post_init__(self) -> None:
        for name in ("broken_share", "duplicate_share", "address_only_share", "coordinates_only_share",
                     "anonymous_share", "key_entity_share", "suspected_crime_share", "cross_district_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"GeneratorConfig.{name} must be within [0, 1], got {value}")
        if self.address_only_share + self.coordinates_only_share > 1.0:
            raise ValueError("address_only_share + coordinates_only_share must not exceed 1")
        if self.start.tzinfo is None:
            raise ValueError(f"GeneratorConfig.start must be timezone-aware, got {self.start.isoformat()}")
        if self.mean_interarrival_s <= 0:
            raise ValueError(f"mean_interarrival_s must be positive, got {self.mean_interarrival_s}")
        merge = DuplicatePolicy()
        if self.duplicate_window > merge.window:
            raise ValueError(f"duplicate_window {self.duplicate_window} exceeds the pipeline's merge window {merge.window}")
        low, high = self.duplicate_jitter_m
        if not 0 <= low <= high < merge.radius_m:
            raise ValueError(f"duplicate_jitter_m {self.duplicate_jitter_m} must lie within [0, {merge.radius_m}) m, "
                             "the pipeline's merge radius")
        for name, table, allowed in (("kind_shares", self.kind_shares, EVENT_KINDS),
                                     ("channel_shares", self.channel_shares, CHANNELS),
                                     ("datum_shares", self.datum_shares, DATUMS),
                                     ("broken_kind_shares", self.broken_kind_shares, BROKEN_KINDS)):
            unknown = sorted(set(table) - set(allowed))
            if unknown or not table or any(v < 0 for v in table.values()) or sum(table.values()) <= 0:
                raise ValueError(f"GeneratorConfig.{name} must weight some of {allowed}, got {table}")


@dataclass(frozen=True)
class RawBytesSpec:
    """Broken input the connector turns into bytes.

    `invalid_avro`: `payload` is the whole record value, as is. `missing_fields`: the connector encodes
    `value` as `event_name` with the registry schema id and keeps only the first `keep_fraction` of the
    Avro body after the 5-byte Confluent header, so that decoding runs out of bytes.
    """

    reason: str
    event_name: str
    payload: bytes | None = None
    value: dict[str, Any] | None = None
    keep_fraction: float = 0.5


@dataclass(slots=True)
class Truth:
    """What an event is for, for the accounting after the pipeline ran.

    Not frozen only because frozen dataclasses cost ~3 µs more per event; treat it as immutable.
    """

    index: int
    event_id: str
    valid: bool
    broken: str | None = None
    duplicate_of: str | None = None       # event id of the first report of the same incident
    expected_category: str | None = None
    district_code: str | None = None      # where the incident truly is
    township_code: str | None = None
    village_code: str | None = None
    grid_chain: tuple[str, ...] = ()      # true grid codes L4→L1 in the registry version in force then
    registry_version: str | None = None
    placement: str | None = None          # polygon the point was sampled in: "village", "township", "district"
    datum: str | None = None
    has_coordinates: bool = False
    has_address: bool = False
    address_levels: tuple[str, ...] = ()  # which of city/district/township/village the address text names
    channel: str | None = None
    case_id: str | None = None            # the case this report opens (original) or joins, or a notice acts on
    case_of: str | None = None            # for notices: event id of the report that opened the case
    notice_kind: str | None = None


@dataclass(slots=True)
class GeneratedEvent:
    """One event: `value` (valid Avro) or `raw` (broken bytes to build); treat it as immutable."""

    kind: Literal["PetitionComplaint", "PatrolReport", "DepartmentNotice"]
    key: str
    value: dict[str, Any] | None
    raw: RawBytesSpec | None
    truth: Truth
