"""The changelog records a worker of state format 1 wrote (tests/fixtures/changelog/format-1, captured from a
real worker by tests/integration/changelog_fixture.py) still read as the tables' values. A refactor that
renames a field or a type the tables hold fails here first; the worker's recovery from the same records
is tests/integration/test_recovery_from_fixture.py."""

from __future__ import annotations

import json
from collections import Counter

from envgrid.domain.duplicates import IncidentIndex
from envgrid.domain.sla.timer import MilestoneTimer
from envgrid.streams.case_service import CaseFile
from envgrid.streams.held_notices import HeldNotice
from envgrid.streams.routing_service import Refused
from envgrid.streams.state_codec import decode_state
from tests.integration.changelog_fixture import TABLES, load_facts, load_records


def _latest() -> dict[tuple[str, str], object]:
    """table, key -> the value the table holds after the whole changelog (what recovery rebuilds)."""
    latest: dict[tuple[str, str], object] = {}
    for record in load_records():
        key = json.loads(record.key or b"null")
        if record.value is None:
            latest.pop((record.table, key), None)
        else:
            latest[(record.table, key)] = decode_state(record.value)
    return latest


def test_every_table_of_the_fixture_has_records_and_every_record_decodes():
    records = load_records()
    assert set(Counter(r.table for r in records)) == set(TABLES)
    for record in records:
        if record.value is not None:
            decode_state(record.value)


def test_the_fixture_decodes_to_the_types_and_facts_it_was_captured_with():
    facts, latest = load_facts(), _latest()
    cases = facts["cases"]
    file_a, file_b = latest[("case-files", cases["A"])], latest[("case-files", cases["B"])]
    assert isinstance(file_a, CaseFile) and isinstance(file_b, CaseFile)
    assert (file_a.case.version, file_b.case.version) == (facts["revisions"]["A"], facts["revisions"]["B"])
    assert str(file_a.case.state) == "acknowledged" and file_b.case.lead_department == facts["lead_after_transfer"]
    assert all(isinstance(v, MilestoneTimer) for (table, _), v in latest.items() if table == "sla-timers")
    assert any(isinstance(v, IncidentIndex) and len(v) for (table, _), v in latest.items() if table == "incidents")
    [held] = latest[("held-notices", cases["C"])]  # type: ignore[misc]
    assert isinstance(held, HeldNotice) and held.record["event_id"] == facts["held_notice"]
    refused = latest[("refused-notices", f"{facts['refused_notice']}#0")]
    assert isinstance(refused, Refused) and refused.reason_code == "not_assigned"
