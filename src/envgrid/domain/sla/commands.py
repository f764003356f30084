"""What the case lifecycle asks of the SLA clock: start, stop, pause or resume one milestone.

The case state machine emits these as effects; `envgrid.domain.sla.tracker` turns them into deadlines.
Kept apart from the state machine so that neither package imports the other's internals.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Milestone(StrEnum):
    """A timed step of a case. Which milestones apply depends on the channel's policy."""

    ACKNOWLEDGE = "acknowledge"          # respond / sign for the dispatched case
    ACCEPT_DECISION = "accept_decision"  # petitions only: decide whether to accept  # 是否受理
    RESOLVE = "resolve"                  # finish handling and give the result  # 办结


class SlaAction(StrEnum):
    START = "start"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    REASSIGN = "reassign"  # same clock, new handler or supervising grid (after escalation, joint start)
    EXTEND = "extend"      # an approved extension: `extension_units` more of the milestone's basis  # 延期


class PauseReason(StrEnum):
    TRANSFERRED = "transferred"                # waiting for re-routing after 移交移送
    AWAITING_EXTENSION = "awaiting_extension"  # waiting for an extension decision  # 延期审批


@dataclass(frozen=True, slots=True)
class SlaCommand:
    """Start/stop/pause/resume the clock of one milestone of one case.

    `handler_unit` is the department or grid that owns the deadline; `supervising_grid` is the upper grid
    that is told about warnings and breaches (the city grid itself when the handler is at L1).
    """

    action: SlaAction
    case_id: str
    milestone: Milestone
    at: datetime
    channel: str
    category: str
    handler_unit: str
    supervising_grid: str
    pause_reason: PauseReason | None = None
    extension_units: float = 0.0
