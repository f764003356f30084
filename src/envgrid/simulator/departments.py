"""How departments and grids answer dispatched cases: scripts of DepartmentNotice records, for demo and tests.

`respond(dispatched)` takes one CaseDispatched copy and returns the notices that copy's unit will send,
each with its delay after the dispatch. It is pure and deterministic: the same seed and copy give the
same notices, event ids included, so a replayed demo sends the same records.

One script per case revision. Every copy of a revision (lead, assisting, owning grid) computes the same
script from the routing decision (`case_script`) and sends only its share of it:

- the LEAD copy sends the main script (acknowledge → progress → result → close, or a transfer 移交移送, an
  escalation 上报, joint enforcement 联合执法, an enforcement order 停电停水, a late result, an extension
  request), and speaks for any unit that has no copy of its own (a joint-enforcement partner the router
  did not name as assisting; the domain accepts that unit's RESULT because the request gives it a task);
- an ASSISTING copy sends only its RESULT for a joint-enforcement task. The domain gives assisting units
  a task only when the lead asks for joint enforcement, after the assisting copy was dispatched, so the
  assisting unit cannot decide alone: it derives the lead's script and answers its part of it;
- an OWNING_GRID copy sends the grid's part: the decision on an extension request (only a grid at or
  above the handling level may decide), and, on a revision after an escalation or a grid take-over, the
  whole script of the handling grid (decision.grid_chain at handling_level): the grid acknowledges the
  case and its own members work it (progress, result, close), as the plan has each grid level do. After
  an escalation the case keeps its lead; after a take-over (transfer loop, too many transfers) it has
  none and the grid is its handler. Some grids that took a case over still organise joint enforcement
  after acknowledging it, naming a lead and a partner, speak for both (they had no copy), and close.
  A revision counts as "after an escalation" when its `source_event_id` is this module's escalation
  notice of the previous revision, and as "after a take-over" when the decision names no lead;
- TRIAGE copies get no answer: a person at the city grid office handles them.

The union of `respond` over all copies of a revision is `case_script`, a sequence the real case state
machine (`envgrid.domain.cases`) accepts in delay order (tests/unit/simulator/test_departments.py checks it).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from envgrid.domain.departments import department_codes, get_department
from envgrid.domain.registry.model import CHINA_TIME
from envgrid.simulator import department_copies as copies
from envgrid.simulator import department_texts as texts
from envgrid.simulator import department_timing as timing
from envgrid.simulator.rand import pick
from envgrid.simulator.reference import lead_departments

_NOTICE_NAMESPACE = uuid.UUID("6f1d3c2a-5e0b-4d7e-9a41-2c8e0b7f9d15")


@dataclass(frozen=True, slots=True)
class ResponseProfile:
    """Shares of case revisions per behaviour; the rest answer normally. Shares apply to the lead's script."""

    silent: float = 0.07  # never answer: SLA warnings and breaches
    transfer: float = 0.08  # "not ours" on revision 0
    retransfer: float = 0.01  # transfer again on revision 1 (exercises the domain's loop/bounce rule)
    escalate: float = 0.04  # acknowledge, then ask the upper grid
    joint: float = 0.06  # joint enforcement
    enforcement_order: float = 0.03  # an order such as 停电停水 before the result
    late: float = 0.05  # result after the usual resolve deadline
    extension: float = 0.02  # ask for more time; a grid decides
    extension_refused: float = 0.10  # of extension requests
    acknowledge_before_transfer: float = 0.30  # of transfers: sign first, then find it is not ours
    takeover_joint: float = 0.25  # of answered take-overs without lead: the grid still organises joint enforcement

    def __post_init__(self) -> None:
        shares = (self.silent, self.transfer, self.escalate, self.joint, self.enforcement_order, self.late, self.extension)
        if any(s < 0 for s in (*shares, self.retransfer, self.takeover_joint)) or sum(shares) > 1:
            raise ValueError(f"ResponseProfile shares must be non-negative and sum to at most 1, got {shares} "
                             f"(retransfer {self.retransfer}, takeover_joint {self.takeover_joint})")


DEFAULT_PROFILE = ResponseProfile()


