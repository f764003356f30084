"""SLA: time limits per channel and category, China's working-day calendar, timers and what they signal when due.

The schedule of due timers is the worker's (`envgrid.streams.due_minutes`): a table layout, not domain.
"""
from envgrid.domain.sla.calendar import CHINA_TZ, DayInfo, WorkingCalendar
from envgrid.domain.sla.clock import Clock, FixedClock, ManualClock
from envgrid.domain.sla.commands import Milestone, PauseReason, SlaAction, SlaCommand
from envgrid.domain.sla.policy import (
    Channel,
    SlaConfigError,
    SlaPolicies,
    SlaPolicy,
    load_sla_policies,
    parse_sla_policies,
)
from envgrid.domain.sla.timer import MilestoneTimer, SlaEscalation, SlaEvent, SlaEventKind, TimerState
from envgrid.domain.sla.tracker import ExtensionRejected, SlaTracker, TimerChange
from envgrid.domain.sla.worktime import Counted, Reckoned, TimeBasis, WorkTime

__all__ = [
    "CHINA_TZ", "Channel", "Clock", "Counted", "DayInfo", "ExtensionRejected", "FixedClock", "ManualClock", "Milestone",
    "MilestoneTimer", "PauseReason", "Reckoned", "SlaAction", "SlaCommand", "SlaConfigError", "SlaEscalation", "SlaEvent",
    "SlaEventKind", "SlaPolicies", "SlaPolicy", "SlaTracker", "TimeBasis", "TimerChange", "TimerState", "WorkTime",
    "WorkingCalendar", "load_sla_policies", "parse_sla_policies",
]
