"""The gauge of open SLA deadlines that rest on unofficial calendar data (alert: EnvgridDeadlinesOnUnofficialCalendar).

The case desk counts its open timers with `envgrid.domain.sla.retiming.unofficial_deadline_counts` and passes the
counts here; every unofficial basis is set each time, so a basis that dropped to zero reads zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Gauge

from envgrid.domain.sla.calendar import UNOFFICIAL_BASES, CalendarBasis

SLA_DEADLINES_ON_UNOFFICIAL_CALENDAR = Gauge(
    "envgrid_sla_deadlines_on_unofficial_calendar",
    "Open SLA deadlines counted over days without the State Council's published schedule, by basis: "
    "cn_provisional (estimate in config/calendar/), cn_statutory_rule (statutory holidays, no make-up "
    "workdays), weekday_fallback (Monday to Friday).",
    ["basis"],
)


def set_unofficial_deadlines(counts: Mapping[CalendarBasis, int]) -> None:
    """Set the gauge from counts per basis; bases missing from `counts` are set to zero."""
    for basis in UNOFFICIAL_BASES:
        SLA_DEADLINES_ON_UNOFFICIAL_CALENDAR.labels(basis=basis.value).set(counts.get(basis, 0))