class Behaviour(StrEnum):
    NONE = "none"  # a triage copy: nobody scripted answers
    SILENT = "silent"
    TRANSFER = "transfer"
    ESCALATE = "escalate"
    JOINT = "joint"
    ENFORCEMENT_ORDER = "enforcement_order"
    LATE = "late"
    EXTENSION = "extension"
    NORMAL = "normal"
    GRID_HANDLES = "grid_handles"  # after an escalation or a take-over: the handling grid acknowledges and works it
    GRID_COORDINATES = "grid_coordinates"  # after a take-over without lead: the grid acknowledges, then organises joint enforcement


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    delay: timedelta  # simulated time after the dispatch
    notice: dict[str, Any]  # a complete DepartmentNotice record


def respond(dispatched: dict[str, Any], *, seed: int = 0, profile: ResponseProfile = DEFAULT_PROFILE) -> list[PlannedNotice]:
    """The notices the unit of this CaseDispatched copy will send, in delay order."""
    target = dispatched["target"]
    if target["role"] == "TRIAGE" or target["kind"] == "TRIAGE":
        return []
    holders = copies.copy_holders(dispatched["decision"])
    return [p for p in case_script(dispatched, seed=seed, profile=profile)
            if copies.sender_of(p.notice, holders) == (target["kind"], target["code"])]


def case_script(dispatched: dict[str, Any], *, seed: int = 0, profile: ResponseProfile = DEFAULT_PROFILE) -> list[PlannedNotice]:
    """Every notice of this case revision, whichever copy sends it (the union of `respond` over all copies)."""
    behaviour = behaviour_of(dispatched, seed=seed, profile=profile)
    if behaviour in (Behaviour.NONE, Behaviour.SILENT):
        return []
    script = _Script(dispatched, _rng(seed, dispatched, "script"))
    if behaviour is Behaviour.GRID_HANDLES:
        script.grid_handles()
    elif behaviour is Behaviour.GRID_COORDINATES:
        script.grid_coordinates()
    else:
        script.lead_script(behaviour, profile)
    return script.planned


def behaviour_of(dispatched: dict[str, Any], *, seed: int = 0, profile: ResponseProfile = DEFAULT_PROFILE) -> Behaviour:
    """What this case revision does, the same for every copy of it."""
    decision, revision = dispatched["decision"], dispatched["revision"]
    if dispatched["target"]["role"] == "TRIAGE":
        return Behaviour.NONE
    roll = _rng(seed, dispatched, "behaviour").random()
    lead = decision.get("lead_department")
    if revision > 0 and (lead is None or dispatched.get("source_event_id") == _escalation_id(dispatched["case_id"], revision - 1, lead)):
        if roll < profile.silent:
            return Behaviour.SILENT
        if lead is None and _rng(seed, dispatched, "takeover").random() < profile.takeover_joint:
            return Behaviour.GRID_COORDINATES
        return Behaviour.GRID_HANDLES
    if lead is None:
        return Behaviour.NONE  # a triage decision: the city grid office handles it by hand
    transfer = profile.transfer if revision == 0 else profile.retransfer if revision == 1 else 0.0
    floor = 0.0
    for behaviour, share in ((Behaviour.SILENT, profile.silent), (Behaviour.TRANSFER, transfer),
                             (Behaviour.ESCALATE, profile.escalate), (Behaviour.JOINT, profile.joint),
                             (Behaviour.ENFORCEMENT_ORDER, profile.enforcement_order), (Behaviour.LATE, profile.late),
                             (Behaviour.EXTENSION, profile.extension)):
        floor += share
        if roll < floor:
            return behaviour
    return Behaviour.NORMAL


