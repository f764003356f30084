"""The department client on the real secured broker, with the real worker: a department logs in with its own
credentials, lists exactly the cases dispatched to it, watches its topic in its own group (each copy once, across
a restart, a re-sent copy dropped), answers (the worker applies its acknowledgement; its transfer reaches the new
lead, whose client then lists the case), is refused a wrong password, and the command does the same from a
credentials file, refusing in advance what it can know. And the demo's department simulator answers through the
same client, each unit logged in as itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from envgrid.client.client import DepartmentClient
from envgrid.client.errors import BrokerRefused, Reason, Refused
from envgrid.localcluster.cluster import LocalCluster
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish
from envgrid.streams.watermark import InputProgress, progress_of
from tests.integration.pipeline_process import (
    REPO,
    SimulatorProgress,
    WorkerProcess,
    grant_units,
    prepare,
    read_all,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

def complaints() -> GeneratorConfig:
    """Complaints received over about 3 minutes from half an hour ago: the time is taken when they are published
    (a module constant was taken at collection, up to an hour before), and half an hour stays far from every
    deadline the tests could pass. The case desk judges deadlines up to the time of the notices it applies, which
    are sent now: complaints received 2 hours before them were past their 2-working-hour acknowledgement limit
    whenever those 2 hours were working hours, and escalated before the tests' transfer came."""
    return GeneratorConfig(kind_shares={"PetitionComplaint": 1.0, "PatrolReport": 0.0, "DepartmentNotice": 0.0},
                           broken_share=0.0, duplicate_share=0.0, mean_interarrival_s=5.0,
                           start=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30))


