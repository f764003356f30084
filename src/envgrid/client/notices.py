"""A unit's answers to its cases: complete DepartmentNotice records, checked before they are sent. Pure: the
time is passed in, event ids are uuid4 unless given.

    desk = AnswerDesk(book, department_codes())
    desk.acknowledge("WZ-…", "已签收", at=now)                          # a DepartmentNotice record
    desk.transfer("WZ-…", to="housing", reason="施工扬尘属住建部门", at=now)
    desk.transfer("WZ-…", to="nobody", reason="…", at=now)  # Refused(unknown_department), naming the known codes

Each answer is refused here, with a message saying what to do, when the pipeline would refuse it anyway and
the unit can know it before sending:

- the case: unknown to the unit, or no longer open for it (released, or closed by the unit) — `CaseBook.case`;
- the unit: one the logged-in principal does not speak for (the notice gate would refuse it as `forged_unit`);
- the fields: an empty reason (transfer, escalation, extension) or resolution (result); a transfer to an
  unknown department or to the unit itself; joint enforcement naming an unknown department, or none besides
  the lead; an extension that is not a whole number of days from 1 to the input contract's bound; anything
  the input contract would dead-letter (a text too long, a time without a timezone);
- the role, where the case desk's rule depends only on what the unit's copies say
  (`envgrid.domain.cases.handlers`, `envgrid.domain.cases.transfer`): only the lead department or the handling
  grid acknowledges, organises joint enforcement or asks for an extension; only the lead department
  transfers (a grid never does); the lead department or a grid at or above the handling level escalates and
  closes; a grid reports a result only as the handling grid. A department reports a result and anyone with a
  part in the case reports progress whatever its role (a joint-enforcement task, which an assisting
  department's copy does not show, may allow a result).

What depends on the case's state (acknowledging twice, a result before the acknowledgement, closing before
the result) is left to the case desk, which sees the state: a unit's copies do not show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from envgrid.client.book import CaseBook, OpenCase, grids_at_or_above_handling, handling_grid
from envgrid.client.errors import Reason, Refused
from envgrid.domain.intake_contract import MAX_EXTENSION_DAYS, NoticeAuthor, check_author, check_notice
from envgrid.domain.intake_contract import Reason as ContractReason

#: the notice kinds a unit sends (the Avro symbols of NoticeKind but UNKNOWN, which the pipeline never applies)
KINDS = ("ACKNOWLEDGE", "PROGRESS", "TRANSFER_REQUEST", "ESCALATION_REQUEST", "JOINT_ENFORCEMENT_REQUEST", "RESULT",
         "CLOSE", "ENFORCEMENT_ORDER", "EXTENSION_REQUEST", "DECLINE", "EXTENSION_DECISION")

# Who may send a kind, as the case desk checks it. A department must be the lead for these:
_DEPARTMENT_LEAD_ONLY = {
    "ACKNOWLEDGE": "acknowledge it",  # handlers.acknowledge: lead department or handling grid
    "JOINT_ENFORCEMENT_REQUEST": "organise joint enforcement",  # handlers.joint_enforcement_request: the same
    "EXTENSION_REQUEST": "ask for an extension",  # handlers.extension_request: the same
    "TRANSFER_REQUEST": "transfer it",  # transfer.transfer_request: the lead department only
    "ESCALATION_REQUEST": "escalate it",  # transfer.escalation_request: lead department, or a grid at/above handling
    "CLOSE": "close it",  # handlers.close: the same
}
# A grid must be the handling grid for these (handlers._leads; a result: a grid never has a joint task) …
_GRID_HANDLING_ONLY = {"ACKNOWLEDGE": "acknowledge it", "JOINT_ENFORCEMENT_REQUEST": "organise joint enforcement",
                       "EXTENSION_REQUEST": "ask for an extension", "RESULT": "report its result"}
# … and at or above the handling level for these.
_GRID_AT_OR_ABOVE = {"ESCALATION_REQUEST": "escalate it", "CLOSE": "close it"}


class AnswerDesk:
    """Builds the answers of the unit(s) one principal speaks for to the cases in its book."""

    def __init__(self, book: CaseBook, departments: Collection[str]) -> None:
        self.book = book
        self.author = book.author
        self.departments = tuple(departments)

    def acknowledge(self, case_id: str, message: str = "", *, at: datetime, unit: str | None = None,
                    event_id: str | None = None) -> dict[str, Any]:
        """签收/受理: the lead department (or the handling grid) accepts the case."""
        acting = self._acting("ACKNOWLEDGE", case_id, unit)
        return self._record("ACKNOWLEDGE", case_id, acting, at, event_id, message=message)

    def progress(self, case_id: str, message: str, *, at: datetime, unit: str | None = None,
                 event_id: str | None = None) -> dict[str, Any]:
        """A progress note; the first one after the acknowledgement marks the case in progress."""
        acting = self._acting("PROGRESS", case_id, unit)
        return self._record("PROGRESS", case_id, acting, at, event_id, message=message)

    def transfer(self, case_id: str, to: str | None, reason: str, *, message: str = "", at: datetime,
                 event_id: str | None = None) -> dict[str, Any]:
        """移交移送: "not ours", with a reason and the department the unit believes is responsible (None: the
        pipeline picks the next one)."""
        acting = self._acting("TRANSFER_REQUEST", case_id, None)
        if to is not None:
            self._known_departments([to], f"case {case_id}: transfer to")
            if to == acting:
                raise Refused(Reason.TRANSFER_TO_ITSELF, f"case {case_id}: {to} cannot transfer a case to itself; name "
                                                         f"the department that is responsible (--to)")
        _need_text(reason, f"case {case_id}: a transfer needs a reason (why the case is not {acting}'s)")
        return self._record("TRANSFER_REQUEST", case_id, acting, at, event_id, message=message, reason=reason,
                            suggested_department=to)

    def escalate(self, case_id: str, reason: str, *, message: str = "", at: datetime, unit: str | None = None,
                 event_id: str | None = None) -> dict[str, Any]:
        """上报: hand the case to the upper grid, with a reason."""
        acting = self._acting("ESCALATION_REQUEST", case_id, unit)
        _need_text(reason, f"case {case_id}: an escalation needs a reason (why the upper grid must take it)")
        return self._record("ESCALATION_REQUEST", case_id, acting, at, event_id, message=message, reason=reason)

    def joint(self, case_id: str, departments: Sequence[str], *, lead: str | None = None, message: str = "",
              at: datetime, unit: str | None = None, event_id: str | None = None) -> dict[str, Any]:
        """联合执法: the lead (default: the case's lead, for a department itself) and the named departments each
        get a task; the case resolves when every task is done."""
        acting = self._acting("JOINT_ENFORCEMENT_REQUEST", case_id, unit)
        named = list(dict.fromkeys(code.strip() for code in departments if code.strip()))
        self._known_departments([*named, *([lead] if lead else [])], f"case {case_id}: joint enforcement with")
        leader = lead or (acting if self.author.unit_kind == "DEPARTMENT" else self.book.case(case_id).lead_department)
        partners = [code for code in named if code != leader]
        if not partners:
            raise Refused(Reason.NO_PARTNERS, f"case {case_id}: joint enforcement needs at least one department besides "
                                              f"the lead {leader or '(none named)'} (--with a,b)")
        return self._record("JOINT_ENFORCEMENT_REQUEST", case_id, acting, at, event_id, message=message,
                            suggested_department=lead, assisting_departments=partners)

    def result(self, case_id: str, resolution: str, *, message: str = "", at: datetime, unit: str | None = None,
               event_id: str | None = None) -> dict[str, Any]:
        """办结: what was done and found (a joint-enforcement task's result, or the case's)."""
        acting = self._acting("RESULT", case_id, unit)
        _need_text(resolution, f"case {case_id}: a result needs its resolution (what was done and found)")
        return self._record("RESULT", case_id, acting, at, event_id, message=message, resolution=resolution)

    def extension(self, case_id: str, days: int, reason: str, *, message: str = "", at: datetime,
                  unit: str | None = None, event_id: str | None = None) -> dict[str, Any]:
        """申请延期: more working days to resolve; the resolve clock pauses until a grid decides."""
        acting = self._acting("EXTENSION_REQUEST", case_id, unit)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
            raise Refused(Reason.INVALID_EXTENSION, f"case {case_id}: an extension of {days!r} days: ask for a whole "
                                                    f"number of working days from 1 to {MAX_EXTENSION_DAYS} (the SLA "
                                                    f"policy's own maximum is applied when a grid grants it)")
        _need_text(reason, f"case {case_id}: an extension request needs a reason")
        return self._record("EXTENSION_REQUEST", case_id, acting, at, event_id, message=message, reason=reason,
                            extension_days=days)

    def close(self, case_id: str, message: str = "", *, at: datetime, unit: str | None = None,
              event_id: str | None = None) -> dict[str, Any]:
        """结案: close a resolved case."""
        acting = self._acting("CLOSE", case_id, unit)
        return self._record("CLOSE", case_id, acting, at, event_id, message=message)

    # --- helpers ------------------------------------------------------------------------------------

    def _acting(self, kind: str, case_id: str, unit: str | None) -> str:
        """The unit that sends `kind` about an open case, checked against its role (see the module's doc)."""
        case = self.book.case(case_id)
        decision = max(self.book.entries(case_id), key=lambda c: c.revision).decision
        acting = self._acting_unit(case, decision, unit)
        _check_role(kind, case, decision, acting, self.author)
        return acting

    def _record(self, kind: str, case_id: str, unit: str, at: datetime, event_id: str | None,
                **fields: Any) -> dict[str, Any]:
        record = notice_record(kind, case_id, self.author.unit_kind, unit, at=at, event_id=event_id, **fields)
        check_record(record, self.author)
        return record

    def _acting_unit(self, case: OpenCase, decision: dict[str, Any], unit: str | None) -> str:
        """The unit a notice names: the department itself; for a grid, the unit given, else the handling grid
        when it is one the grid speaks for (a township or village under it), else the grid holding the case."""
        if unit is not None:
            if not self.author.covers(unit):
                raise Refused(Reason.NOT_THIS_UNIT, _not_this_unit(self.author, unit))
            return unit
        if self.author.unit_kind == "DEPARTMENT":
            return self.author.code
        handling = handling_grid(decision)
        return handling if handling is not None and self.author.covers(handling) else case.unit

    def _known_departments(self, codes: Sequence[str], what: str) -> None:
        unknown = [code for code in codes if code not in self.departments]
        if unknown:
            raise Refused(Reason.UNKNOWN_DEPARTMENT, f"{what} {', '.join(repr(c) for c in unknown)}: not a department "
                                                     f"code; known: {', '.join(self.departments)} (config/departments.yaml)")


def notice_record(kind: str, case_id: str, unit_kind: str, unit_code: str, *, at: datetime,
                  received_at: datetime | None = None, event_id: str | None = None, message: str = "",
                  reason: str | None = None, suggested_department: str | None = None,
                  assisting_departments: Sequence[str] = (), resolution: str | None = None, order: str | None = None,
                  extension_days: int | None = None) -> dict[str, Any]:
    """A complete DepartmentNotice record (schemas/DepartmentNotice.avsc); `received_at` defaults to `at`."""
    return {
        "event_id": event_id or str(uuid.uuid4()), "occurred_at": at,
        "received_at": received_at if received_at is not None else at, "case_id": case_id, "kind": kind,
        "unit_kind": unit_kind, "unit_code": unit_code, "message": message, "reason": reason,
        "suggested_department": suggested_department, "assisting_departments": list(assisting_departments),
        "resolution": resolution, "order": order, "extension_days": extension_days, "rating": None,
    }


def check_record(record: dict[str, Any], author: NoticeAuthor) -> None:
    """What the pipeline's notice gate checks of any notice, before a case is looked at: a kind it applies,
    the input contract, and a unit the topic's owner (`author`) speaks for. Refused otherwise."""
    if record.get("kind") not in KINDS:
        raise Refused(Reason.INPUT_CONTRACT, f"notice {record.get('event_id')}: kind {record.get('kind')!r} is not one "
                                             f"the case desk applies; kinds: {', '.join(KINDS)}")
    breach = check_notice(record) or check_author(record, author)
    if breach is None:
        return
    if breach.reason is ContractReason.FORGED_UNIT:
        raise Refused(Reason.NOT_THIS_UNIT, _not_this_unit(author, str(record.get("unit_code")), record.get("unit_kind")))
    raise Refused(Reason.INPUT_CONTRACT, f"{breach.message} (the pipeline would dead-letter it as {breach.reason.value})")


def _check_role(kind: str, case: OpenCase, decision: dict[str, Any], unit: str, author: NoticeAuthor) -> None:
    where = f"case {case.case_id}"
    if author.unit_kind == "DEPARTMENT":
        if kind in _DEPARTMENT_LEAD_ONLY and case.role != "LEAD":
            lead = decision.get("lead_department") or "none"
            raise Refused(Reason.NOT_FOR_ROLE, f"{where}: only its lead department may {_DEPARTMENT_LEAD_ONLY[kind]}; "
                                               f"{unit} holds it as {case.role} (lead: {lead}). The case desk would "
                                               f"refuse it (not_lead)")
        return
    if kind == "TRANSFER_REQUEST":
        raise Refused(Reason.NOT_FOR_ROLE, f"{where}: only the lead department can transfer a case; a grid escalates "
                                           f"it, organises joint enforcement or handles it itself")
    handling = handling_grid(decision)
    if kind in _GRID_HANDLING_ONLY and unit != handling:
        raise Refused(Reason.NOT_FOR_ROLE, f"{where}: only the handling grid {handling} (or the lead department) may "
                                           f"{_GRID_HANDLING_ONLY[kind]}, not grid {unit}; the case desk would refuse it")
    if kind in _GRID_AT_OR_ABOVE and unit not in grids_at_or_above_handling(decision):
        raise Refused(Reason.NOT_FOR_ROLE, f"{where}: only a grid at or above the handling grid {handling} (or the lead "
                                           f"department) may {_GRID_AT_OR_ABOVE[kind]}, not grid {unit}")


def _need_text(text: str | None, message: str) -> None:
    if not (text or "").strip():
        raise Refused(Reason.MISSING_TEXT, message)


def _not_this_unit(author: NoticeAuthor, unit: str, kind: Any = None) -> str:
    scope = " and the townships and villages under it" if author.covers_subgrids else ""
    claimed = f"{kind} {unit!r}" if kind else repr(unit)
    return (f"logged in as {author.unit_kind.lower()} {author.code}, which speaks only for {author.code}{scope}: a "
            f"notice as {claimed} would be refused as forged_unit; log in as that unit to answer for it")
