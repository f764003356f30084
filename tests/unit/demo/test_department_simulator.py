"""The department simulator on the client, without a broker: which client sends each planned notice, when, and
what the SLA ticker is told to wait for."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from envgrid.client.watch import WatchedCopy
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.samples import sample_events
from envgrid.demo.department_simulator import DepartmentSimulator, SimulatorSetupError, unit_clients
from envgrid.domain.departments import department_codes
from envgrid.localcluster.addresses import ClientSecurity, ClusterAddresses
from envgrid.simulator.departments import respond
from envgrid.streams.watermark import ProgressUnknown

CATALOGUE = Catalogue.load(prefix="envgrid", env={})


class FakeWatcher:
    def __init__(self, topic: str) -> None:
        self.topic, self.arrived, self.read, self.commits = topic, [], {0: 0}, 0

    def poll(self, timeout: float = 0) -> list[WatchedCopy]:
        copies, self.arrived = self.arrived, []
        return copies

    def done(self, copy: WatchedCopy) -> None:
        self.read[copy.partition] = copy.offset + 1

    def positions(self) -> dict[int, int]:
        return dict(self.read)

    def commit(self, asynchronous: bool = False) -> None:
        self.commits += 1

    def close(self) -> None:
        pass


class FakeClient:
    def __init__(self, kind: str, code: str) -> None:
        self.notice_topic = CATALOGUE.notice_topic(kind, code)
        self.cases_topic = CATALOGUE.topic_for((kind.lower(), code))
        self.group_prefix = f"{'dept' if kind == 'DEPARTMENT' else 'grid'}-{code}"
        self.principal = type("P", (), {"name": self.group_prefix})
        self.sent: list[tuple[dict[str, Any], bool]] = []
        self.watcher_ = FakeWatcher(self.cases_topic)

    def watcher(self, group: str, settings: Any = None) -> FakeWatcher:
        assert group.startswith(self.group_prefix)
        return self.watcher_

    def send_all(self, notices: list[dict[str, Any]], *, check: bool = True) -> list[Any]:
        self.sent += [(notice, check) for notice in notices]
        return []

    def close(self) -> None:
        pass


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _copies(count: int) -> list[dict[str, Any]]:
    """Revision-0 lead copies for epb, one case each (their scripts vary with the case id); no assisting
    department, so the lead speaks for the partners of a joint enforcement (they have no copy)."""
    base = sample_events()["CaseDispatched"]
    return [dict(base, case_id=f"WZ-{n:016x}", event_id=f"WZ-{n:016x}:0:lead:epb",
                 decision=dict(base["decision"], lead_department="epb", assisting_departments=[]))
            for n in range(count)]


def _simulator(clients: list[FakeClient], ends: dict | None = None, **options: Any) -> DepartmentSimulator:
    simulator = DepartmentSimulator(clients, CATALOGUE, "app", lambda topics: dict(ends or {}), **options)
    simulator._watchers = [(client, client.watcher(f"{client.group_prefix}-simulator-app")) for client in clients]
    return simulator


def _arrive(client: FakeClient, copies: list[dict[str, Any]]) -> None:
    client.watcher_.arrived += [WatchedCopy(copy, client.cases_topic, 0, offset) for offset, copy in enumerate(copies)]


def _everyone() -> dict[str, FakeClient]:
    clients = {code: FakeClient("DEPARTMENT", code) for code in department_codes()}
    clients.update({spec.owner[1]: FakeClient("GRID", spec.owner[1]) for spec in CATALOGUE.by_template("grid.{grid}.cases")})
    return clients


def test_on_the_manual_clock_every_planned_notice_goes_out_at_once_through_the_client_of_its_unit():
    clients = _everyone()
    copies = _copies(200)
    simulator = _simulator(list(clients.values()))
    _arrive(clients["epb"], copies)
    assert simulator._read() == 200
    simulator._send_due()
    planned = [p.notice for copy in copies for p in respond(copy)]
    assert len(planned) > 300
    sent = [(client, notice, check) for client in clients.values() for notice, check in client.sent]
    assert sorted(n["event_id"] for _, n, _ in sent) == sorted(n["event_id"] for n in planned)
    for client, notice, check in sent:
        assert check and client.notice_topic == CATALOGUE.notice_topic(notice["unit_kind"], notice["unit_code"])
    assert {n["unit_code"] for _, n, _ in sent} > {"epb"}  # joint partners answer as themselves
    assert simulator.waiting(time.monotonic(), patience=0) == []  # nothing left to wait for


def test_a_unit_without_a_client_of_its_own_is_spoken_for_by_the_receiver_unchecked():
    epb = FakeClient("DEPARTMENT", "epb")  # the only unit logged in
    simulator = _simulator([epb])
    copies = _copies(200)
    _arrive(epb, copies)
    simulator._read()
    simulator._send_due()
    others = [(notice, check) for notice, check in epb.sent if notice["unit_code"] != "epb"]
    assert others and not any(check for _, check in others)  # refused by the pipeline as forged_unit
    assert all(check for notice, check in epb.sent if notice["unit_code"] == "epb")


def test_on_the_accelerated_clock_a_notice_waits_for_its_time_and_the_ticker_waits_for_it():
    epb = _everyone()
    copy = next(c for c in _copies(50) if respond(c))
    first = respond(copy)[0].notice
    clock = FixedClock(first["occurred_at"] - timedelta(hours=1))  # an hour before the first answer
    simulator = _simulator(list(epb.values()), {(epb["epb"].cases_topic, 0): 1}, clock=clock, speedup=1e-3)
    _arrive(epb["epb"], [copy])
    simulator._read()
    simulator._send_due()
    assert not any(client.sent for client in epb.values())  # due in a million seconds
    held = simulator.waiting(time.monotonic(), patience=0)
    assert min(held) == first["occurred_at"] and len(held) == len(respond(copy))


def test_notices_after_the_runs_end_are_not_planned():
    clients = _everyone()
    copies = _copies(100)
    until = min(p.notice["occurred_at"] for c in copies for p in respond(c)) + timedelta(hours=6)
    simulator = _simulator(list(clients.values()), until=until)
    _arrive(clients["epb"], copies)
    simulator._read()
    simulator._send_due()
    sent = [notice for client in clients.values() for notice, _ in client.sent]
    assert sent and all(n["occurred_at"] <= until for n in sent)
    assert len(sent) < sum(len(respond(c)) for c in copies)


def test_the_ticker_is_held_while_a_copy_is_unread_and_told_of_notices_sent_since_its_read():
    clients = _everyone()
    epb = clients["epb"]
    simulator = _simulator(list(clients.values()), {(epb.cases_topic, 0): 3})
    with pytest.raises(ProgressUnknown, match="has not read every copy yet"):
        simulator.waiting(time.monotonic(), patience=0)  # 3 copies on the topic, none read
    copies = [c for c in _copies(20) if respond(c)][:3]
    _arrive(epb, copies)
    since = time.monotonic()
    simulator._read()
    simulator._send_due()  # delivered after the pipeline's read began: that read may have missed them
    held = simulator.waiting(since, patience=0)
    assert sorted(held) == sorted(p.notice["occurred_at"] for c in copies for p in respond(c))
    assert simulator.waiting(time.monotonic(), patience=0) == []  # a later read sees them on the broker


def test_an_unexpected_error_does_not_stop_the_thread(caplog):
    epb = FakeClient("DEPARTMENT", "epb")
    simulator = _simulator([epb])
    calls = []

    def poll(timeout: float = 0) -> list[WatchedCopy]:
        calls.append(timeout)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return []

    epb.watcher_.poll = poll
    thread = threading.Thread(target=simulator._run)
    thread.start()
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    simulator._stop.set()
    thread.join(5)
    assert len(calls) >= 3 and not thread.is_alive()
    assert "unexpected error; carrying on" in caplog.text


def test_without_a_units_credentials_file_the_simulator_says_which_and_where(tmp_path):
    secured = ClusterAddresses("127.0.0.1:1", "http://127.0.0.1:1", ClientSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512",
                                                                                    "pipeline", "secret"))
    with pytest.raises(SimulatorSetupError) as missing:
        unit_clients(secured, CATALOGUE, tmp_path)
    assert f"no credentials for dept-dev-reform: {tmp_path}/dept-dev-reform.properties does not exist" in str(missing.value)
    assert "--department-credentials" in str(missing.value)


def test_before_its_consumers_are_assigned_the_ticker_is_held_even_on_empty_topics():
    epb = FakeClient("DEPARTMENT", "epb")
    simulator = DepartmentSimulator([epb], CATALOGUE, "app", lambda topics: {(t, 0): 0 for t in topics})  # not started
    with pytest.raises(ProgressUnknown, match=r"\('envgrid.dept.epb.cases', 0, None, 0\)"):
        simulator.waiting(time.monotonic(), patience=0)
