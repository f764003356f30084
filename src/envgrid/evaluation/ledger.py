"""The evaluation's state and its one fold: what case.history and case.sla have said about each case so far.

`fold(ledger, record)` takes one CaseLifecycleEvent or SlaEvent (as decoded from Avro, or read back from a
JSONL export) and updates the ledger. The batch report folds a list of records, the streaming exporter folds
them one by one as they arrive: both call this function, so their figures agree by construction.

The fold does not depend on the order records arrive in, nor on how often one arrives (at-least-once
delivery): for each case it keeps the snapshot of the highest revision (and, per milestone, the latest entry), unions
sets, and keys SLA events by their event id. History from before snapshots were recorded (entries without `case`) adds only returns.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RETURN_KINDS = frozenset({"transferred", "declined"})  # the lead sent the case back  # 回退 (移交移送, 不予受理)
RESPONSE_MILESTONES = ("acknowledge", "accept_decision")  # 签收 (hotline, patrol) / 受理 (petition)


@dataclass(slots=True)
class CaseFacts:
    """What is known of one case: its latest snapshot's facts and what earlier revisions said."""

    case_id: str
    revision: int = -1
    state: str = ""
    channel: str = ""
    category: str = ""
    grid_chain: tuple[str, ...] = ()
    created_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    lead: tuple[int, str] | None = None  # (revision, department) of the last revision that had a lead
    leads: set[str] = field(default_factory=set)  # every department that was ever lead
    deadlines: dict[str, tuple[int, datetime]] = field(default_factory=dict)  # milestone -> last known due time
    breach_flags: dict[str, tuple[int, bool]] = field(default_factory=dict)  # milestone -> its latest entry's flag
    returned_by: set[str] = field(default_factory=set)  # departments that transferred or declined it
    ratings: dict[str, tuple[int, str]] = field(default_factory=dict)  # complainant's report -> (revision, latest grade)
    reopened_at: set[int] = field(default_factory=set)  # revisions that reopened the case  # 重办

    @property
    def known(self) -> bool:
        return self.revision >= 0 and self.created_at is not None

    @property
    def last_lead(self) -> str | None:
        return self.lead[1] if self.lead else None

    def breached(self, standing_breaches: Iterable[str] = ()) -> set[str]:
        """Milestones whose whole limit ran out: flagged in the latest snapshot entry of the milestone (a
        calendar correction that withdraws a breach clears it there), or with a breach on case.sla that
        stands (an entry restarted for a new handler does not wipe the breach of the old one)."""
        return {m for m, (_revision, flag) in self.breach_flags.items() if flag} | set(standing_breaches)

    def grid_at(self, level: int) -> str | None:
        """The grid of level `level` (1 = city) in the case's chain, if the chain reaches that low."""
        if not 1 <= level <= len(self.grid_chain):
            return None
        return self.grid_chain[len(self.grid_chain) - level]


@dataclass(frozen=True, slots=True)
class SlaFact:
    case_id: str
    kind: str  # WARNING or BREACH
    milestone: str
    handler_unit: str
    occurred_at: datetime


@dataclass(slots=True)
class Ledger:
    cases: dict[str, CaseFacts] = field(default_factory=dict)
    sla: dict[str, SlaFact] = field(default_factory=dict)  # by event id
    withdrawn: set[str] = field(default_factory=set)  # event ids of warnings and breaches withdrawn since
    latest: datetime | None = None  # the latest event time folded: the default "as of" of the figures

    def case(self, case_id: str) -> CaseFacts:
        facts = self.cases.get(case_id)
        if facts is None:
            facts = self.cases[case_id] = CaseFacts(case_id)
        return facts

    def forget_before(self, moment: datetime) -> int:
        """Drop the cases opened before `moment`, and their SLA events: a long-running stream keeps only the
        cases its windows can still count. Returns how many cases were dropped."""
        old = {case_id for case_id, facts in self.cases.items()
               if facts.created_at is not None and facts.created_at < moment}
        for case_id in old:
            del self.cases[case_id]
        for event_id in [event_id for event_id, sla in self.sla.items() if sla.case_id in old]:
            del self.sla[event_id]
        return len(old)

    def sla_events(self) -> list[SlaFact]:
        """Warnings and breaches that stand (not withdrawn by a calendar change), in event-id order."""
        return [self.sla[event_id] for event_id in sorted(self.sla) if event_id not in self.withdrawn]