class _Script:
    """Builds one revision's notices in time order; each step is at least a minute after the previous one."""

    def __init__(self, dispatched: dict[str, Any], rng: random.Random) -> None:
        self.d = dispatched
        self.rng = rng
        self.decision = dispatched["decision"]
        self.lead: str | None = self.decision.get("lead_department")
        self.channel = dispatched["channel"]
        self.t0: datetime = dispatched["dispatched_at"]
        self.now = self.t0
        self.planned: list[PlannedNotice] = []

    def lead_script(self, behaviour: Behaviour, profile: ResponseProfile) -> None:
        assert self.lead is not None
        lead, rng = self.lead, self.rng
        if behaviour is Behaviour.TRANSFER:
            if rng.random() < profile.acknowledge_before_transfer:
                self.acknowledge(lead)
            self.transfer(lead)
            return
        self.acknowledge(lead)
        if behaviour is Behaviour.ESCALATE:
            if rng.random() < 0.5:
                self.emit("PROGRESS", lead, timing.hours(rng, 4, 72), message=texts.text(rng, texts.PROGRESS))
            reason = texts.text(rng, texts.ESCALATION_REASONS)
            self.emit("ESCALATION_REQUEST", lead, timing.hours(rng, 8, 96), step="escalation_request",
                      message=texts.text(rng, texts.ESCALATION_MESSAGE), reason=reason)
            return
        self.emit("PROGRESS", lead, timing.hours(rng, 2, 48), message=texts.text(rng, texts.PROGRESS))
        min_gap = timedelta(minutes=30)
        if behaviour is Behaviour.JOINT:
            self.joint(lead)
            return
        if behaviour is Behaviour.ENFORCEMENT_ORDER:
            self.emit("ENFORCEMENT_ORDER", lead, timing.hours(rng, 4, 72), message=texts.text(rng, texts.ORDER_MESSAGE),
                      order=texts.text(rng, texts.ORDERS))
            min_gap = timing.hours(rng, 24, 96)  # the order takes effect before the result
        if behaviour is Behaviour.EXTENSION:
            self.extension(lead, profile)
            min_gap = timing.hours(rng, 24, 120)
        if behaviour is Behaviour.LATE:
            self.emit("PROGRESS", lead, timing.hours(rng, 48, 120), message=texts.text(rng, texts.LATE_PROGRESS))
        self.result_and_close(lead, late=behaviour is Behaviour.LATE, unit_kind="DEPARTMENT", min_gap=min_gap)

    def grid_handles(self) -> None:
        grid = copies.grid_at(self.decision, self.decision["handling_level"])
        self.acknowledge(grid, "GRID")
        self.emit("PROGRESS", grid, timing.hours(self.rng, 4, 72), "GRID", message=texts.text(self.rng, texts.PROGRESS))
        self.result_and_close(grid, late=False, unit_kind="GRID")

    def grid_coordinates(self) -> None:
        """The grid takes the lead-less case on, then names a lead and a partner for a joint enforcement."""
        grid = copies.grid_at(self.decision, self.decision["handling_level"])
        self.acknowledge(grid, "GRID")
        lead = _plausible(self.d)[0]
        partners = (_transfer_target(self.d, lead, self.rng),)
        self.emit("JOINT_ENFORCEMENT_REQUEST", grid, timing.hours(self.rng, 4, 48), "GRID", message=texts.text(self.rng, texts.COORDINATE_MESSAGE),
                  suggested_department=lead, assisting_departments=list(partners))
        self.task_results_and_close((lead, *partners), closer=grid, closer_kind="GRID")

    def acknowledge(self, unit: str, unit_kind: str = "DEPARTMENT") -> None:
        at = timing.in_office(self.now + timing.ack_after(self.channel, self.rng), self.rng)
        self.emit("ACKNOWLEDGE", unit, at - self.now, unit_kind, message=texts.text(self.rng, texts.ACKNOWLEDGE))

    def transfer(self, lead: str) -> None:
        target = _transfer_target(self.d, lead, self.rng)
        reason = texts.text(self.rng, texts.TRANSFER_REASONS, get_department(target).name_zh)
        at = timing.in_office(self.now + timing.hours(self.rng, 1, 30), self.rng)
        self.emit("TRANSFER_REQUEST", lead, at - self.now, message=texts.text(self.rng, texts.TRANSFER_MESSAGE),
                  reason=reason, suggested_department=target)

    def joint(self, lead: str) -> None:
        partners = _joint_partners(self.d, lead, self.rng)
        self.emit("JOINT_ENFORCEMENT_REQUEST", lead, timing.hours(self.rng, 8, 72), message=texts.text(self.rng, texts.JOINT_MESSAGE),
                  assisting_departments=list(partners))
        self.task_results_and_close((lead, *partners), closer=lead, closer_kind="DEPARTMENT")

    def task_results_and_close(self, units: tuple[str, ...], closer: str, closer_kind: str) -> None:
        """Each unit with a task reports its RESULT (the last one resolves the case); then the closer closes it."""
        start, finished = self.now, []
        for index, unit in enumerate(units):
            self.now = start
            pool = texts.RESOLUTIONS if index == 0 else texts.TASK_RESOLUTIONS
            self.emit("RESULT", unit, timing.result_after(self.channel, self.rng, late=False), resolution=texts.text(self.rng, pool))
            finished.append(self.now)
        self.planned.sort(key=lambda p: p.delay)
        self.now = max(finished)
        self.emit("CLOSE", closer, timing.hours(self.rng, 2, 48), closer_kind, message=texts.text(self.rng, texts.CLOSE))

    def extension(self, lead: str, profile: ResponseProfile) -> None:
        days = timing.extension_days(self.channel, self.rng)
        self.emit("EXTENSION_REQUEST", lead, timing.hours(self.rng, 48, 96), message=texts.text(self.rng, texts.EXTENSION_MESSAGE),
                  reason=texts.text(self.rng, texts.EXTENSION_REASONS), extension_days=days)
        refused = self.rng.random() < profile.extension_refused
        grid = copies.grid_at(self.decision, min(2, self.decision["handling_level"]))
        self.emit("EXTENSION_DECISION", grid, timing.hours(self.rng, 2, 48), "GRID",
                  message=texts.text(self.rng, texts.EXTENSION_REFUSED if refused else texts.EXTENSION_GRANTED),
                  reason=None if refused else texts.text(self.rng, texts.EXTENSION_REASONS), extension_days=0 if refused else days)

    def result_and_close(self, unit: str, *, late: bool, unit_kind: str, min_gap: timedelta = timedelta(minutes=30)) -> None:
        since_ack = self.now - self.planned[0].delay - self.t0
        wait = timing.result_after(self.channel, self.rng, late) - since_ack
        self.emit("RESULT", unit, max(wait, min_gap), unit_kind, resolution=texts.text(self.rng, texts.RESOLUTIONS))
        self.emit("CLOSE", unit, timing.hours(self.rng, 2, 48), unit_kind, message=texts.text(self.rng, texts.CLOSE))

    def emit(self, kind: str, unit: str, after: timedelta, unit_kind: str = "DEPARTMENT", step: str | None = None, **fields: Any) -> None:
        self.now = self.now + max(after, timedelta(minutes=1))
        step = step or f"{len(self.planned)}:{kind.lower()}"
        record = {
            "event_id": _event_id(self.d["case_id"], self.d["revision"], step, unit),
            "occurred_at": self.now, "received_at": self.now + timing.received_lag(self.rng),
            "case_id": self.d["case_id"], "kind": kind, "unit_kind": unit_kind, "unit_code": unit,
            "message": "", "reason": None, "suggested_department": None, "assisting_departments": [],
            "resolution": None, "order": None, "extension_days": None, "rating": None,
        }
        record.update(fields)
        self.planned.append(PlannedNotice(self.now - self.t0, record))


