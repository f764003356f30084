"""Re-deciding the in-memory pipeline's reports: under the versions in force at the time every recorded
decision comes back exactly; under another registry version the differences are counted, with examples."""

from __future__ import annotations

from envgrid.audit.redecide import ROUTE, latest, redecide
from envgrid.audit.timeline import build
from envgrid.domain.routing.context import load_routing_context
from tests.unit.audit.traffic import history, run


def _inputs() -> tuple[list, dict]:
    _, events = run()
    intake = {e.value["event_id"]: (e.kind, e.value) for e in events if e.value is not None and e.kind != "DepartmentNotice"}
    audits = [build(case_id, entries) for case_id, entries in history().items()]
    openings = [(a.case_id, a.source_event_id, a.decision) for a in audits if a.decision is not None]
    return openings, intake


def test_the_versions_in_force_reproduce_every_recorded_decision() -> None:
    openings, intake = _inputs()
    result = redecide("as recorded", load_routing_context(), openings, intake)
    assert result.decided == len(openings) > 50 and result.missing == []
    assert result.differences == []


def test_the_newest_versions_are_the_ones_in_force_for_this_traffic() -> None:
    openings, intake = _inputs()
    label, context = latest(load_routing_context())
    assert label == "registry wenzhou-2019 / rules wenzhou-rules-2016"
    assert redecide(label, context, openings, intake).differences == []


def test_another_registry_version_reports_what_would_route_differently() -> None:
    openings, intake = _inputs()
    label, context = latest(load_routing_context(), registry_version="wenzhou-2016")
    result = redecide(label, context, openings, intake)
    counts = result.counts()
    assert counts["registry_version"] == result.decided == len(openings)
    example = result.differences[0]
    assert example.recorded["registry_version"] == "wenzhou-2019"
    assert example.redecided is not None and example.redecided["registry_version"] == "wenzhou-2016"


def test_what_routes_differently_is_told_apart_from_provenance_and_shown_first() -> None:
    openings, intake = _inputs()
    _, context = latest(load_routing_context(), registry_version="wenzhou-2016")
    result = redecide("2016", context, openings, intake)
    assert all(ROUTE & set(d.fields) for d in result.rerouted)
    assert len(result.rerouted) < len(result.differences)  # most reports route alike, only the registry label differs
    shown = result.examples(len(result.differences))
    assert shown[: len(result.rerouted)] == result.rerouted


def test_a_report_not_found_is_counted_missing() -> None:
    openings, _ = _inputs()
    result = redecide("as recorded", load_routing_context(), openings[:3], {})
    assert result.decided == 0 and len(result.missing) == 3
