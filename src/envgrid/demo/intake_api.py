"""The demo's real ways in and out: the Open311 intake API and the case store, each as its own process, as a city
runs them (`python -m envgrid.connectors.open311 serve`, `python -m envgrid.connectors.case_store run`).

Part of the demo's citizens' complaints go through the API instead of straight onto the intake topic: each is
posted as a GeoReport v2 service request (form fields, the reporter's name and phone included, with the generated
event id as its Idempotency-Key), and the gateway stamps it with the demo's accelerated clock, so that it arrives
on the pipeline's time. The case store sink keeps every case in PostgreSQL, and the API answers each request's
status from it. Which complaints go through the API is a function of their event ids: the same seed, the same
split.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from envgrid.connectors.open311.keys import digest_of, new_key
from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.localcluster.proc import free_port, stop
from envgrid.simulator.model import GeneratedEvent
from envgrid.streams.clock import AcceleratedClock, clock_arguments

PARTNER = "demo-web"  # the API key's partner: complaints through it come on the WEB channel
BASE = "/open311/v2"
GATEWAY_MARKER = "envgrid.connectors.open311"
SINK_MARKER = "envgrid.connectors.case_store"


class ServiceFailed(RuntimeError):
    """A service process stopped, or did not answer in time; the message names its log."""


@dataclass
class ServiceLogins:
    """Who each service connects as: on the local secured cluster the gateway is the intake-gateway principal
    (`principal`, it may write the intake topics and nothing else) and the sink the case-store principal;
    elsewhere both are the environment's client."""

    gateway: ClusterAddresses
    sink: ClusterAddresses
    principal: str | None = None


@dataclass
class IntakeServices:
    """The running gateway and case store sink, and the API key the demo submits with."""

    url: str
    dsn: str
    key: str
    gateway: subprocess.Popen[bytes]
    sink: subprocess.Popen[bytes]
    logs: dict[str, Path]

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"

    @property
    def services_url(self) -> str:
        return f"{self.url}{BASE}/services.json"

    def check(self) -> None:
        """Raise ServiceFailed if either process stopped."""
        for name, process in (("open311 gateway", self.gateway), ("case store sink", self.sink)):
            if process.poll() is not None:
                raise ServiceFailed(f"the {name} stopped (exit {process.returncode}); see {self.logs[name]}")

    def stop(self) -> None:
        stop(self.gateway.pid, GATEWAY_MARKER, timeout=20.0, popen=self.gateway)
        stop(self.sink.pid, SINK_MARKER, timeout=20.0, popen=self.sink)


DEMO_DATABASE = "envgrid_demo"


