"""A notice is accepted only from its own unit's topic (issue 9: the author is who logged in): through the
same gate the worker runs (`streams.notice_gate`, wired by `streams.composition`)."""

from __future__ import annotations

import pytest

from envgrid.connectors.catalogue import CatalogueError
from envgrid.streams.routing_service import Refused
from tests.unit.pipeline.harness import CATALOGUE, HISTORY, InMemoryPipeline
from tests.unit.pipeline.test_held_notices import _notice, _routed_but_not_opened

TOWNSHIP, DISTRICT, CITY = "330302031", "330302", "3303"  # the sample complaint's township and district


def _opened(pipeline: InMemoryPipeline) -> tuple[str, str, dict]:
    command, lead = _routed_but_not_opened(pipeline)
    pipeline.cases.on_command(command.event_name, command.value, pipeline.state, 0)
    return command.value["case_id"], lead, command.value


def test_a_notice_on_its_own_units_topic_is_applied():
    pipeline = InMemoryPipeline()
    case_id, lead, opened = _opened(pipeline)
    notice = _notice(case_id, lead, received_at=opened["dispatched_at"])
    handled = pipeline.notice_from(CATALOGUE.notice_topic("DEPARTMENT", lead), notice)
    assert not isinstance(handled, Refused) and handled.refused is None
    assert str(pipeline.state.files[case_id].case.state) == "acknowledged"


def test_a_notice_claiming_another_unit_is_refused_as_forged_and_the_case_is_unchanged():
    pipeline = InMemoryPipeline()
    case_id, lead, opened = _opened(pipeline)
    before, history = pipeline.state.files[case_id].case, len(pipeline.on(HISTORY))
    other = next(code for code in ("epb", "water", "transport") if code != lead)
    forged = _notice(case_id, lead, received_at=opened["dispatched_at"])  # claims the lead ...
    refused = pipeline.notice_from(CATALOGUE.notice_topic("DEPARTMENT", other), forged)  # ... from another's topic
    assert isinstance(refused, Refused) and refused.reason_code == "forged_unit"
    assert f"DEPARTMENT {other}" in refused.message and lead in refused.message
    assert pipeline.state.files[case_id].case == before and len(pipeline.on(HISTORY)) == history


@pytest.mark.parametrize(("topic_owner", "claimed", "accepted"), [
    (DISTRICT, DISTRICT, True),
    (DISTRICT, TOWNSHIP, True),  # a level-2 grid speaks for the townships and villages under it
    (DISTRICT, TOWNSHIP + "001", True),
    (DISTRICT, CITY, False),  # the city's code is in every chain: a district may not use it
    (DISTRICT, "330303", False),  # another district
    (CITY, CITY, True),
    (CITY, TOWNSHIP, False),  # the city speaks only for itself
])
def test_grid_topics_speak_for_their_own_grid_and_a_level2_grid_for_those_under_it(topic_owner, claimed, accepted):
    author = CATALOGUE.notice_author(CATALOGUE.notice_topic("GRID", topic_owner))
    assert author.covers(claimed) is accepted


def test_a_unit_finds_its_topic_and_a_unit_without_one_is_told():
    assert CATALOGUE.notice_topic("GRID", TOWNSHIP) == CATALOGUE.notice_topic("GRID", DISTRICT)
    assert CATALOGUE.notice_topic("GRID", CITY).endswith("notices.grid.3303")
    with pytest.raises(CatalogueError, match="no notice topic for DEPARTMENT 'nasa'"):
        CATALOGUE.notice_topic("DEPARTMENT", "nasa")
    with pytest.raises(CatalogueError, match="notices have a topic per unit"):
        CATALOGUE.intake("DepartmentNotice")


def test_a_department_notice_dressed_as_a_grid_is_refused():
    pipeline = InMemoryPipeline()
    case_id, lead, opened = _opened(pipeline)
    notice = dict(_notice(case_id, DISTRICT, received_at=opened["dispatched_at"]), unit_kind="DEPARTMENT")
    refused = pipeline.notice_from(CATALOGUE.notice_topic("GRID", DISTRICT), notice)
    assert isinstance(refused, Refused) and refused.reason_code == "forged_unit"
