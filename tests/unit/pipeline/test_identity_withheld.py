"""The complainant's identity stays in one place (issue 9), through the composition the worker runs: the
router's copies and the case desk's handover copies carry a token and, for the unit that calls back, a
masked contact; the identity goes to the restricted identity topic keyed by report id; no table holds it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from envgrid.connectors import records
from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.domain.privacy import ComplainantIdentity
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.streams.case_service import CaseFile
from envgrid.streams.routing_service import Intake, Output
from envgrid.streams.state_codec import decode_state, encode_state
from tests.integration.changelog_fixture import load_facts
from tests.unit.pipeline.harness import COMMANDS, FEEDBACK, IDENTITY, TEST_PSEUDONYMISER, InMemoryPipeline, as_input
from tests.unit.pipeline.test_changelog_fixture import _latest

SAMPLE = sample_events()["PetitionComplaint"]  # lead housing, assisting urban-mgmt and epb, township 330302031
CHEN = SAMPLE["complainant"]  # 陈先生, 13800577001
TOKEN = TEST_PSEUDONYMISER.pseudonym(ComplainantIdentity(**CHEN)).token  # type: ignore[union-attr]


def _complaint(number: int, **changes: Any) -> dict[str, Any]:
    shift = timedelta(days=30 * number)
    return dict(SAMPLE, event_id=f"00000000-0000-4000-a000-{number:012d}", occurred_at=SAMPLE["occurred_at"] + shift,
                received_at=SAMPLE["received_at"] + shift, **changes)


def _notice(complaint: dict[str, Any], minutes: int, kind: str, unit: str, **fields: Any) -> dict[str, Any]:
    at = complaint["received_at"] + timedelta(minutes=minutes)
    return dict(sample_events()["DepartmentNotice"], event_id=f"{complaint['event_id'][-4:]}-{minutes}-{kind}",
                case_id=case_id_for(complaint["event_id"]), kind=kind, unit_code=unit, unit_kind="DEPARTMENT",
                occurred_at=at, received_at=at, reason=fields.get("reason"), suggested_department=fields.get("suggest"),
                assisting_departments=[], extension_days=None, message="ok")


def _personal(identity: dict[str, Any]) -> list[str]:
    return [value for value in identity.values() if value]


def _leaks(value: Any, personal: list[str]) -> list[str]:
    """Every string anywhere in `value` that contains one of `personal`."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return [item for item in personal if item in text]


def _copies(outputs: list[Output]) -> list[dict[str, Any]]:
    return [o.value for o in outputs if o.event_name == "CaseDispatched" and o.topic != COMMANDS]


def test_the_routers_copies_carry_the_token_and_only_the_lead_the_masked_contact():
    pipeline = InMemoryPipeline()
    intake = pipeline.report(("PetitionComplaint", _complaint(1)))
    assert isinstance(intake, Intake)
    copies = _copies(intake.outputs)
    assert len(copies) >= 3 and not _leaks(copies, _personal(CHEN))
    assert all(c["complainant"] is None and c["complainant_token"] == TOKEN for c in copies)
    contacts = {c["target"]["role"]: c["complainant_contact"] for c in copies}
    assert contacts["LEAD"] == "138****7001"
    assert {role: contact for role, contact in contacts.items() if role not in records.CALLBACK_ROLES} == \
        {role: None for role in contacts if role not in records.CALLBACK_ROLES} and "ASSISTING" in contacts
    [command] = [o for o in intake.outputs if o.topic == COMMANDS]
    assert not _leaks(command.value, _personal(CHEN)) and command.value["complainant_contact"] == "138****7001"


def test_the_identity_goes_to_the_identity_topic_keyed_by_report_id_with_the_token():
    pipeline = InMemoryPipeline()
    complaint = _complaint(1)
    intake = pipeline.report(("PetitionComplaint", complaint))
    [identity] = [o for o in intake.outputs if o.topic == IDENTITY]
    assert (identity.key, identity.event_name) == (complaint["event_id"], "ComplainantIdentityRecorded")
    assert identity.value["identity"] == CHEN and identity.value["token"] == TOKEN
    assert (identity.value["report_id"], identity.value["case_id"]) == (complaint["event_id"], intake.case_id)
    assert identity.value["key_version"] == "test" and identity.value["channel_reference"] == SAMPLE["channel_reference"]
    repeat = dict(complaint, event_id="00000000-0000-4000-a000-00000000r001", complainant={
        "name": "李女士", "phone": "13900000001", "id_number": None}, received_at=complaint["received_at"] + timedelta(hours=1))
    merged = pipeline.report(("PetitionComplaint", repeat))
    assert isinstance(merged, Intake) and merged.merged
    [repeat_identity] = [o for o in merged.outputs if o.topic == IDENTITY]
    assert repeat_identity.key == repeat["event_id"] and repeat_identity.value["case_id"] == intake.case_id
    assert repeat_identity.value["identity"]["phone"] == "13900000001"

    # feedback to a complainant names the report, which the feedback gateway finds on the identity topic
    pipeline.notice(_notice(complaint, 90, "ACKNOWLEDGE", "housing"))
    feedback = [o.value for o in pipeline.on(FEEDBACK) if o.value["audience"] == "COMPLAINANT"]
    assert {f["recipient"] for f in feedback} == {complaint["event_id"], repeat["event_id"]}
    assert {f["stage"] for f in feedback} >= {"MERGED", "ACCEPTED"}
    assert not _leaks(feedback, _personal(CHEN) + ["李女士", "13900000001"])

    anonymous = pipeline.report(("PetitionComplaint", _complaint(2, complainant=None)))
    [nobody] = [o for o in anonymous.outputs if o.topic == IDENTITY]  # the channel, to answer there
    assert nobody.value["identity"] is None and nobody.value["token"] is None
    assert all(c["complainant_token"] is None for c in _copies(anonymous.outputs))


