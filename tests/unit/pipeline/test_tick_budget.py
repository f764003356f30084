"""A tick sends at most MAX_SENT_PER_TICK records (it remembers them in one table value, which must stay
small); what is left is sent by the next ticks, and nothing due is skipped or sent twice."""

from collections import Counter
from datetime import timedelta

from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams import case_service
from tests.unit.pipeline.harness import InMemoryPipeline, as_input

REPORTS = GeneratorConfig(kind_shares={"PetitionComplaint": 0.8, "PatrolReport": 0.2, "DepartmentNotice": 0.0},
                          broken_share=0.0, duplicate_share=0.0)


def _backlog_of_overdue_cases() -> tuple[InMemoryPipeline, object]:
    pipeline = InMemoryPipeline()
    events = list(generate(seed=41, count=400, config=REPORTS))
    for event in events:
        pipeline.report(as_input(event))
    last = max(e.value["received_at"] for e in events)
    pipeline.tick(last)  # sets the cursor
    return pipeline, last + timedelta(days=45)


def _sla_signals(outputs) -> Counter:
    return Counter((o.key, o.value["kind"], o.value["milestone"]) for o in outputs if o.event_name == "SlaEvent")


def test_a_tick_with_more_due_than_its_budget_leaves_the_rest_to_the_next_ticks(monkeypatch):
    monkeypatch.setattr(case_service, "MAX_SENT_PER_TICK", 10**9)
    at_once, later = _backlog_of_overdue_cases()
    everything = at_once.cases.on_tick(later, at_once.state, 0, "all")
    monkeypatch.undo()
    assert len(everything.outputs) > 3 * case_service.MAX_SENT_PER_TICK  # the backlog is worth several ticks

    pipeline, later = _backlog_of_overdue_cases()
    sent, ticks = [], 0
    while True:
        handled = pipeline.cases.on_tick(later, pipeline.state, 0, f"tick-{ticks}")
        ticks += 1
        # a timer's signals come together, so a tick may end a little past its budget
        assert len(handled.sent) <= case_service.MAX_SENT_PER_TICK + 10
        if not handled.sent:
            break
        sent.extend(handled.outputs)
    assert ticks > 3
    assert _sla_signals(sent) == _sla_signals(everything.outputs)
    ids = [o.value["event_id"] for o in sent if o.event_name == "SlaEvent"]
    assert len(ids) == len(set(ids))  # each threshold of each case once
