"""A recorded realistic run (`recorded_traffic`: the real router, every copy answered as the demo's departments
answer it, the notice gate, ticks) gets the same answers from the case desk however its state is kept, however
its deadlines are worked out, and however often an input comes.

The expectations do not depend on how the case desk keeps its state or its reckonings: the same desk answering
from tables whose every read is a fresh copy decoded from the written bytes (as from the worker's RocksDB
store), or working every deadline out afresh, must say exactly what it says from plain dicts; and any input
delivered twice must be answered the second time as the first, with no case changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from envgrid.domain.sla.calendar import WorkingCalendar
from envgrid.domain.sla.worktime import WorkTime
from envgrid.streams.case_service import CaseService, CaseState, Handled
from envgrid.streams.composition import case_service
from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER
from tests.unit.pipeline.recorded_traffic import Input, StoredTable, Traffic, handle, record_traffic


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return record_traffic(cases=40, seed=11, tick_every=timedelta(hours=2))


def _answer(traffic: Traffic, desk: CaseService, state: CaseState, item: Input) -> tuple[Any, ...]:
    event_name, record = traffic.codec.decode(item.value, item.topic)
    return _said(handle(desk, state, item.kind, event_name, record))


def _said(handled: Handled) -> tuple[Any, ...]:
    return ([(o.topic, o.key, o.event_name, o.value, o.headers) for o in handled.outputs], handled.refused,
            [held.refused for held in handled.dead_letters])


def _answers(traffic: Traffic, state: CaseState) -> list[tuple[Any, ...]]:
    desk = case_service(CATALOGUE, TEST_PSEUDONYMISER)
    return [_answer(traffic, desk, state, item) for item in traffic.inputs]


def _tables(**options: bool) -> CaseState:
    return CaseState(*(StoredTable(**options) for _ in range(6)))


def test_the_run_is_realistic(traffic):
    kinds = [item.kind for item in traffic.inputs]
    answers = _answers(traffic, _tables(encoding=False))
    events = {output[2] for said in answers for output in said[0]}
    assert traffic.opened >= 40 and kinds.count("notice") > 3 * traffic.opened
    assert events == {"CaseLifecycleEvent", "CaseFeedback", "CaseDispatched", "SlaEvent"}  # re-dispatches, breaches
    assert any(said[1] is not None for said in answers)  # and some refusals
    history = [output[3]["kind"] for said in answers for output in said[0] if output[2] == "CaseLifecycleEvent"]
    assert "rated" in history and "reopened" in history  # complainants' ratings, one dissatisfied in time


def test_a_store_that_decodes_every_read_gets_the_same_answers(traffic):
    assert _answers(traffic, _tables(reads_decoded=True)) == _answers(traffic, _tables(encoding=False))


def test_deadlines_worked_out_afresh_every_time_give_the_same_answers(traffic, monkeypatch):
    kept = _answers(traffic, _tables(encoding=False))
    monkeypatch.setattr(WorkTime, "advance", WorkTime._advance)
    monkeypatch.setattr(WorkingCalendar, "day", WorkingCalendar._look_up)
    assert _answers(traffic, _tables(encoding=False)) == kept


def test_every_input_delivered_again_gets_its_first_answer_and_changes_no_case(traffic):
    desk, state = case_service(CATALOGUE, TEST_PSEUDONYMISER), _tables(reads_decoded=True)
    for item in traffic.inputs:
        first = _answer(traffic, desk, state, item)
        cases = {case_id: file.case for case_id, file in state.files.items()}
        assert _answer(traffic, desk, state, item) == first, item
        assert {case_id: file.case for case_id, file in state.files.items()} == cases
