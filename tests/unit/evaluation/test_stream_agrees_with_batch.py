"""Streaming and batch evaluation agree exactly over a realistic run: generated traffic through the in-memory
pipeline (the worker's composition), the simulated departments answering, the clock moved on so deadlines
fire. The stream folds the case desk's outputs in the order they were sent; the batch reads each topic in
turn, as a report reading case.history then case.sla from the broker does."""

from __future__ import annotations

import math

import pytest
from prometheus_client import REGISTRY

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.indicators import RATES, evaluate
from envgrid.evaluation.ledger import fold_all
from envgrid.evaluation.periods import Period
from envgrid.evaluation.stream import WINDOWS, EvaluationStream, exported
from tests.unit.pipeline.harness import HISTORY, SLA

WORKTIME = WorkTime()


@pytest.fixture(scope="module")
def run(answered_run):
    return answered_run


def test_the_run_has_what_the_indicators_judge(run):
    kinds = {value["kind"] for topic, value in run if topic == HISTORY}
    assert {"acknowledged", "resolved", "transferred", "escalated", "rated", "reopened"} <= kinds
    assert {value["kind"] for topic, value in run if topic == SLA} >= {"WARNING", "BREACH"}


def test_stream_and_batch_give_the_same_figures(run):
    stream = EvaluationStream(WORKTIME)
    for _topic, value in run:
        stream.on_record(value)
    batch = fold_all([v for t, v in run if t == HISTORY] + [v for t, v in run if t == SLA])
    assert batch.latest == stream.ledger.latest
    for text in ("2024", "2024-Q1", "2024-Q2", "2024-03", "2024-04"):
        period = Period.parse(text)
        expected = evaluate(batch, period, WORKTIME)
        assert expected, text
        assert evaluate(stream.ledger, period, WORKTIME) == expected, text
    assert sum(t.resolved for t in evaluate(batch, Period.parse("2024"), WORKTIME).values()) > 100


def test_the_gauges_show_the_batch_figures(run):
    stream = EvaluationStream(WORKTIME)
    for _topic, value in run:
        stream.on_record(value)
    batch = fold_all(v for _t, v in run)
    as_of = max(facts.created_at for facts in batch.cases.values() if facts.created_at)  # the traffic's last month
    stream.export(as_of)
    for window in WINDOWS:
        figures = evaluate(batch, Period.containing(as_of, window), WORKTIME, as_of)
        shown = [(unit, tally) for unit, tally in figures.items() if exported(unit)]
        assert shown, window
        for unit, tally in shown:
            labels = {"window": window, "unit_kind": unit.kind, "unit": unit.code}
            for rate in RATES:
                value = REGISTRY.get_sample_value("envgrid_evaluation_rate", {**labels, "indicator": rate})
                want = getattr(tally, rate)
                assert (math.isnan(value) if want is None else value == want), (unit, rate)
            assert REGISTRY.get_sample_value("envgrid_evaluation_count", {**labels, "indicator": "cases"}) == tally.cases


def test_the_stream_forgets_cases_no_window_counts(run):
    """After an export the stream keeps only the cases of the year it exported, and still shows the same
    year's figures as the batch."""
    stream = EvaluationStream(WORKTIME)
    for _topic, value in run:
        stream.on_record(value)
    batch = fold_all(v for _t, v in run)
    later = batch.latest.replace(year=batch.latest.year + 1, month=1, day=10)
    stream.export(later)
    assert stream.ledger.cases == {} and stream.ledger.sla == {}
    stream = EvaluationStream(WORKTIME)
    for _topic, value in run:
        stream.on_record(value)
    stream.export()
    assert len(stream.ledger.cases) == len(batch.cases)  # all of the traffic is in the year it exported
    assert evaluate(stream.ledger, Period.parse("2024"), WORKTIME) == evaluate(batch, Period.parse("2024"), WORKTIME)