def demo_database(admin_dsn: str) -> str:
    """On the local PostgreSQL: the demo's own database, emptied at each run (the case store of the demo's traffic
    alone); its DSN. Never used on a store the environment names: that one is the user's."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DEMO_DATABASE}"')
    return make_conninfo(admin_dsn, dbname=DEMO_DATABASE)


def start_intake_services(logins: ServiceLogins, dsn: str, prefix: str, clock: AcceleratedClock, port: int,
                          run_dir: Path, log_dir: Path, timeout: float = 120.0) -> IntakeServices:
    """Start the case store sink and the gateway (on `port`, 0 = a free one) for the topics under `prefix`, and wait
    until the API answers. The API key is new for each run; its keys file is `run_dir/open311-keys.yaml`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    key = new_key()
    keys = run_dir / "open311-keys.yaml"
    keys.write_text(f"keys:\n  - {{name: {PARTNER}, channel: WEB, sha256: {digest_of(key)}}}\n", encoding="utf-8")
    keys.chmod(0o600)
    port = port or free_port()
    logs = {"case store sink": log_dir / "demo-case-store.log", "open311 gateway": log_dir / "demo-open311.log"}
    with_store = {"ENVGRID_CASE_STORE_DSN": dsn}
    sink = _spawn([sys.executable, "-m", SINK_MARKER, "run", "--topic-prefix", prefix, "--report-every", "10"],
                  logins.sink.child_env({**os.environ, **with_store}), logs["case store sink"])
    command = [sys.executable, "-m", GATEWAY_MARKER, "serve", "--port", str(port), "--keys", str(keys),
               "--topic-prefix", prefix, "--case-store-dsn", dsn, "--loglevel", "warning", *clock_arguments(clock)]
    if logins.principal:
        command += ["--principal", logins.principal]
    gateway = _spawn(command, logins.gateway.child_env(os.environ), logs["open311 gateway"])
    services = IntakeServices(f"http://127.0.0.1:{port}", dsn, key, gateway, sink, logs)
    try:
        _wait_until_answering(services, timeout)
    except BaseException:
        services.stop()
        raise
    return services


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_until_answering(services: IntakeServices, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        services.check()
        try:
            if httpx.get(services.services_url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise ServiceFailed(f"the open311 gateway did not answer within {timeout:.0f} s; "
                                f"see {services.logs['open311 gateway']}")
        time.sleep(0.3)


def through_api(event: GeneratedEvent, share: float) -> bool:
    """Whether a generated event goes through the API: valid citizens' complaints, `share` of them, chosen by
    their event id (so the same traffic splits the same way)."""
    if event.kind != "PetitionComplaint" or event.value is None or not event.truth.valid or share <= 0:
        return False
    digest = hashlib.sha256(str(event.value["event_id"]).encode()).digest()
    return int.from_bytes(digest[:8], "big") < share * 2**64


def service_request_form(complaint: Mapping[str, Any]) -> dict[str, str]:
    """The GeoReport v2 form a citizen's app would post for a generated complaint (schemas/PetitionComplaint.avsc):
    the location with its datum, the description, the reporter's name and phone, and the category's attributes."""
    location = complaint["location"]
    form = {"service_code": complaint["category"], "description": complaint["description"],
            "attribute[severity]": complaint["severity"],
            "attribute[suspected_crime]": "true" if complaint["suspected_crime"] else "false",
            "attribute[cross_district]": "true" if complaint["cross_district"] else "false"}
    if location["latitude"] is not None and location["longitude"] is not None:
        form |= {"lat": repr(location["latitude"]), "long": repr(location["longitude"]), "datum": location["datum"]}
    if location["address"]:
        form["address_string"] = location["address"]
    person = complaint["complainant"] or {}
    if person.get("name"):
        form["first_name"] = person["name"]  # a Chinese name whole, family name first
    if person.get("phone"):
        form["phone"] = person["phone"]
    if complaint["key_entity"]:
        form["attribute[key_entity]"] = complaint["key_entity"]
    media = [a for a in complaint["attachments"] if a.startswith(("http://", "https://"))]
    if media:
        form["media_url"] = media[0]
    return form


@dataclass
class ApiSubmissions:
    """What the demo posted to the API: the service request ids it got back, and every answer that was not 201."""

    accepted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # "<status>: <description>" -> count
    retried: int = 0  # 503 answers (broker unavailable), each retried after its Retry-After


class ApiSubmitter:
    """Posts complaints to the gateway, one request each, as a partner's app does: the event id is its
    Idempotency-Key, so a retry after a 503 or a lost answer never opens a second case."""

    def __init__(self, services: IntakeServices, retries: int = 5) -> None:
        self.services, self.retries = services, retries
        self.client = httpx.Client(base_url=services.url, timeout=30)
        self.done = ApiSubmissions()

    def submit(self, complaint: Mapping[str, Any]) -> None:
        form = {**service_request_form(complaint), "api_key": self.services.key}
        headers = {"Idempotency-Key": str(complaint["event_id"])}
        for _attempt in range(self.retries):
            answer = self.client.post(f"{BASE}/requests.json", data=form, headers=headers)
            if answer.status_code == 201:
                self.done.accepted.append(answer.json()[0]["service_request_id"])
                return
            if answer.status_code != 503:
                break
            self.done.retried += 1
            time.sleep(float(answer.headers.get("Retry-After", "1")))
        self.done.refused[_error_text(answer)] += 1

    def split(self, events: Iterable[GeneratedEvent], share: float) -> Iterator[GeneratedEvent]:
        """The events not for the API, after posting those that are (in the traffic's order)."""
        for event in events:
            if through_api(event, share):
                assert event.value is not None
                self.submit(event.value)
            else:
                yield event

    def statuses(self, ids: list[str]) -> list[dict[str, Any]]:
        """GET requests.json?service_request_id=a,b,… in chunks of 100 (the API's limit per lookup)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 100):
            answer = self.client.get(f"{BASE}/requests.json",
                                     params={"service_request_id": ",".join(ids[start:start + 100])})
            answer.raise_for_status()
            found.extend(answer.json())
        return found

    def close(self) -> None:
        self.client.close()


def _error_text(answer: httpx.Response) -> str:
    try:
        errors = answer.json()
        return f"{answer.status_code}: {errors[0]['description']}"
    except (ValueError, LookupError, TypeError):
        return f"{answer.status_code}: {answer.text[:200]}"


def in_store(statuses: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The statuses answered from the case store: a request not there yet has no service_code."""
    return [s for s in statuses if s.get("service_code")]