class Deployment:
    """A prefix of its own on the session's cluster, its ACLs, a worker (router and case desk, manual clock)
    and generated complaints routed to the departments."""

    def __init__(self, cluster, prefix: str, state: Path) -> None:
        self.cluster, self.prefix, self.local = cluster, prefix, LocalCluster()
        self.catalogue, self.codec = prepare(cluster, prefix)
        grant_units(prefix)
        self.worker = WorkerProcess(cluster, prefix, state, processors="router,cases")
        self.producer = make_producer(cluster)

    def publish(self, seed: int, count: int) -> None:
        result = publish(self.producer, self.codec, list(generate(seed, count, complaints())),
                         intake_topics(self.catalogue), flush_timeout_s=60)
        assert not result.failed

    def copies(self, code: str) -> list[dict]:
        topic = self.catalogue.topic_for(("department", code))
        return [value for _, event, value, _ in read_all(self.cluster, self.codec, [topic])[topic]]

    def whereabouts(self, case_id: str, delivery) -> str:
        """What a failed wait needs to say: where the notice went, whether the case desk's groups took it in,
        what the case's history and the dead letters say of it, and the worker's case-desk metrics."""
        history, dead = self.catalogue.topic("case.history"), self.catalogue.topic("deadletter")
        read = read_all(self.cluster, self.codec, [history, dead])
        entries = [(v["revision"], v["kind"], v["actor_unit"], v["cause_event_id"]) for _, _, v, _ in read[history]
                   if v["case_id"] == case_id]
        letters = [(v["processor"], v["reason_code"], v["error_message"]) for _, _, v, _ in read[dead]
                   if v["original_event_id"] == delivery.event_id]
        progress = progress_of(self.cluster, self.prefix, self.catalogue, [delivery.topic],
                               lambda value, topic: ("", {}))
        try:
            behind = progress.behind()
        finally:
            progress.close()
        metrics = {k: v for k, v in self.worker.metrics().items() if "held_notices" in k or "deadletter" in k}
        return (f"notice {delivery.event_id} on {delivery.topic}[{delivery.partition}]@{delivery.offset}; "
                f"behind on it: {behind}\nhistory of {case_id}: {entries}\ndead letters: {letters}\nmetrics: {metrics}")

    def wait_for_copies(self, code: str, count: int, timeout: float = 300) -> list[dict]:
        self.worker.wait_for(lambda: len(self.copies(code)) >= count, timeout, f"{count} copies on dept.{code}.cases")
        return self.copies(code)

    def client(self, code: str, **options) -> DepartmentClient:
        return DepartmentClient(self.local.addresses(f"dept-{code}"), topic_prefix=self.prefix, **options)

    def credentials(self, code: str) -> Path:
        return self.local.credentials_dir() / f"dept-{code}.properties"

    def cli(self, code: str, *command: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ENVGRID_TOPIC_PREFIX": self.prefix, "PYTHONPATH": str(REPO / "src")}
        return subprocess.run([sys.executable, "-m", "envgrid.client", "--config", str(self.credentials(code)), *command],
                              capture_output=True, text=True, env=env, timeout=120, cwd=REPO)


@pytest.fixture(scope="module")
def deployment(cluster, cluster_is_local, tmp_path_factory):
    if not cluster_is_local or not cluster.security.sasl:
        pytest.skip("needs the secured local cluster: each department logs in with its own credentials file")
    found = Deployment(cluster, f"it.deptclient.{os.getpid()}.{int(time.time())}", tmp_path_factory.mktemp("state"))
    found.worker.start()
    try:
        found.publish(seed=31, count=40)
        yield found
    finally:
        found.worker.stop()


@pytest.fixture(scope="module")
def busiest(deployment) -> str:
    """The department that leads the most cases once the 40 complaints are routed."""
    topics = [spec.name for spec in deployment.catalogue.by_template("dept.{department}.cases")]
    deadline = time.monotonic() + 300
    while True:
        copies = [v for records in read_all(deployment.cluster, deployment.codec, topics).values() for _, _, v, _ in records]
        if len({c["case_id"] for c in copies}) >= 30 or time.monotonic() > deadline:
            break
        time.sleep(2)
    leads = Counter(c["target"]["code"] for c in copies if c["target"]["role"] == "LEAD")
    assert leads, "no case was dispatched"
    return leads.most_common(1)[0][0]


def test_a_department_lists_exactly_the_cases_dispatched_to_it(deployment, busiest):
    client = deployment.client(busiest).login()
    copies = deployment.copies(busiest)
    listed = client.open_cases()
    assert {(c.case_id, c.role, c.revision) for c in listed} == \
           {(c["case_id"], c["target"]["role"], c["revision"]) for c in copies}
    assert all(c.unit == busiest and c.category and c.dispatched_at for c in listed)
    assert client.show(listed[0].case_id) == listed[0]
    with pytest.raises(Refused) as unknown:
        client.show("WZ-0000000000000000")
    assert unknown.value.reason is Reason.UNKNOWN_CASE


def test_watching_in_its_group_delivers_each_copy_once_across_a_restart_and_drops_a_resent_copy(deployment, busiest):
    client, group = deployment.client(busiest), f"dept-{busiest}-desk-test"
    first = [copy["event_id"] for copy in client.watch(group=group, idle=5)]
    assert len(first) == len(deployment.copies(busiest)) > 0
    # the pipeline re-sends one copy (same event id), and a new case reaches the department
    topic = deployment.catalogue.topic_for(("department", busiest))
    raw = {value["event_id"]: raw for _, _, value, raw in read_all(deployment.cluster, deployment.codec, [topic])[topic]}
    resent = first[0]
    before = len(raw)
    deployment.producer.produce(topic, raw[resent], deployment.copies(busiest)[0]["case_id"].encode())
    deployment.producer.flush(10)
    deployment.publish(seed=32, count=40)
    copies = deployment.wait_for_copies(busiest, before + 2)
    second = [copy["event_id"] for copy in client.watch(group=group, idle=5)]
    assert resent not in second
    assert not set(first) & set(second), "a copy was delivered twice"
    assert set(first) | set(second) == {c["event_id"] for c in copies}
    assert second, "the new copies were not delivered"
    with pytest.raises(Refused) as other_group:
        next(client.watch(group="someone-else"))
    assert other_group.value.reason is Reason.GROUP_NOT_ALLOWED


def test_an_acknowledgement_sent_through_the_client_is_applied_by_the_worker(deployment, busiest):
    client = deployment.client(busiest).login()
    case = next(c for c in client.open_cases() if c.role == "LEAD")
    delivery = client.acknowledge(case.case_id, "已签收，安排人员核查")
    assert delivery.topic == deployment.catalogue.notice_topic("DEPARTMENT", busiest)
    history = deployment.catalogue.topic("case.history")

    def applied() -> list[dict]:
        return [v for _, _, v, _ in read_all(deployment.cluster, deployment.codec, [history])[history]
                if v["case_id"] == case.case_id and v["cause_event_id"] == delivery.event_id]

    deployment.worker.wait_for(applied, 120, "the acknowledgement in case.history")
    [entry] = applied()
    assert (entry["kind"], entry["actor_unit"], entry["to_state"]) == ("acknowledged", busiest, "acknowledged")
    assert client.show(case.case_id).status.value == "acknowledged"


def test_a_transfer_reaches_the_new_lead_whose_client_then_lists_the_case(deployment, busiest):
    client = deployment.client(busiest).login()
    case = next(c for c in client.open_cases() if c.role == "LEAD" and c.status.value == "new")
    target = next(code for code in client.departments if code != busiest and code not in case.decision["assisting_departments"])
    delivery = client.transfer(case.case_id, target, "经核查不属本部门职责")
    deployment.worker.wait_for(lambda: any(c["case_id"] == case.case_id for c in deployment.copies(target)), 120,
                               f"the case on dept.{target}.cases", lambda: deployment.whereabouts(case.case_id, delivery))
    new_lead = deployment.client(target).login()
    [listed] = [c for c in new_lead.open_cases() if c.case_id == case.case_id]
    assert listed.role == "LEAD" and listed.handover_cause == "TRANSFER" and listed.revision > 0
    deployment.worker.wait_for(lambda: case.case_id not in {c.case_id for c in client.open_cases()}, 60,
                               "the release of the transferring department")


def test_a_wrong_password_is_refused_with_a_clear_message(deployment, busiest):
    addresses = deployment.local.addresses(f"dept-{busiest}")
    wrong = replace(addresses, security=replace(addresses.security, password="not-the-password", config_file=None))
    started = time.monotonic()
    with pytest.raises(BrokerRefused) as refused:
        DepartmentClient(wrong, topic_prefix=deployment.prefix).login()
    assert time.monotonic() - started < 5, "a wrong password must fail fast"
    assert refused.value.reason is Reason.AUTHENTICATION
    assert "the broker refused the login" in str(refused.value) and "sasl.password" in str(refused.value)
    no_registry = replace(addresses, security=replace(addresses.security, registry_user_info=f"dept-{busiest}:wrong",
                                                      config_file=None))
    with pytest.raises(BrokerRefused) as refused:
        DepartmentClient(no_registry, topic_prefix=deployment.prefix).login()
    assert refused.value.reason is Reason.REGISTRY and "the schema registry refused" in str(refused.value)
    assert "HTTP 401" in str(refused.value) and "basic.auth.user.info" in str(refused.value)
    with pytest.raises(BrokerRefused) as refused:  # a deployment whose ACLs were not set for the department
        DepartmentClient(addresses, topic_prefix=f"{deployment.prefix}.without-acls").login()
    assert refused.value.reason is Reason.NOT_AUTHORISED and "the ACLs of this deployment are missing" in str(refused.value)


def test_the_command_lists_the_open_cases_and_refuses_in_advance(deployment, busiest, tmp_path):
    client = deployment.client(busiest)
    expected = {c.case_id for c in client.open_cases()}
    listed = deployment.cli(busiest, "cases")
    assert listed.returncode == 0, listed.stderr
    assert all(case_id in listed.stdout for case_id in expected) and f"open cases of department {busiest}" in listed.stdout
    as_json = deployment.cli(busiest, "--json", "cases")
    assert {c["case_id"] for c in json.loads(as_json.stdout)} == expected
    case_id = next(c.case_id for c in client.open_cases() if c.role == "LEAD")
    notices = deployment.catalogue.notice_topic("DEPARTMENT", busiest)
    sent_before = len(read_all(deployment.cluster, deployment.codec, [notices])[notices])
    nobody = deployment.cli(busiest, "transfer", case_id, "--to", "nobody", "--reason", "不属本局")
    assert nobody.returncode == 2 and "'nobody': not a department code" in nobody.stderr, nobody.stderr
    unknown = deployment.cli(busiest, "ack", "WZ-0000000000000000")
    assert unknown.returncode == 2 and "has no copy of it" in unknown.stderr, unknown.stderr
    assert nobody.stderr.count("\n") == unknown.stderr.count("\n") == 1 and "Traceback" not in nobody.stderr
    assert len(read_all(deployment.cluster, deployment.codec, [notices])[notices]) == sent_before  # nothing sent
    wrong = tmp_path / "wrong.properties"
    wrong.write_text(deployment.credentials(busiest).read_text().replace("sasl.password=", "sasl.password=x"))
    refused = deployment.cli(busiest, "--config", str(wrong), "cases")
    assert refused.returncode == 1 and "the broker refused the login" in refused.stderr, refused.stderr


def test_the_readme_lines(deployment, busiest):
    """README, "A department's client": log in with the credentials file, list, watch, acknowledge, transfer."""
    env = {**os.environ, "ENVGRID_KAFKA_CONFIG": str(deployment.credentials(busiest)),
           "ENVGRID_TOPIC_PREFIX": deployment.prefix, "PYTHONPATH": str(REPO / "src")}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "envgrid.client", *command], capture_output=True, text=True,
                              env=env, timeout=120, cwd=REPO)

    cases = json.loads(run("--json", "cases").stdout)
    fresh = [c["case_id"] for c in cases if c["role"] == "LEAD" and c["status"] == "new"]
    assert len(fresh) >= 3, cases
    listed = run("cases")
    assert listed.returncode == 0 and fresh[0] in listed.stdout
    watched = run("watch", "--idle", "5")
    assert watched.returncode == 0 and fresh[0] in watched.stdout, watched.stderr
    acked = run("ack", fresh[0], "-m", "已签收")
    assert acked.returncode == 0 and f"sent ACKNOWLEDGE for case {fresh[0]}" in acked.stdout, acked.stderr
    other = next(d for d in DepartmentClient.from_properties(deployment.credentials(busiest)).departments if d != busiest)
    moved = run("transfer", fresh[1], "--to", other, "--reason", "施工扬尘属住建部门")
    assert moved.returncode == 0 and "sent TRANSFER_REQUEST" in moved.stdout, moved.stderr
    # the same from Python
    client = DepartmentClient.from_properties(deployment.credentials(busiest), topic_prefix=deployment.prefix).login()
    assert fresh[2] in {case.case_id for case in client.open_cases()}
    assert client.acknowledge(fresh[2], "已签收").kind == "ACKNOWLEDGE"
    assert client.show(fresh[2]).status.value == "acknowledged"


