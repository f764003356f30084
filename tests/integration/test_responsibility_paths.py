"""Each path along which responsibility moves, driven through the real worker and read back the way the
units read it: a plain Kafka consumer on each department's and grid's topic, on `case.feedback` and on
`case.history` (issue 7, items 1 and 5).

One complaint per path, weeks apart (so none merges into another); its routing decision (lead `housing`,
assisting `urban-mgmt` and `epb`, handled by township 330302031 under district grid 330302) is the sample's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import Producer

from envgrid.connectors import records
from envgrid.connectors.samples import sample_events
from envgrid.domain.case_ids import case_id_for
from envgrid.domain.routing.context import load_routing_context
from tests.integration.pipeline_process import WorkerProcess, prepare, read_all, send_ticks

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

TOWNSHIP, DISTRICT, CITY = "330302031", "330302", "3303"
PATHS = ("transfer", "loop", "escalation", "joint", "extension", "breach")


@pytest.fixture(scope="module")
def topics(cluster, tmp_path_factory) -> dict[str, list[dict[str, Any]]]:
    """Run every path through one worker; return what each topic holds: topic -> decoded records."""
    prefix = f"it.paths.{int(time.time())}"
    catalogue, codec = prepare(cluster, prefix)
    producer = Producer(cluster.kafka_config({"partitioner": "murmur2_random"}))
    complaints = {path: _complaint(number) for number, path in enumerate(PATHS, start=1)}
    sample = sample_events()["PetitionComplaint"]
    decision = load_routing_context().decide(records.routing_input("PetitionComplaint", sample))
    chain = [grid.code for grid in decision.owning_chain]
    assert (decision.lead_department, decision.handling_level, chain[1:3]) == ("housing", 3, [TOWNSHIP, DISTRICT]), \
        "the sample's routing changed"

    def publish(event_name: str, value: dict[str, Any], key: str) -> None:
        topic = catalogue.input_topic(event_name, value)
        producer.produce(topic, codec.encode(event_name, value, topic), key.encode())
        assert producer.flush(30) == 0

    def notice(path: str, minutes: int, kind: str, unit: str, **fields: Any) -> None:
        complaint = complaints[path]
        at = complaint["received_at"] + timedelta(minutes=minutes)
        value = dict(sample_events()["DepartmentNotice"], event_id=f"{path}-{minutes}-{kind}", case_id=case_id_for(complaint["event_id"]),
                     kind=kind, unit_code=unit, unit_kind="GRID" if unit[:1].isdigit() else "DEPARTMENT", occurred_at=at,
                     received_at=at, reason=fields.pop("reason", None), suggested_department=fields.pop("suggest", None),
                     assisting_departments=fields.pop("assisting", []), extension_days=fields.pop("extension", None),
                     message=fields.pop("message", "ok"))
        publish("DepartmentNotice", value, value["case_id"])

    history = catalogue.topic("case.history")

    def history_of(path: str) -> list[dict[str, Any]]:
        case_id = case_id_for(complaints[path]["event_id"])
        return [v for _, _, v, _ in read_all(cluster, codec, [history]).get(history, []) if v["case_id"] == case_id]

    def after(path: str, kind: str, count: int = 1) -> None:
        _wait_for(lambda: sum(1 for v in history_of(path) if v["kind"] == kind) >= count, f"{path}: {kind}")

    worker = WorkerProcess(cluster, prefix, tmp_path_factory.mktemp("paths")).start()
    try:
        for complaint in complaints.values():
            publish("PetitionComplaint", complaint, complaint["event_id"])
        for path in PATHS:
            after(path, "dispatched")
        notice("transfer", 10, "TRANSFER_REQUEST", "housing", reason="不属本部门职责", suggest="water")
        after("transfer", "rerouted")
        notice("transfer", 20, "ACKNOWLEDGE", "water")
        notice("loop", 10, "TRANSFER_REQUEST", "housing", reason="不属本部门职责", suggest="water")
        after("loop", "rerouted")
        notice("loop", 20, "TRANSFER_REQUEST", "water", reason="应由住建处理", suggest="housing")
        notice("escalation", 10, "ACKNOWLEDGE", "housing")
        notice("escalation", 20, "ESCALATION_REQUEST", "housing", reason="跨乡镇，需区级协调")
        notice("joint", 10, "ACKNOWLEDGE", "housing")
        notice("joint", 20, "JOINT_ENFORCEMENT_REQUEST", "housing", assisting=["psb", "transport"], reason="联合执法")
        # a unit answers what it has seen: the township decides once the request is in the history (notices of
        # different units come in on different topics, so only one unit's own notices keep their order)
        notice("extension", 10, "ACKNOWLEDGE", "housing")
        notice("extension", 20, "EXTENSION_REQUEST", "housing", reason="需检测报告")
        after("extension", "extension_requested")
        notice("extension", 30, "EXTENSION_DECISION", TOWNSHIP, extension=2, reason="同意延期两个工作日")
        after("extension", "extension_granted")
        notice("extension", 40, "EXTENSION_REQUEST", "housing", reason="检测仍未完成")
        after("extension", "extension_requested", 2)
        notice("extension", 50, "EXTENSION_DECISION", TOWNSHIP, extension=2, reason="再延两日")
        for path, kind in (("transfer", "acknowledged"), ("loop", "sent_to_parent_grid"), ("escalation", "escalated"),
                           ("joint", "joint_handling"), ("extension", "extension_refused")):
            after(path, kind)
        breach = complaints["breach"]["received_at"]
        send_ticks(producer, codec, catalogue, breach)  # the first tick sets each partition's cursor
        send_ticks(producer, codec, catalogue, breach + timedelta(days=3))
        after("breach", "escalated")
    finally:
        worker.stop()
    names = [spec.name for template in ("dept.{department}.cases", "grid.{grid}.cases")
             for spec in catalogue.by_template(template)]
    names += [catalogue.topic(name) for name in ("triage.cases", "case.feedback", "case.history", "case.sla")]
    read = read_all(cluster, codec, names)
    by_short_name = {name.removeprefix(prefix + "."): [v for _, _, v, _ in read.get(name, [])] for name in names}
    by_short_name["case_ids"] = [{path: case_id_for(c["event_id"]) for path, c in complaints.items()}]
    return by_short_name


def test_a_transfer_reaches_the_new_lead_and_releases_the_old_one(topics):
    case = _case(topics, "transfer")
    [assigned] = _copies(topics, "dept.water.cases", case, revision=True)
    assert (assigned["target"]["role"], assigned["handover"]["change"], assigned["handover"]["cause"]) == ("LEAD", "ASSIGNED", "TRANSFER")
    assert assigned["handover"]["previous_holder"] == "housing" and assigned["decision"]["lead_department"] == "water"
    [released] = _copies(topics, "dept.housing.cases", case, revision=True)
    # the transfer releases housing (revision n); the re-routing that picks water is the next revision
    assert (released["handover"]["change"], released["handover"]["cause"]) == ("RELEASED", "TRANSFER")
    assert assigned["revision"] == released["revision"] + 1 and released["revision"] > 0
    told = {(f["audience"], f["recipient"], f["stage"]) for f in topics["case.feedback"] if f["case_id"] == case}
    assert ("TRANSFERRING_UNIT", "housing", "ACCEPTED") in told  # the unit that passed it on hears it was accepted


def test_a_transfer_loop_hands_the_case_to_the_parent_grid_on_its_topic(topics):
    case = _case(topics, "loop")
    grid = _copies(topics, f"grid.{DISTRICT}.cases", case, revision=True)
    roles = {(c["target"]["code"], c["target"]["role"], c["handover"]["change"], c["handover"]["cause"]) for c in grid}
    assert (DISTRICT, "HANDLING_GRID", "ASSIGNED", "TRANSFER_LOOP") in roles
    assert (TOWNSHIP, "HANDLING_GRID", "RELEASED", "TRANSFER_LOOP") in roles
    released = _copies(topics, "dept.water.cases", case, revision=True)
    assert any(c["handover"]["change"] == "RELEASED" for c in released)  # the last lead hears it lost the case


def test_an_escalation_reaches_the_upper_grid_and_its_supervisor_is_told(topics):
    case = _case(topics, "escalation")
    grid = _copies(topics, f"grid.{DISTRICT}.cases", case, revision=True)
    assert any((c["target"]["code"], c["handover"]["change"], c["handover"]["cause"]) == (DISTRICT, "ASSIGNED", "ESCALATION")
               for c in grid)
    told = {(f["audience"], f["recipient"]) for f in topics["case.feedback"] if f["case_id"] == case}
    assert ("SUPERVISING_GRID", CITY) in told and any(audience == "COMPLAINANT" for audience, _ in told)


def test_joint_enforcement_partners_receive_the_case_on_their_topics(topics):
    case = _case(topics, "joint")
    for department in ("psb", "transport"):
        [copy] = _copies(topics, f"dept.{department}.cases", case, revision=True)
        assert (copy["target"]["role"], copy["handover"]["cause"], copy["handover"]["change"]) == ("ASSISTING", "JOINT_ENFORCEMENT", "ASSIGNED")
        assert department in copy["decision"]["assisting_departments"]


def test_an_extension_is_granted_once_and_a_second_grant_is_refused_by_the_policy(topics):
    case = _case(topics, "extension")
    entries = [h for h in topics["case.history"] if h["case_id"] == case]
    kinds = [h["kind"] for h in sorted(entries, key=lambda h: h["revision"])]
    assert kinds.count("extension_granted") == 1 and kinds.count("extension_refused") == 1
    [refused] = [h for h in entries if h["kind"] == "extension_refused"]
    assert "refused by the SLA policy" in refused["reason"] and "extended 1 time" in refused["reason"]
    extended = [f for f in topics["case.feedback"] if f["case_id"] == case and f["stage"] == "EXTENDED"]
    assert len({f["event_id"] for f in extended}) == len({f["recipient"] for f in extended}) >= 1  # told once, not twice


def test_a_breach_escalates_to_the_supervising_grid_and_reaches_its_topic(topics):
    case = _case(topics, "breach")
    breaches = [s for s in topics["case.sla"] if s["case_id"] == case and s["kind"] == "BREACH"]
    assert breaches and breaches[0]["milestone"] == "acknowledge"
    grid = _copies(topics, f"grid.{DISTRICT}.cases", case, revision=True)
    assert any((c["target"]["code"], c["handover"]["cause"]) == (DISTRICT, "SLA_BREACH") for c in grid)
    escalated = [h for h in topics["case.history"] if h["case_id"] == case and h["kind"] == "escalated"]
    assert escalated and "sla_breach" in escalated[0]["reason"]


def test_every_case_history_is_contiguous_and_every_dispatched_revision_is_in_it(topics):
    revisions_sent: dict[str, set[int]] = {}
    for name, values in topics.items():
        if name.startswith(("dept.", "grid.", "triage.")):
            for copy in values:
                revisions_sent.setdefault(copy["case_id"], set()).add(copy["revision"])
    for case in topics["case_ids"][0].values():
        revisions = {h["revision"] for h in topics["case.history"] if h["case_id"] == case}
        assert revisions == set(range(max(revisions) + 1)), (case, sorted(revisions))
        assert revisions_sent[case] <= revisions, (case, revisions_sent[case] - revisions)


def _case(topics: dict[str, list[dict[str, Any]]], path: str) -> str:
    return topics["case_ids"][0][path]


def _copies(topics: dict[str, list[dict[str, Any]]], topic: str, case: str, revision: bool) -> list[dict[str, Any]]:
    return [c for c in topics[topic] if c["case_id"] == case and (c["revision"] > 0) == revision]


def _complaint(number: int) -> dict[str, Any]:
    sample = sample_events()["PetitionComplaint"]
    weeks = timedelta(weeks=3 * number)
    return dict(sample, event_id=f"00000000-0000-4000-a000-{number:012d}", occurred_at=sample["occurred_at"] + weeks,
                received_at=sample["received_at"] + weeks)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)
