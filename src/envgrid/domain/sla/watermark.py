"""How far the SLA clock may go: a watermark over the pipeline's inputs.  Pure: the times are passed in.

A deadline may be judged only once every input that could still meet it has been processed. An input
reaches the pipeline at most `allowed_lateness` after its event time (configuration), so when the
oldest input still waiting somewhere has event time `e`, every input yet to come has event time after
`e - allowed_lateness`; one not produced yet, after `now - allowed_lateness`. The clock may therefore
stand at `min(now, e...) - allowed_lateness`, and never goes back. An idle input (nothing waiting)
holds nothing back: the clock then follows `now`.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from envgrid.domain.sla.clock import require_aware


def watermark(now: datetime, waiting: Iterable[datetime], allowed_lateness: timedelta,
              previous: datetime | None = None, until: datetime | None = None) -> datetime:
    """The time the SLA clock may show: `now` held back by the oldest waiting input and the allowed
    lateness, never before `previous` (a clock does not go back) and never after `until` (a replay's or
    demo's end)."""
    require_aware(now, "now")
    oldest = min((require_aware(t, "waiting input time") for t in waiting), default=now)
    mark = min(now, oldest) - allowed_lateness
    if until is not None:
        mark = min(mark, until)
    return mark if previous is None else max(previous, mark)
