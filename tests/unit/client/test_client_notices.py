"""The answers a unit sends: complete DepartmentNotice records, refused before sending when the pipeline
would refuse them anyway."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from clientkit import CITY, EPB, LUCHENG, T0, book_of, copy, notice
from fastavro.validation import validate

from envgrid.client.errors import Reason, Refused
from envgrid.client.notices import AnswerDesk, check_record, notice_record
from envgrid.connectors.contracts import load_event
from envgrid.domain.departments import department_codes
from envgrid.domain.intake_contract import MAX_EXTENSION_DAYS

CASE = "WZ-0000000000000001"
AT = T0 + timedelta(hours=2)
LEAD_DESK = AnswerDesk(book_of(EPB, copy()), department_codes())
ASSISTING_DESK = AnswerDesk(book_of(EPB, copy(role="ASSISTING", lead="housing")), department_codes())
SCHEMA = load_event("DepartmentNotice").parsed


def refused(call, *args, **kwargs) -> Refused:
    with pytest.raises(Refused) as raised:
        call(*args, **kwargs)
    return raised.value


@pytest.mark.parametrize("answer, kind, fields", [
    (lambda d: d.acknowledge(CASE, "已签收", at=AT), "ACKNOWLEDGE", {"message": "已签收"}),
    (lambda d: d.progress(CASE, "已到现场", at=AT), "PROGRESS", {"message": "已到现场"}),
    (lambda d: d.transfer(CASE, "housing", "施工扬尘属住建", at=AT), "TRANSFER_REQUEST",
     {"reason": "施工扬尘属住建", "suggested_department": "housing"}),
    (lambda d: d.transfer(CASE, None, "不属本局", at=AT), "TRANSFER_REQUEST", {"suggested_department": None}),
    (lambda d: d.escalate(CASE, "跨区污染", at=AT), "ESCALATION_REQUEST", {"reason": "跨区污染"}),
    (lambda d: d.joint(CASE, ["housing", "epb", "housing", " urban-mgmt "], at=AT), "JOINT_ENFORCEMENT_REQUEST",
     {"assisting_departments": ["housing", "urban-mgmt"], "suggested_department": None}),
    (lambda d: d.result(CASE, "已责令停工整改", at=AT), "RESULT", {"resolution": "已责令停工整改"}),
    (lambda d: d.extension(CASE, 5, "需第三方检测", at=AT), "EXTENSION_REQUEST",
     {"extension_days": 5, "reason": "需第三方检测"}),
    (lambda d: d.close(CASE, "结案", at=AT), "CLOSE", {"message": "结案"}),
])
def test_each_answer_is_a_complete_notice_of_the_unit(answer, kind, fields):
    record = answer(LEAD_DESK)
    assert validate(record, SCHEMA, raise_errors=True)
    assert (record["kind"], record["case_id"], record["unit_kind"], record["unit_code"]) == (kind, CASE, "DEPARTMENT", "epb")
    assert record["occurred_at"] == record["received_at"] == AT
    assert uuid.UUID(record["event_id"]).version == 4
    assert {name: record[name] for name in fields} == fields


def test_an_event_id_may_be_given_and_ids_differ_otherwise():
    assert LEAD_DESK.acknowledge(CASE, at=AT, event_id="mine")["event_id"] == "mine"
    assert LEAD_DESK.acknowledge(CASE, at=AT)["event_id"] != LEAD_DESK.acknowledge(CASE, at=AT)["event_id"]


def test_an_unknown_or_closed_case_is_refused():
    assert refused(LEAD_DESK.acknowledge, "WZ-ffffffffffffffff", at=AT).reason is Reason.UNKNOWN_CASE
    desk = AnswerDesk(book_of(EPB, copy(), copy(revision=1, change="RELEASED")), department_codes())
    assert refused(desk.progress, CASE, "still on it", at=AT).reason is Reason.CASE_NOT_OPEN


def test_a_transfer_names_a_known_other_department_and_a_reason():
    error = refused(LEAD_DESK.transfer, CASE, "nobody", "不属本局", at=AT)
    assert error.reason is Reason.UNKNOWN_DEPARTMENT
    assert "'nobody': not a department code; known: dev-reform, econ-it" in str(error)
    assert refused(LEAD_DESK.transfer, CASE, "epb", "不属本局", at=AT).reason is Reason.TRANSFER_TO_ITSELF
    error = refused(LEAD_DESK.transfer, CASE, "housing", "  ", at=AT)
    assert error.reason is Reason.MISSING_TEXT and "a transfer needs a reason" in str(error)


def test_texts_the_domain_needs_may_not_be_empty():
    assert refused(LEAD_DESK.escalate, CASE, "", at=AT).reason is Reason.MISSING_TEXT
    assert refused(LEAD_DESK.result, CASE, " ", at=AT).reason is Reason.MISSING_TEXT
    assert refused(LEAD_DESK.extension, CASE, 3, "", at=AT).reason is Reason.MISSING_TEXT


def test_joint_enforcement_names_known_departments_besides_the_lead():
    error = refused(LEAD_DESK.joint, CASE, ["housing", "nobody", "void"], at=AT)
    assert error.reason is Reason.UNKNOWN_DEPARTMENT and "'nobody', 'void'" in str(error)
    assert refused(LEAD_DESK.joint, CASE, [], at=AT).reason is Reason.NO_PARTNERS
    error = refused(LEAD_DESK.joint, CASE, ["epb"], at=AT)
    assert error.reason is Reason.NO_PARTNERS and "besides the lead epb" in str(error)


@pytest.mark.parametrize("days", [0, -1, MAX_EXTENSION_DAYS + 1, 2.5, True, "5", None])
def test_an_extension_is_a_whole_number_of_days_within_the_bound(days):
    error = refused(LEAD_DESK.extension, CASE, days, "需检测", at=AT)
    assert error.reason is Reason.INVALID_EXTENSION and f"from 1 to {MAX_EXTENSION_DAYS}" in str(error)
    assert LEAD_DESK.extension(CASE, MAX_EXTENSION_DAYS, "需检测", at=AT)["extension_days"] == MAX_EXTENSION_DAYS


@pytest.mark.parametrize("answer", [
    lambda d: d.acknowledge(CASE, at=AT), lambda d: d.transfer(CASE, "housing", "不属本局", at=AT),
    lambda d: d.escalate(CASE, "跨区", at=AT), lambda d: d.joint(CASE, ["urban-mgmt"], at=AT),
    lambda d: d.extension(CASE, 3, "检测", at=AT), lambda d: d.close(CASE, at=AT),
])
def test_an_assisting_department_does_only_what_the_domain_lets_it(answer):
    error = refused(answer, ASSISTING_DESK)
    assert error.reason is Reason.NOT_FOR_ROLE
    assert "only its lead department may" in str(error) and "epb holds it as ASSISTING (lead: housing)" in str(error)


def test_an_assisting_department_reports_progress_and_its_result():
    assert ASSISTING_DESK.progress(CASE, "配合检查", at=AT)["kind"] == "PROGRESS"
    assert ASSISTING_DESK.result(CASE, "配合完成", at=AT)["kind"] == "RESULT"  # a joint task it cannot see may allow it


def test_a_grid_answers_as_the_handling_grid_under_it_and_never_transfers():
    township = "330302003"
    desk = AnswerDesk(book_of(LUCHENG, copy(unit="330302", role="OWNING_GRID", kind="GRID")), department_codes())
    record = desk.acknowledge(CASE, at=AT)
    assert (record["unit_kind"], record["unit_code"]) == ("GRID", township)  # the handling grid, under 330302
    assert desk.close(CASE, at=AT, unit="330302")["unit_code"] == "330302"  # above the handling level: may close
    error = refused(desk.acknowledge, CASE, at=AT, unit="330302")
    assert error.reason is Reason.NOT_FOR_ROLE and "only the handling grid 330302003" in str(error)
    assert refused(desk.transfer, CASE, "housing", "不属网格", at=AT).reason is Reason.NOT_FOR_ROLE
    error = refused(desk.progress, CASE, "x", at=AT, unit="330303")
    assert error.reason is Reason.NOT_THIS_UNIT and "speaks only for 330302 and the townships" in str(error)
    village = AnswerDesk(book_of(LUCHENG, copy(unit="330302", role="OWNING_GRID", kind="GRID", handling_level=3)),
                         department_codes())
    error = refused(village.escalate, CASE, "跨区", at=AT, unit="330302003001")  # below the handling level
    assert error.reason is Reason.NOT_FOR_ROLE and "at or above the handling grid 330302003" in str(error)
    grid_joint = AnswerDesk(book_of(LUCHENG, copy(unit="330302", role="HANDLING_GRID", kind="GRID", revision=2,
                                                  change="ASSIGNED", lead=None, handling_level=2)), department_codes())
    # the grid's copy shows no lead, but a lead named since then (without a copy to the grid) may lead: not refused
    assert grid_joint.joint(CASE, ["housing"], at=AT)["suggested_department"] is None
    record = grid_joint.joint(CASE, ["housing", "water"], lead="housing", at=AT)
    assert record["suggested_department"] == "housing" and record["assisting_departments"] == ["water"]


def test_the_city_grid_speaks_only_for_itself():
    desk = AnswerDesk(book_of(CITY, copy(unit="330300", role="HANDLING_GRID", kind="GRID", handling_level=1)),
                      department_codes())
    assert desk.acknowledge(CASE, at=AT)["unit_code"] == "330300"
    assert refused(desk.acknowledge, CASE, at=AT, unit="330302").reason is Reason.NOT_THIS_UNIT


def test_check_record_refuses_what_the_notice_gate_and_input_contract_refuse():
    good = notice("PROGRESS", message="x")
    check_record(good, EPB)
    assert refused(check_record, dict(good, unit_code="housing"), EPB).reason is Reason.NOT_THIS_UNIT
    assert refused(check_record, dict(good, unit_kind="GRID"), EPB).reason is Reason.NOT_THIS_UNIT
    error = refused(check_record, dict(good, message="长" * 9000), EPB)
    assert error.reason is Reason.INPUT_CONTRACT and "field_too_long" in str(error)
    error = refused(check_record, dict(good, occurred_at=datetime(2024, 5, 13, 9, 30)), EPB)
    assert error.reason is Reason.INPUT_CONTRACT and "timezone" in str(error)
    assert refused(check_record, dict(good, kind="UNKNOWN"), EPB).reason is Reason.INPUT_CONTRACT
    assert refused(LEAD_DESK.progress, CASE, "长" * 9000, at=AT).reason is Reason.INPUT_CONTRACT


def test_notice_record_defaults():
    record = notice_record("PROGRESS", CASE, "DEPARTMENT", "epb", at=AT)
    assert record["received_at"] == AT and record["assisting_departments"] == [] and record["message"] == ""
    assert validate(record, SCHEMA, raise_errors=True)
