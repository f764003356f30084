"""Hand-made history for the evaluation tests: a handful of cases whose indicators are worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from envgrid.domain.sla.calendar import CHINA_TZ

CHAIN = ["330302001001", "330302001", "330302", "3303"]  # L4 village … L1 city
OTHER_CHAIN = ["330381001", "330381", "3303"]            # a case that starts at L3 in another district


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def deadline(milestone, due, *, breached=False, clock="running", handler="epb"):
    return {"milestone": milestone, "clock": clock, "deadline": None if clock == "stopped" else at(due),
            "started_at": None, "handler_unit": handler, "policy_id": "hotline", "breached": breached,
            "calendar": "cn_official"}


def entry(case_id, revision, kind, when, state, *, lead=None, deadlines=(), actor=None, created=None,
          acknowledged=None, resolved=None, chain=CHAIN, channel="hotline_12345"):
    snapshot = {"state": state, "category": "noise", "channel": channel, "grid_chain": list(chain),
                "handling_level": len(chain), "handling_grid": chain[0], "supervising_grid": chain[1],
                "lead_department": lead, "assisting_departments": [], "open_tasks": [],
                "handler_unit": lead or chain[0], "reports": 1, "transfers": 0, "escalations": 0,
                "extension_pending": False, "created_at": at(created), "acknowledged_at": acknowledged and at(acknowledged),
                "resolved_at": resolved and at(resolved), "closed_at": None, "deadlines": list(deadlines)}
    return {"event_id": f"{case_id}:{revision}:{kind}", "case_id": case_id, "occurred_at": at(when), "kind": kind,
            "from_state": None, "to_state": state, "cause_event_id": f"cause-{case_id}-{revision}",
            "actor_unit": actor, "reason": kind, "details": {}, "revision": revision, "case": snapshot}


def sla(case_id, kind, milestone, when, handler="epb", fraction=1.0, withdrawn_at=None):
    event_id = f"{case_id}:{milestone}:{fraction}:1"
    if withdrawn_at:
        event_id += f":withdrawn:{withdrawn_at}"
    return {"event_id": event_id, "case_id": case_id, "occurred_at": at(when), "kind": kind, "milestone": milestone,
            "policy_id": "hotline", "fraction": fraction, "started_at": at(when) - timedelta(days=1),
            "deadline": at(when), "handler_unit": handler, "supervising_grid": "330302", "calendar": "cn_official",
            "calendar_version": None}


ACK_A, RES_A = "2027-03-01T11:00", "2027-03-08T23:59"
ACK_B, RES_B = "2027-03-02T11:00", "2027-03-09T23:59"


def history() -> list[dict]:
    """Six cases, five opened in 2027-Q1 (2027-03-01 is a Monday; March 2027 has no holiday):
    A  epb acknowledges and resolves in time (2.0 working days);
    B  epb acknowledges late (breach), and the case is still open past its resolve deadline on the 20th;
    C  urban-mgmt transfers it back (回退), epb then takes it, acknowledges and resolves in time (2.0 days);
    D  a letter that epb declines in time (不予受理): answered, not accepted, returned;
    F  housing's, opened on the 10th: nothing due yet on the 20th, so it is judged on nothing;
    E  opened in April: outside the quarter.
    """
    created = {"A": "2027-03-01T09:00", "B": "2027-03-02T09:00", "C": "2027-03-03T09:00",
               "D": "2027-03-04T09:00", "F": "2027-03-10T09:00", "E": "2027-04-01T09:00"}
    records = [
        entry("A", 0, "dispatched", created["A"], "dispatched", lead="epb", created=created["A"],
              deadlines=[deadline("acknowledge", ACK_A)]),
        entry("A", 1, "acknowledged", "2027-03-01T10:00", "acknowledged", lead="epb", created=created["A"],
              acknowledged="2027-03-01T10:00", deadlines=[deadline("acknowledge", None, clock="stopped"),
                                                          deadline("resolve", RES_A)]),
        entry("A", 2, "resolved", "2027-03-03T09:00", "resolved", lead="epb", created=created["A"],
              acknowledged="2027-03-01T10:00", resolved="2027-03-03T09:00"),
        entry("B", 0, "dispatched", created["B"], "dispatched", lead="epb", created=created["B"],
              deadlines=[deadline("acknowledge", ACK_B)]),
        entry("B", 1, "acknowledged", "2027-03-02T12:00", "acknowledged", lead="epb", created=created["B"],
              acknowledged="2027-03-02T12:00", deadlines=[deadline("acknowledge", None, clock="stopped", breached=True),
                                                          deadline("resolve", RES_B)]),
        entry("C", 0, "dispatched", created["C"], "dispatched", lead="urban-mgmt", created=created["C"],
              deadlines=[deadline("acknowledge", "2027-03-03T11:00", handler="urban-mgmt")]),
        entry("C", 1, "transferred", "2027-03-03T09:30", "transferred", actor="urban-mgmt", created=created["C"],
              deadlines=[deadline("acknowledge", "2027-03-03T11:00", clock="paused", handler="urban-mgmt")]),
        entry("C", 2, "rerouted", "2027-03-03T09:40", "dispatched", lead="epb", created=created["C"],
              deadlines=[deadline("acknowledge", "2027-03-03T11:10")]),
        entry("C", 3, "acknowledged", "2027-03-03T10:00", "acknowledged", lead="epb", created=created["C"],
              acknowledged="2027-03-03T10:00", deadlines=[deadline("resolve", "2027-03-10T23:59")]),
        entry("C", 4, "resolved", "2027-03-05T09:00", "resolved", lead="epb", created=created["C"],
              acknowledged="2027-03-03T10:00", resolved="2027-03-05T09:00"),
        entry("D", 0, "dispatched", created["D"], "dispatched", lead="epb", created=created["D"], channel="letter",
              deadlines=[deadline("accept_decision", "2027-03-25T23:59")]),
        entry("D", 1, "declined", "2027-03-05T09:00", "rejected", lead="epb", actor="epb", created=created["D"],
              channel="letter", deadlines=[deadline("accept_decision", None, clock="stopped")]),
        entry("F", 0, "dispatched", created["F"], "dispatched", lead="housing", created=created["F"],
              chain=OTHER_CHAIN, deadlines=[deadline("acknowledge", "2027-03-25T11:00", handler="housing")]),
        entry("E", 0, "dispatched", created["E"], "dispatched", lead="epb", created=created["E"],
              deadlines=[deadline("acknowledge", "2027-04-01T11:00")]),
        sla("B", "WARNING", "acknowledge", "2027-03-02T10:00", fraction=0.5),
        sla("B", "BREACH", "acknowledge", "2027-03-02T11:00"),
        sla("B", "BREACH", "resolve", "2027-03-09T23:59"),
        sla("A", "WARNING", "resolve", "2027-03-05T00:00", fraction=0.5),
        sla("A", "WITHDRAWN", "resolve", "2027-03-06T00:00", fraction=0.5, withdrawn_at=1),
    ]
    return records