def test_handover_copies_carry_no_identity_and_the_new_lead_gets_the_masked_contact():
    pipeline = InMemoryPipeline()
    complaint = _complaint(1)
    pipeline.report(("PetitionComplaint", complaint))
    handled = pipeline.notice(_notice(complaint, 10, "TRANSFER_REQUEST", "housing", reason="不属本部门职责",
                                      suggest="water"))
    handovers = [c for c in _copies(handled.outputs) if c["handover"]]
    assert handovers and not _leaks(handovers, _personal(CHEN))
    assert all(c["complainant"] is None and c["complainant_token"] == TOKEN for c in handovers)
    [new_lead] = [c for c in handovers if c["target"] == {"kind": "DEPARTMENT", "code": "water", "role": "LEAD"}
                  and c["handover"]["change"] == "ASSIGNED"]
    assert new_lead["complainant_contact"] == "138****7001"
    released = [c for c in handovers if c["handover"]["change"] == "RELEASED"]
    assert released and all(c["complainant_contact"] is None or c["target"]["role"] in records.CALLBACK_ROLES
                            for c in released)


def test_no_table_holds_the_identity_after_busy_generated_traffic():
    pipeline = InMemoryPipeline()
    personal: set[str] = set()
    config = GeneratorConfig(kind_shares={"PetitionComplaint": 0.7, "PatrolReport": 0.1, "DepartmentNotice": 0.2})
    for event in generate(seed=9, count=600, config=config):
        if event.kind == "PetitionComplaint" and event.value and event.value["complainant"]:
            personal.update(v for k, v in event.value["complainant"].items() if v and k != "name")
        if event.kind == "DepartmentNotice":
            if event.value is not None:
                pipeline.notice(event.value)
        else:
            pipeline.report(as_input(event))
    assert len(personal) > 200
    tables = {"case-files": pipeline.state.files, "sla-timers": pipeline.state.timers, "held-notices": pipeline.state.held,
              "sla-cursors": pipeline.state.cursors, "refused-notices": pipeline.state.refused,
              "incidents": pipeline.indexes}
    stored = "".join(encode_state(value).decode() for table in tables.values() for value in table.values())
    assert len(pipeline.state.files) > 100
    assert not [item for item in personal if item in stored]  # phones and id numbers: not in any table
    dossiers = [file.dossier_in(pipeline.state.cursors) for file in pipeline.state.files.values()]
    assert all(d["complainant"] is None for d in dossiers)
    assert sum(1 for d in dossiers if d["complainant_token"]) > 50
    outside = [o.value for o in pipeline.sent if o.topic != IDENTITY]
    assert not _leaks(outside, sorted(personal))


def test_a_case_file_an_earlier_release_kept_with_the_identity_loses_it_at_its_first_change():
    facts, latest = load_facts(), _latest()
    case_b = facts["cases"]["B"]  # transferred to water before the capture; its dossier holds 陈先生's identity
    old = latest[("case-files", case_b)]
    assert isinstance(old, CaseFile) and old.dossier["complainant"] == CHEN and "complainant_token" not in old.dossier
    pipeline = InMemoryPipeline()
    for (table, key), value in latest.items():
        target = {"case-files": pipeline.state.files, "sla-timers": pipeline.state.timers,
                  "sla-buckets": pipeline.state.buckets, "sla-cursors": pipeline.state.cursors,
                  "refused-notices": pipeline.state.refused, "held-notices": pipeline.state.held}.get(table)
        if target is not None:
            target[key] = decode_state(encode_state(value))

    b_complaint = dict(SAMPLE, event_id="00000000-0000-4000-f000-000000000002",
                       received_at=SAMPLE["received_at"] + timedelta(days=60))
    handled = pipeline.notice(dict(_notice(b_complaint, 40, "TRANSFER_REQUEST", facts["lead_after_transfer"],
                                           reason="不属本部门职责", suggest="epb"), case_id=case_b))
    assert handled.refused is None, handled.refused
    handovers = _copies(handled.outputs)
    assert handovers and not _leaks(handovers, _personal(CHEN))
    assert all(c["complainant_token"] == TOKEN for c in handovers)
    dossier = pipeline.state.files[case_b].dossier_in(pipeline.state.cursors)
    assert dossier["complainant"] is None and dossier["complainant_token"] == TOKEN
    assert dossier["complainant_contact"] == "138****7001"

    # its opening command, redelivered as the earlier release wrote it, is still recognised as the same
    again = pipeline.cases.on_command("CaseDispatched", dict(old.dossier), pipeline.state, 0)
    assert again.refused is None and again.replayed