def test_the_department_simulator_answers_through_each_units_own_client(cluster, cluster_is_local, tmp_path, unique_name):
    if not cluster_is_local or not cluster.security.sasl:
        pytest.skip("needs the secured local cluster: each department logs in with its own credentials file")
    prefix = unique_name("simulated")
    catalogue, codec = prepare(cluster, prefix)
    worker = WorkerProcess(cluster, prefix, tmp_path / "state", processors="router,cases,departments").start()
    try:
        producer = make_producer(cluster)
        events = list(generate(5, 150, replace(complaints(), kind_shares={"PetitionComplaint": 0.8, "PatrolReport": 0.2,
                                                                         "DepartmentNotice": 0.0})))
        assert not publish(producer, codec, events, intake_topics(catalogue), flush_timeout_s=60).failed
        simulator = SimulatorProgress(cluster, catalogue, prefix)
        pipeline = InputProgress(cluster, prefix, catalogue.notice_topics() + [catalogue.topic("internal.case-commands")],
                                 codec.decode)
        streak = [0]

        def settled() -> bool:
            streak[0] = streak[0] + 1 if simulator.caught_up() and pipeline.caught_up() else 0
            time.sleep(0.5)
            return streak[0] >= 3

        worker.wait_for(lambda: worker.consumed(catalogue.topic("internal.case-commands")) > 0, 300, "the worker")
        worker.wait_for(settled, 600, "the simulator and the worker to settle",
                        lambda: f"simulator behind: {simulator.behind()}")
        simulator.close()
        pipeline.close()
    finally:
        worker.stop()
    notices = read_all(cluster, codec, catalogue.notice_topics())
    by_author = Counter()
    for topic, records in notices.items():
        author = catalogue.notice_author(topic)
        for _, _, notice, _ in records:
            by_author[author.covers(notice["unit_code"]) and notice["unit_kind"] == author.unit_kind] += 1
    assert by_author[True] > 100, by_author  # each unit answered on its own topic, as itself
    history = catalogue.topic("case.history")
    entries = [v for _, _, v, _ in read_all(cluster, codec, [history])[history]]
    kinds = Counter(v["kind"] for v in entries)
    assert kinds["acknowledged"] > 50 and kinds["resolved"] > 20, kinds
    dead = catalogue.topic("deadletter")
    forged = [v for _, _, v, _ in read_all(cluster, codec, [dead])[dead] if v["reason_code"] == "forged_unit"]
    assert len(forged) == by_author[False], (len(forged), by_author)  # the deliberately wrong ones, refused as forged
    # complainants rated results through the feedback channel, logged in as feedback-gateway, and every rating applied
    ratings = [n for _, _, n, _ in notices[catalogue.topic("notices.complainants")]]
    assert len(ratings) >= 5 and {n["kind"] for n in ratings} == {"RATING"}, ratings
    letters = Counter(v["reason_code"] for _, _, v, _ in read_all(cluster, codec, [dead])[dead])
    assert kinds["rated"] == len(ratings), (kinds, len(ratings), letters)
    # a dissatisfied one (in time, the first) reopened its case, which is back on its lead's own topic
    dissatisfied = {n["case_id"] for n in ratings if n["rating"] == "DISSATISFIED"}
    reopened = {v["case_id"]: v for v in entries if v["kind"] == "reopened"}
    assert set(reopened) == dissatisfied, (reopened, dissatisfied)
    for case_id, entry in reopened.items():
        lead = entry["case"]["lead_department"]
        if lead is None:  # a grid works it itself after a take-over: its copy goes to the grid's topic
            continue
        copies = read_all(cluster, codec, [catalogue.topic_for(("department", lead))])
        assert any(c["case_id"] == case_id and (c["handover"] or {}).get("cause") == "REOPENED"
                   for records in copies.values() for _, _, c, _ in records), (case_id, lead)
