"""An Open311 service request -> a PetitionComplaint record (信访投诉) and its event id. Pure: no clock, no I/O.

The reporter's name and phone go only into `complainant` (ComplainantIdentity), which the pipeline pseudonymises
before anything reaches a department. An email address has no field in the schema: it is checked and not kept.

Event ids: a client that sends a key (header `Idempotency-Key`, or the form field `idempotency_key`) gets
uuid5(partner name, key), so a retried submission carries the same event id and never opens a second case;
without a key every submission gets a new uuid4.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from envgrid.domain.geo.datums import Datum
from envgrid.domain.intake_contract import MAX_ID_CHARS, MAX_LIST_ITEM_CHARS

from .keys import Partner

#: namespace of deterministic event ids (uuid5 of "<partner>\n<client key>" in it)
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:envgrid:open311:service-request")
MAX_DESCRIPTION_CHARS = 4_000  # GeoReport v2: "may be limited to 4,000 characters"
#: how clients spell a datum -> the schema's symbol (CoordinateDatum); WGS-84 when none is given
DATUM_SPELLINGS = {"WGS84": Datum.WGS84, "WGS-84": Datum.WGS84, "GCJ02": Datum.GCJ02, "GCJ-02": Datum.GCJ02,
                   "BD09": Datum.BD09, "BD-09": Datum.BD09}

YesNo = Literal["true", "false"]
AS_SENT = StringConstraints(strip_whitespace=False)  # this field is not stripped, unlike the form's free text
T = TypeVar("T")
Opt: TypeAlias = T | SkipJsonSchema[None]  # optional: a form has no null (an absent field is None), so the schema shows none
DATUM_PATTERN = r"^(WGS-?84|GCJ-?02|BD-?09|wgs-?84|gcj-?02|bd-?09)$"


class ServiceRequestForm(BaseModel):
    """POST requests: the GeoReport v2 fields, the `datum` extension, and the service's attributes
    (`attribute[code]`). Unknown fields (device_id, account_id, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)

    api_key: Opt[Annotated[str, Field(max_length=256)]] = None
    # Fields with a length or pattern are taken as sent (AS_SENT, not stripped): what the published schema allows
    # must stay valid (" " is a service_code of one character, "06 " a phone number; stripped, they were not).
    service_code: Annotated[str, AS_SENT, Field(min_length=1, max_length=MAX_ID_CHARS)]
    lat: Opt[Annotated[float, Field(ge=-90, le=90)]] = None
    long: Opt[Annotated[float, Field(ge=-180, le=180)]] = None
    datum: str = Field(default="WGS-84", validate_default=True, json_schema_extra={"pattern": DATUM_PATTERN},
                       description="WGS-84 (default), GCJ-02 (Amap, Tencent) or BD-09 (Baidu)")
    address_string: Opt[Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)]] = None
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    # a URL in printable ASCII (non-ASCII percent-encoded): `\S` is not the same class in every regex engine, and
    # Schemathesis generated from the published pattern a URL with U+0085 that pydantic's engine refused
    media_url: Opt[Annotated[str, Field(max_length=MAX_LIST_ITEM_CHARS, pattern=r"^https?://[!-~]+$")]] = None
    first_name: Opt[Annotated[str, Field(max_length=64)]] = None
    last_name: Opt[Annotated[str, Field(max_length=64)]] = None
    phone: Opt[Annotated[str, AS_SENT, Field(max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{2,30}$")]] = None
    # U+0085 is whitespace to pydantic's engine, not to the ECMAScript `\s` of the schema's readers: named, so both agree
    email: Opt[Annotated[str, Field(max_length=254, pattern=r"^[^@\s\x85]+@[^@\s\x85]+\.[^@\s\x85]+$")]] = None
    idempotency_key: Opt[Annotated[str, AS_SENT, Field(min_length=1, max_length=MAX_ID_CHARS)]] = None
    key_entity: Opt[Annotated[str, Field(max_length=MAX_ID_CHARS)]] = Field(default=None, alias="attribute[key_entity]")
    suspected_crime: Opt[YesNo] = Field(default=None, alias="attribute[suspected_crime]")
    cross_district: Opt[YesNo] = Field(default=None, alias="attribute[cross_district]")
    severity: Opt[Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]] = Field(default=None, alias="attribute[severity]")

    @field_validator("datum")
    @classmethod
    def _known_datum(cls, value: str) -> str:
        if value.upper() not in DATUM_SPELLINGS:
            raise ValueError("datum must be WGS-84, GCJ-02 or BD-09")
        return DATUM_SPELLINGS[value.upper()].value

    def location_problem(self) -> str | None:
        """What the per-field rules (and so the OpenAPI schema) cannot say; checked after the api key."""
        if (self.lat is None) != (self.long is None):
            return "lat and long come together: give both or neither"
        if self.lat is None and not self.address_string:
            return "a location is required: lat and long, or address_string"
        return None


def event_id_for(partner: Partner, client_key: str | None) -> str:
    """uuid5 of the partner and the client's key; a fresh uuid4 without a key."""
    if client_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{partner.name}\n{client_key}"))


def submission_digest(form: ServiceRequestForm) -> str:
    """What a retry must repeat: every field the complaint is built from (not the key, nor the api key)."""
    text = form.model_dump_json(exclude={"api_key", "idempotency_key"})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def complaint_for(form: ServiceRequestForm, partner: Partner, event_id: str, now: datetime,
                  client_key: str | None) -> dict[str, Any]:
    """The PetitionComplaint record (schemas/PetitionComplaint.avsc) of a validated form; `now` is aware."""
    name = reporter_name(form.first_name, form.last_name)
    identity = None if name is None and form.phone is None else {"name": name, "phone": form.phone, "id_number": None}
    return {
        "event_id": event_id,
        "occurred_at": now,  # Open311 has no incident time: the complaint is about now
        "received_at": now,
        "channel": partner.channel,
        "channel_reference": client_key,
        "category": form.service_code,
        "severity": form.severity or "MEDIUM",
        "description": form.description,
        "location": {"longitude": form.long, "latitude": form.lat, "datum": form.datum,
                     "address": form.address_string or None},
        "complainant": identity,
        "key_entity": form.key_entity or None,
        "suspected_crime": form.suspected_crime == "true",
        "cross_district": form.cross_district == "true",
        "attachments": [form.media_url] if form.media_url else [],
    }


def reporter_name(first: str | None, last: str | None) -> str | None:
    """A Chinese name family name first without a space (张 + 三 = 张三); other names "first last"."""
    parts = [p for p in (first, last) if p]
    if not parts:
        return None
    if any(_is_cjk(c) for p in parts for c in p):
        return "".join(p for p in (last, first) if p)
    return " ".join(parts)


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"