def fold(ledger: Ledger, record: Mapping[str, Any]) -> Ledger:
    """Add one CaseLifecycleEvent or SlaEvent record to the ledger (told apart by their fields)."""
    try:
        occurred = instant(record["occurred_at"])
        if ledger.latest is None or occurred > ledger.latest:
            ledger.latest = occurred
        if "milestone" in record and "fraction" in record:
            _fold_sla(ledger, record, occurred)
        else:
            _fold_history(ledger, record)
    except KeyError as missing:
        raise ValueError(f"record {record.get('event_id', '(no event_id)')}: no field {missing.args[0]!r}; "
                         f"give CaseLifecycleEvent (case.history) or SlaEvent (case.sla) records") from None
    return ledger


def fold_all(records: Iterable[Mapping[str, Any]], ledger: Ledger | None = None) -> Ledger:
    ledger = ledger if ledger is not None else Ledger()
    for record in records:
        fold(ledger, record)
    return ledger


def instant(value: Any) -> datetime:
    """An event time as decoded from Avro (aware datetime), JSON (ISO-8601 text) or raw (epoch ms)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1000, UTC)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value)
    else:
        raise ValueError(f"not a time: {value!r}")
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r} (records carry aware timestamps)")
    return moment


def _maybe_instant(value: Any) -> datetime | None:
    return None if value is None else instant(value)


def _fold_sla(ledger: Ledger, record: Mapping[str, Any], occurred: datetime) -> None:
    kind = str(record["kind"]).upper()
    event_id = str(record["event_id"])
    if kind == "WITHDRAWN":
        # "<warning or breach id>:withdrawn:<ms>": the id it withdraws is everything before ":withdrawn:"
        ledger.withdrawn.add(event_id.rsplit(":withdrawn:", 1)[0])
        return
    ledger.sla[event_id] = SlaFact(str(record["case_id"]), kind, str(record["milestone"]),
                                   str(record["handler_unit"]), occurred)


def _fold_rating(facts: CaseFacts, record: Mapping[str, Any], revision: int) -> None:
    """A complainant's rating (each complainant's latest counts), and the reopen a dissatisfied one caused."""
    kind, details = record.get("kind"), record.get("details") or {}
    if kind == "rated" and details.get("rater_report") and details.get("rating"):
        rater = str(details["rater_report"])
        if rater not in facts.ratings or revision > facts.ratings[rater][0]:
            facts.ratings[rater] = (revision, str(details["rating"]))
    elif kind == "reopened":
        facts.reopened_at.add(revision)


def _fold_history(ledger: Ledger, record: Mapping[str, Any]) -> None:
    facts = ledger.case(str(record["case_id"]))
    if record.get("kind") in RETURN_KINDS and record.get("actor_unit"):
        facts.returned_by.add(str(record["actor_unit"]))
    snapshot = record.get("case")
    revision = record.get("revision")
    if revision is not None:
        _fold_rating(facts, record, int(revision))
    if snapshot is None or revision is None:
        return
    revision = int(revision)
    lead = snapshot.get("lead_department")
    if lead:
        facts.leads.add(str(lead))
        if facts.lead is None or revision > facts.lead[0]:
            facts.lead = (revision, str(lead))
    for deadline in snapshot.get("deadlines") or ():
        milestone = str(deadline["milestone"])
        if milestone not in facts.breach_flags or revision > facts.breach_flags[milestone][0]:
            facts.breach_flags[milestone] = (revision, bool(deadline.get("breached")))
        due = _maybe_instant(deadline.get("deadline"))
        if due is not None and (milestone not in facts.deadlines or revision > facts.deadlines[milestone][0]):
            facts.deadlines[milestone] = (revision, due)
    if revision > facts.revision:
        facts.revision = revision
        facts.state = str(snapshot["state"])
        facts.channel = str(snapshot["channel"])
        facts.category = str(snapshot["category"])
        facts.grid_chain = tuple(str(grid) for grid in snapshot["grid_chain"])
        facts.created_at = instant(snapshot["created_at"])
        facts.acknowledged_at = _maybe_instant(snapshot.get("acknowledged_at"))
        facts.resolved_at = _maybe_instant(snapshot.get("resolved_at"))
        facts.closed_at = _maybe_instant(snapshot.get("closed_at"))
