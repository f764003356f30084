"""Before a partition's first tick, the SLA clock is set by the timers stored: a timer stored later but
due earlier is not pushed back to the first one's minute (found while porting the SLA tests onto the
worker's scheduler: a hotline acknowledgement stored after a letter's timers waited for the letter's)."""

from __future__ import annotations

from datetime import timedelta

from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from tests.unit.pipeline.harness import SLA, InMemoryPipeline


def _complaint(number: int, channel: str, days: int) -> tuple:
    sample = sample_events()["PetitionComplaint"]
    at = sample["received_at"] + timedelta(days=days)
    return ("PetitionComplaint", dict(sample, event_id=f"00000000-0000-4000-e000-{number:012d}", channel=channel,
                                      occurred_at=at, received_at=at))


def test_a_timer_due_earlier_fires_on_time_though_stored_after_a_later_one_before_any_tick():
    pipeline = InMemoryPipeline()
    letter, hotline = _complaint(1, "LETTER", 0), _complaint(2, "HOTLINE_12345", 5)
    pipeline.report(letter)  # 60 working days: its first deadline instant is weeks away
    pipeline.report(hotline)  # acknowledge within 2 working hours, five days later (a Saturday: by Monday)
    hotline_case, letter_case = case_id_for(hotline[1]["event_id"]), case_id_for(letter[1]["event_id"])
    assert min(pipeline.state.timers.values(), key=lambda t: t.since).case_id == letter_case  # stored first
    pipeline.tick(hotline[1]["received_at"] + timedelta(days=3))  # Tuesday
    fired = [o.value for o in pipeline.on(SLA) if o.value["case_id"] == hotline_case]
    assert [(v["milestone"], v["kind"]) for v in fired if v["kind"] == "BREACH"] == [("acknowledge", "BREACH")]
    assert not [o for o in pipeline.on(SLA) if o.value["case_id"] == letter_case]  # nothing of the letter yet


def test_the_first_tick_before_every_stored_timer_leaves_them_all_to_come():
    pipeline = InMemoryPipeline()
    hotline = _complaint(3, "HOTLINE_12345", 0)
    pipeline.report(hotline)
    pipeline.tick(hotline[1]["received_at"] - timedelta(days=2))  # the ticker's first tick, from before the report
    pipeline.report(_complaint(4, "HOTLINE_12345", -5))  # a report from five days before: due before the first tick
    pipeline.tick(hotline[1]["received_at"] + timedelta(days=1))
    breached = sorted(o.value["case_id"] for o in pipeline.on(SLA) if o.value["kind"] == "BREACH")
    assert breached == sorted([case_id_for(hotline[1]["event_id"]),
                               case_id_for(_complaint(4, "HOTLINE_12345", -5)[1]["event_id"])])
