"""Case ids: one derivation shared by the pipeline and the simulator.

A case (案件) is opened by the first report (petition complaint or patrol report) about an incident;
duplicates merged into it later keep its id. The id is a pure function of that first report's event id,
so the simulator can address department notices to cases it caused without asking the pipeline, and a
replay of the intake topics yields the same ids.

Format: ``WZ-`` followed by the first 16 hex digits (64 bits, upper case) of SHA-256 over the UTF-8 event
id, e.g. ``WZ-3F2A9C1B0D4E5F6A``. 64 bits keep collisions negligible (≈ 3·10⁻⁸ for a million cases).
"""

from __future__ import annotations

import hashlib

CASE_ID_PREFIX = "WZ-"
CASE_ID_HEX_DIGITS = 16


def case_id_for(first_report_event_id: str) -> str:
    """Case id of the case opened by the report with this event id."""
    if not first_report_event_id:
        raise ValueError("case_id_for needs the first report's event id, got an empty string")
    digest = hashlib.sha256(first_report_event_id.encode("utf-8")).hexdigest()
    return CASE_ID_PREFIX + digest[:CASE_ID_HEX_DIGITS].upper()


def is_case_id(text: str) -> bool:
    """True when `text` has the shape `case_id_for` produces."""
    body = text[len(CASE_ID_PREFIX):]
    return (
        text.startswith(CASE_ID_PREFIX)
        and len(body) == CASE_ID_HEX_DIGITS
        and all(c in "0123456789ABCDEF" for c in body)
    )
