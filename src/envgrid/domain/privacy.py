"""The complainant's identity (个人信息) stays in one place: what copies carry instead of it.

A department, grid or triage copy of a case never carries the complainant's name, phone number or
identity card number. It carries a **token**, a keyed pseudonym (化名), and, for the unit that has to call
back, a **masked contact** (`139****5678`). The identity itself goes only to a restricted topic.

Token: HMAC-SHA256 under a secret key over the key's version and a canonical form of the identity — the
phone's digits when there is a phone, else the identity card number, else the name — truncated to 128 bits
and prefixed with the key's version: `k2025:3f9a…`. So the same complainant gets the same token within a key version (a
department can see that one person complained five times without knowing who), a new key version starts
new tokens (rotation), and without the key a token cannot be turned back into a phone number (a plain hash
of an 11-digit number could be, by trying all of them). Limits of "same complainant": someone who gives a
phone once and only a name the next time gets two tokens; a complainant known only by a name shares the
token with everyone of that name.

Free text (a description, an address) may hold a phone or identity card number the complainant typed in:
`mask_digit_runs` masks every run of 7 or more digits (spaces and hyphens between digits allowed, an
identity card's final X included) the way the contact is masked.

Pure: the key is passed in (read once at the edge, `envgrid.connectors.pseudonym_key`); no I/O here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field

KEY_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_KEY_BYTES = 32  # 256 bits, the HMAC-SHA256 block's worth of secret
TOKEN_HEX_DIGITS = 32  # 128 bits of the HMAC: collisions negligible, tokens short enough to read
MIN_RUN_DIGITS = 7  # a digit run this long in free text may be a phone (landline 7–8, mobile 11) or an id
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")
_DIGIT_RUN = re.compile(r"\d(?:[ \-]?\d){" + str(MIN_RUN_DIGITS - 1) + r",}[Xx]?")


@dataclass(frozen=True)
class ComplainantIdentity:
    """Who complained, as the intake record says (schemas/types/ComplainantIdentity.avsc)."""

    name: str | None = None
    phone: str | None = None
    id_number: str | None = None

    @property
    def empty(self) -> bool:
        return not any(_present(v) for v in (self.name, self.phone, self.id_number))


@dataclass(frozen=True)
class PseudonymKey:
    """The HMAC key and its version. The secret is kept out of repr, so a log of a config shows no key."""

    version: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not KEY_VERSION_PATTERN.match(self.version):
            raise ValueError(f"pseudonym key version {self.version!r} must be 1–32 of A–Z, a–z, 0–9, _ and -")
        if len(self.secret) < MIN_KEY_BYTES:
            raise ValueError(f"a pseudonym key needs at least {MIN_KEY_BYTES} bytes, this one has {len(self.secret)}")


@dataclass(frozen=True)
class Pseudonym:
    """What a copy may carry about a complainant: the token and the masked contact (None without a phone)."""

    token: str
    key_version: str
    contact: str | None


class Pseudonymiser:
    """Tokens and masked contacts under one key."""

    def __init__(self, key: PseudonymKey) -> None:
        self._key = key

    @property
    def key_version(self) -> str:
        return self._key.version

    def pseudonym(self, identity: ComplainantIdentity | None) -> Pseudonym | None:
        """None for an anonymous complaint (no identity, or every field empty)."""
        if identity is None or identity.empty:
            return None
        digits = phone_digits(identity.phone)
        message = f"{self._key.version}\0{_canonical_form(identity, digits)}"  # the version too: new version, new tokens
        digest = hmac.digest(self._key.secret, message.encode("utf-8"), hashlib.sha256).hex()
        return Pseudonym(f"{self._key.version}:{digest[:TOKEN_HEX_DIGITS]}", self._key.version,
                         mask_digits(digits) if digits else None)

    def __repr__(self) -> str:
        return f"Pseudonymiser(key_version={self._key.version!r})"


def canonical_form(identity: ComplainantIdentity) -> str:
    """The one string a token is computed from: the phone's digits (without +86), else the identity card
    number (upper case), else the name (without spaces); widths and spaces normalised first."""
    return _canonical_form(identity, phone_digits(identity.phone))


def _canonical_form(identity: ComplainantIdentity, digits: str) -> str:
    if digits:
        return f"phone:{digits}"
    if _present(identity.id_number):
        return "id:" + "".join(_normalised(identity.id_number).split()).upper()
    return "name:" + "".join(_normalised(identity.name).split())


def phone_digits(phone: str | None) -> str:
    """The digits of a phone number, full-width ones included, without a +86 / 0086 country code."""
    if phone is None or phone.isascii():  # the usual case, fast: the only ASCII digits are 0-9
        digits = _NOT_ASCII_DIGIT.sub("", phone or "")
    else:
        digits = "".join(str(unicodedata.digit(c)) for c in phone if unicodedata.digit(c, None) is not None)
    for code in ("0086", "86"):
        if digits.startswith(code) and len(digits) == len(code) + 11 and digits[len(code)] == "1":
            return digits[len(code):]
    return digits


def masked_phone(phone: str | None) -> str | None:
    """`139****5678`: the first 3 and last 4 digits of the phone; None when there is no phone."""
    digits = phone_digits(phone)
    return mask_digits(digits) if digits else None


def mask_digits(run: str) -> str:
    """Mask the digits of one run: with 8 or more, all but the first 3 and the last 4 (an identity card's
    final X counts as its last digit); with fewer, all but the last 2, so a short number is never shown
    whole. Spaces and hyphens stay where they are."""
    if run.isdigit():  # digits only (a phone's digits): the hidden ones are one stretch
        head, tail = (3, 4) if len(run) >= 8 else (0, min(2, len(run)))
        return run[:head] + "*" * (len(run) - head - tail) + run[len(run) - tail:]
    positions = [i for i, c in enumerate(run) if c.isdigit() or c in "Xx"]
    head, tail = (3, 4) if len(positions) >= 8 else (0, min(2, len(positions)))
    hidden = set(positions[head:len(positions) - tail])
    return "".join("*" if i in hidden else c for i, c in enumerate(run))


def mask_digit_runs(text: str) -> str:
    """Free text with every phone-like or id-like digit run (7+ digits) masked by `mask_digits`."""
    return _DIGIT_RUN.sub(lambda match: mask_digits(match.group(0)), text)


def _present(value: str | None) -> bool:
    return bool(value and value.strip())


def _normalised(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "")
