"""A burst of cases all due in the same minute: what the deadline schedule writes, and how long firing takes.

`python -m bench.sla_burst_bench [--cases 50000]`. The case desk runs in memory with recording tables: every
value written is encoded by the tables' codec (streams.state_codec, as in the worker) and its bytes summed
per table — what would go to the changelog topics. Baseline in the same run: the former layout, one value per minute rewritten whole on every
timer change (computed from the same schedule).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from envgrid.domain.sla.commands import Milestone, SlaAction, SlaCommand
from envgrid.streams.case_service import MAX_SENT_PER_TICK, CaseState
from envgrid.streams.composition import case_service
from envgrid.streams.state_codec import encode_state
from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER
from tests.unit.pipeline.recorded_traffic import StoredTable


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=50_000)
    cases = parser.parse_args(argv).cases
    service = case_service(CATALOGUE, TEST_PSEUDONYMISER)
    buckets = StoredTable()  # counts the encoded bytes of every value written (the table's changelog traffic)
    state = CaseState({}, {}, buckets, {})
    start = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)  # 09:00 in Wenzhou, a Tuesday
    t0 = time.perf_counter()
    for number in range(cases):
        command = SlaCommand(SlaAction.START, f"WZ-{number:016X}", Milestone.ACKNOWLEDGE, start, "hotline_12345",
                             "construction_dust", "housing", "330302")
        change = service.tracker.on_command(None, command)
        key = f"{command.case_id}|{command.milestone.value}"
        service._store_timer(key, change, state, 0)
    scheduled_s = time.perf_counter() - t0
    per_change = buckets.bytes / cases
    minutes = Counter(k.rsplit(":", 1)[0] for k in buckets.data if not k.endswith((":n", ":done")))
    biggest = max(minutes.values())
    # the former layout: one dict per minute, rewritten whole (all entries so far) on every change
    entry = len(encode_state({"WZ-0000000000000000|acknowledge": 1})) - len(encode_state({}))
    old_bytes = sum(entry * n * (n + 1) // 2 for n in minutes.values())
    buckets.bytes = buckets.writes = 0
    t0 = time.perf_counter()
    ticks, fired = 0, 0
    now = start + timedelta(days=3)
    service.on_tick(start, state, 0, "tick-0")
    while True:
        ticks += 1
        handled = service.on_tick(now, state, 0, f"tick-{ticks}")
        fired += len(handled.outputs)
        if not handled.outputs:
            break
    fire_s = time.perf_counter() - t0
    print(f"{cases:,} timers due in the same minutes ({len(minutes)} minute(s), up to {biggest:,} in one):")
    print(f"  schedule: {per_change:,.0f} changelog bytes per timer change "
          f"({scheduled_s:.2f} s for all); former layout {old_bytes / cases:,.0f} bytes per change "
          f"({old_bytes / max(1, per_change * cases):,.0f}× more)")
    print(f"  firing: {fired:,} SLA records in {ticks:,} ticks of at most {MAX_SENT_PER_TICK} records, "
          f"{fire_s:.1f} s ({fired / fire_s:,.0f} records/s in memory)")


if __name__ == "__main__":
    main()
