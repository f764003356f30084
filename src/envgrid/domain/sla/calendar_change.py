"""A published holiday schedule (one year's `CalendarVersion`) applied to open deadlines: what is in force
when, and what the case history and the SLA topic say about each deadline it moves.

Pure, like `envgrid.domain.sla.retiming` (which re-times one timer): the case desk keeps the publications it
applied, asks here which calendar was in force before and after, re-times each open timer, and records
what `explain` and `withdrawals` return.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from envgrid.domain.sla.calendar import CalendarHistory, CalendarVersion, DayInfo, WorkingCalendar
from envgrid.domain.sla.retiming import Retimed
from envgrid.domain.sla.timer import BREACH, MilestoneTimer, SlaEvent, SlaEventKind
from envgrid.domain.sla.worktime import WorkTime

# The year files a worker starts with count as in force since always: a publication replaces them.
SINCE_ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DAYS_LISTED = 12  # changed days named in one history entry; the rest are counted


@dataclass(frozen=True, slots=True)
class Publication:
    """One year's schedule as published (the CalendarPublished event): in force from `published_at`."""

    version: CalendarVersion
    published_at: datetime


def calendar_history(base: WorkingCalendar, applied: Iterable[Publication]) -> CalendarHistory:
    """The base calendar's year files, then every publication applied, each from its publication instant."""
    return CalendarHistory([*((SINCE_ALWAYS, version) for version in base.years.values()),
                            *((p.published_at, p.version) for p in applied)])


def in_force(applied: Sequence[Publication], year: int) -> str | None:
    """The id of the version of `year` published last, or None when none was published."""
    return next((p.version.id for p in reversed(applied) if p.version.year == year), None)


def switch(worktime: WorkTime, calendar: WorkingCalendar) -> WorkTime:
    """The same office periods over another calendar."""
    return WorkTime(calendar, worktime.office_periods)


def affected(retimed: Retimed) -> bool:
    """Whether the case history must say something: the deadline moved, a report was withdrawn or came
    due, or days already counted changed (kept as counted then)."""
    return bool(retimed.moved or retimed.withdrawn or retimed.signals or retimed.settled_changes)


def explain(retimed: Retimed, publication: Publication, calendar: WorkingCalendar) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The reason and details of the history entry of a re-timed deadline."""
    version, timer = publication.version, retimed.timer
    old = "none" if retimed.old_deadline is None else retimed.old_deadline.at.isoformat()
    new = "none" if retimed.new_deadline is None else retimed.new_deadline.at.isoformat()
    days = _days(retimed.changed_days)
    parts = [f"{version.year} holiday schedule {version.status} ({version.source.title}, {version.source.date}) "
             f"moves the {timer.milestone} deadline from {old} to {new}" + (f"; days changed: {days}" if days else "")]
    if retimed.withdrawn:
        parts.append("no longer due, withdrawn: " + ", ".join(_threshold(f) for f in retimed.withdrawn))
        if BREACH in retimed.withdrawn:
            parts.append("the escalation the breach caused stands")
    if retimed.newly_due:
        parts.append("now due: " + ", ".join(_threshold(f) for f in retimed.newly_due))
    if retimed.settled_changes:
        parts.append(f"days already counted keep their count: {_days(retimed.settled_changes)}")
    details = (
        ("calendar_version", version.id),
        ("calendar", calendar.version_id),
        ("calendar_basis", str(retimed.new_deadline.calendar_basis) if retimed.new_deadline else "none"),
        ("changed_days", days),
        ("withdrawn", ",".join(f"{f:g}" for f in retimed.withdrawn)),
        ("now_due", ",".join(f"{f:g}" for f in retimed.newly_due)),
    )
    return "; ".join(parts), tuple((k, v) for k, v in details if v)


def withdrawals(before: MilestoneTimer, retimed: Retimed, publication: Publication,
                calendar: WorkingCalendar) -> list[SlaEvent]:
    """One WITHDRAWN event per warning or breach no longer due, addressed like the event it withdraws."""
    deadline = retimed.new_deadline or retimed.old_deadline
    if deadline is None:
        return []
    return [SlaEvent(SlaEventKind.WITHDRAWN, before.case_id, before.milestone, fraction, publication.published_at,
                     deadline.at, before.handler_unit, before.supervising_grid, deadline.calendar_basis,
                     before.policy_id, before.started_at, calendar.version_id)
            for fraction in retimed.withdrawn]


def _threshold(fraction: float) -> str:
    return "breach" if fraction >= BREACH else f"warning at {fraction:.0%}"


def _days(days: Sequence[DayInfo]) -> str:
    named = [f"{d.day} {'workday' if d.is_workday else 'off'}" for d in days[:MAX_DAYS_LISTED]]
    more = len(days) - len(named)
    return ", ".join(named) + (f" and {more} more" if more > 0 else "")
