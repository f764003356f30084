"""Complainant tokens and masks (envgrid.domain.privacy): stable per complainant within a key version,
different across versions and keys, and masks that never show a number whole."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envgrid.domain.privacy import (
    ComplainantIdentity,
    Pseudonymiser,
    PseudonymKey,
    canonical_form,
    mask_digit_runs,
    mask_digits,
    masked_phone,
)

KEY = PseudonymKey("k1", b"a" * 32)
SAME_KEY_NEXT_VERSION = PseudonymKey("k2", b"a" * 32)
OTHER_KEY_SAME_VERSION = PseudonymKey("k1", b"b" * 32)
CHEN = ComplainantIdentity("陈先生", "13912345678", None)


def _token(identity: ComplainantIdentity, key: PseudonymKey = KEY) -> str:
    pseudonym = Pseudonymiser(key).pseudonym(identity)
    assert pseudonym is not None
    return pseudonym.token


def test_the_same_complainant_gets_the_same_token_within_a_key_version() -> None:
    token = _token(CHEN)
    assert token.startswith("k1:") and len(token) == len("k1:") + 32
    # written another way, or with another name: the phone is who it is
    assert _token(ComplainantIdentity("陈", "+86 139-1234-5678", None)) == token
    assert _token(ComplainantIdentity(None, "１３９１２３４５６７８", "330302199001011234")) == token
    assert _token(ComplainantIdentity("李女士", "13912345679", None)) != token


def test_another_version_or_another_key_gives_other_tokens() -> None:
    token = _token(CHEN)
    assert _token(CHEN, SAME_KEY_NEXT_VERSION) != token
    assert _token(CHEN, SAME_KEY_NEXT_VERSION).split(":")[1] != token.split(":")[1]  # not just the prefix
    assert _token(CHEN, OTHER_KEY_SAME_VERSION) != token


def test_without_a_phone_the_id_number_then_the_name_identifies() -> None:
    assert canonical_form(ComplainantIdentity("陈 伟", None, "33030219900101123x")) == "id:33030219900101123X"
    assert canonical_form(ComplainantIdentity("陈 伟", None, None)) == "name:陈伟"
    assert canonical_form(ComplainantIdentity("陈伟", "", " ")) == "name:陈伟"
    by_id = _token(ComplainantIdentity("陈伟", None, "330302199001011234"))
    assert by_id == _token(ComplainantIdentity(None, None, "330302199001011234"))


def test_an_anonymous_complaint_has_no_pseudonym() -> None:
    pseudonymiser = Pseudonymiser(KEY)
    assert pseudonymiser.pseudonym(None) is None
    assert pseudonymiser.pseudonym(ComplainantIdentity(None, " ", "")) is None


def test_the_masked_contact_shows_the_first_3_and_last_4_digits() -> None:
    assert masked_phone("13912345678") == "139****5678"
    assert masked_phone("+86 139 1234 5678") == "139****5678"
    assert masked_phone("0577-88881234") == "057*****1234"
    assert masked_phone("8888123") == "*****23"  # too short to show 3 + 4: only the last two
    assert masked_phone(None) is None and masked_phone("n/a") is None
    assert Pseudonymiser(KEY).pseudonym(CHEN).contact == "139****5678"  # type: ignore[union-attr]
    assert Pseudonymiser(KEY).pseudonym(ComplainantIdentity("陈伟", None, None)).contact is None  # type: ignore[union-attr]


def test_free_text_loses_phone_and_id_numbers_but_keeps_short_numbers() -> None:
    text = "工地老板电话13912345678，身份证330302199001011234X？门牌解放街12号，2024年3月，电话139-1234-5678"
    masked = mask_digit_runs(text)
    assert "13912345678" not in masked and "139****5678" in masked
    assert "330302199001011234" not in masked
    assert "139-****-5678" in masked
    assert "解放街12号" in masked and "2024年3月" in masked
    assert mask_digit_runs("身份证33030219900101123X") == "身份证330***********123X"
    assert mask_digit_runs("电话１３９１２３４５６７８") == "电话１３９****５６７８"  # full-width digits too


@given(st.text(alphabet="0123456789", min_size=7, max_size=20), st.text(alphabet="街号路，。 ", max_size=5))
def test_no_run_of_seven_or_more_digits_survives_whole(digits: str, around: str) -> None:
    masked = mask_digit_runs(around + digits + around)
    assert digits not in masked
    assert sum(c == "*" for c in masked) >= min(len(digits) - 7, len(digits) - 2)


@given(st.text(alphabet="0123456789１２３٣", min_size=1, max_size=24), st.sampled_from(["-", " "]))
def test_a_run_shows_the_same_digits_with_or_without_separators(digits: str, separator: str) -> None:
    """The first 3 and last 4 digits of a run of 8 or more stay visible, else the last 2; separators between
    the digits change nothing (digits only take a shorter way through mask_digits than digits with spaces)."""
    masked = mask_digits(digits)
    head, tail = (3, 4) if len(digits) >= 8 else (0, min(2, len(digits)))
    assert masked == digits[:head] + "*" * (len(digits) - head - tail) + digits[len(digits) - tail:]
    assert mask_digits(separator.join(digits)).replace(separator, "") == masked


def test_a_key_shows_no_secret_and_refuses_weak_keys_and_odd_versions() -> None:
    assert "aaaa" not in repr(KEY) and "aaaa" not in repr(Pseudonymiser(KEY))
    with pytest.raises(ValueError, match="at least 32 bytes"):
        PseudonymKey("k1", b"short")
    with pytest.raises(ValueError, match="version"):
        PseudonymKey("k 1:", b"a" * 32)