def _plausible(dispatched: dict[str, Any]) -> tuple[str, ...]:
    """Departments the rules name for the category (lead first) on the dispatch day."""
    day: date = dispatched["dispatched_at"].astimezone(CHINA_TIME).date()
    return lead_departments(dispatched["category"], day)


def _transfer_target(dispatched: dict[str, Any], lead: str, rng: random.Random) -> str:
    candidates = [d for d in _plausible(dispatched) if d != lead] or [d for d in department_codes() if d != lead]
    return pick(rng, candidates)


def _joint_partners(dispatched: dict[str, Any], lead: str, rng: random.Random) -> tuple[str, ...]:
    named = [d for d in dispatched["decision"].get("assisting_departments") or () if d != lead]
    if named:
        return tuple(named)
    return (_transfer_target(dispatched, lead, rng),)


def _escalation_id(case_id: str, revision: int, lead: str) -> str:
    return _event_id(case_id, revision, "escalation_request", lead)


def _event_id(case_id: str, revision: int, step: str, unit: str) -> str:
    return str(uuid.uuid5(_NOTICE_NAMESPACE, f"{case_id}:r{revision}:{step}:{unit}"))


def _rng(seed: int, dispatched: dict[str, Any], purpose: str) -> random.Random:
    """Seeded by the case revision and its lead, so that every copy of a revision draws the same script."""
    lead = dispatched["decision"].get("lead_department") or "-"
    key = f"{seed}:{dispatched['case_id']}:{dispatched['revision']}:{lead}:{purpose}"
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
