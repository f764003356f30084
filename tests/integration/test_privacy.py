"""The complainant's identity stays in one place (issue 9), on the real broker with the real worker.

Generated Wenzhou traffic (complaints with names, phones and identity card numbers, patrol reports, repeats,
broken input) goes through a worker with the demo's department simulator, whose departments and grids log in
as themselves and answer every copy they read (acknowledge, transfer, escalate, resolve); then ticks move the
clock months on, so deadlines are judged and breaches escalate. Then every record of every topic that is not restricted is read back, and its
Avro-decoded fields (every string, recursively, map keys included), its key and its headers are searched
for every generated name, phone number and identity card number: none may be there. The tables'
changelog topics are searched the same way (decoded by the state codec).

Restricted, and so not searched: `intake.petition-complaints` and `internal.located` (the complaints
themselves, byte for byte: the intake gateways and the pipeline), `restricted.complainant-identity` (the
feedback gateway and the auditor), `deadletter` (ops: dead intake records keep their original bytes).

And the restricted topic still lets the feedback gateway reach every complainant: each feedback to a
complainant names a report id, and the identity topic has that report's complainant, phone included.

A generated name can also be part of a place name (黄华 in 黄华堡村委会): a name found in a string is a
leak unless every occurrence of it lies inside a grid or department name of the reference data.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from envgrid.connectors.serde import UndecodableRecord
from envgrid.domain.departments import load_departments
from envgrid.domain.privacy import ComplainantIdentity
from envgrid.domain.routing.context import load_routing_context
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish
from envgrid.streams.state_codec import decode_state
from envgrid.streams.watermark import progress_of
from tests.integration.changelog_fixture import TABLES
from tests.integration.pipeline_process import SimulatorProgress, WorkerProcess, prepare, read_raw, send_ticks
from tests.unit.pipeline.harness import TEST_PSEUDONYMISER

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

EVENTS = 2_000
CONFIG = GeneratorConfig(kind_shares={"PetitionComplaint": 0.8, "PatrolReport": 0.2, "DepartmentNotice": 0.0},
                         broken_share=0.02, duplicate_share=0.05)
RESTRICTED = ("intake.petition-complaints", "internal.located", "restricted.complainant-identity", "deadletter")


def test_no_topic_but_the_restricted_ones_holds_a_complainants_identity(cluster, unique_name, tmp_path):
    prefix = unique_name("privacy")
    catalogue, codec = prepare(cluster, prefix)
    events = list(generate(seed=909, count=EVENTS, config=CONFIG))
    complaints = {e.value["event_id"]: e.value for e in events
                  if e.kind == "PetitionComplaint" and e.value is not None and e.truth.valid}
    # searched for: the identities of every generated complaint, also those the pipeline refuses
    personal = _personal_data(e.value for e in events if e.kind == "PetitionComplaint" and e.value is not None)
    assert min(len(values) for values in personal.values()) > 50, {k: len(v) for k, v in personal.items()}

    producer = make_producer(cluster)
    worker = WorkerProcess(cluster, prefix, tmp_path / "state", processors="router,cases,departments").start()
    try:
        result = publish(producer, codec, events, intake_topics(catalogue), flush_timeout_s=600)
        assert not result.failed and sum(result.delivered.values()) == len(events)
        _drain(worker, cluster, prefix, catalogue)
        last = max(complaint["received_at"] for complaint in complaints.values())
        for days in (3, 20, 90):  # warnings, breaches and the escalations they cause, and the answers to those
            send_ticks(producer, codec, catalogue, last + timedelta(days=days))
            _drain(worker, cluster, prefix, catalogue, ticks=True)
    finally:
        worker.stop()

    restricted = {catalogue.topic(name) for name in RESTRICTED}
    open_topics = [name for name in catalogue.names() if name not in restricted]
    changelogs = [f"{prefix}-{table}-changelog" for table in TABLES]
    scan = Scan(personal, _reference_names())
    read = read_raw(cluster, open_topics + changelogs + [catalogue.topic("restricted.complainant-identity")])
    for topic in open_topics + changelogs:
        for key, value, headers in read.get(topic, []):
            if value is None:
                decoded: Any = None  # a tombstone
            elif topic in changelogs:
                decoded = decode_state(value)
            else:
                try:
                    decoded = codec.decode(value, topic)[1]
                except UndecodableRecord:  # the generator's broken input on an intake topic: its bytes as text
                    decoded = _text(value)
            scan.record(topic, key, decoded, headers)
    print(f"\nprivacy scan: {scan.records:,} records on {len(open_topics)} open topics and {len(changelogs)} changelogs "
          f"({scan.records_by_kind['topic']:,} + {scan.records_by_kind['changelog']:,}); {scan.fields:,} string fields "
          f"and keys, and {scan.headers:,} headers, searched for {len(personal['name']):,} names, {len(personal['phone']):,} "
          f"phones, {len(personal['id_number']):,} id numbers: {len(scan.leaks)} hits; "
          f"{scan.explained} name matches inside place or department names")
    assert scan.records > 5 * len(complaints), "too little traffic reached the open topics to prove anything"
    assert not scan.leaks, f"{len(scan.leaks)} personal values found, e.g. {scan.leaks[:5]}"

    # the same scan over the restricted identity topic finds every phone and id number: it would see a leak
    control, identity_topic = Scan(personal, _reference_names()), catalogue.topic("restricted.complainant-identity")
    for key, value, headers in read.get(identity_topic, []):
        control.record(identity_topic, key, codec.decode(value, identity_topic)[1], headers)
    accepted = _personal_data(complaints.values())
    assert {found for _, _, found in control.leaks} >= accepted["phone"] | accepted["id_number"]

    _the_gateway_reaches_every_complainant(codec, catalogue, read, complaints)
    _copies_carry_the_complainants_token(codec, catalogue, read, complaints)


# --- what the scan looks for --------------------------------------------------------------------------

def _personal_data(complaints) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"name": set(), "phone": set(), "id_number": set()}
    for complaint in complaints:
        for field, value in (complaint["complainant"] or {}).items():
            if value:
                found[field].add(value)
    return found


def _reference_names() -> set[str]:
    """Names of the reference data the pipeline writes itself: every grid of every registry version, and
    the departments'. A complainant's name inside one of them is the place's, not the person's."""
    registry = load_routing_context().registry
    names = {grid.name for version in getattr(registry, "versions", [registry]) for grid in version.grids.values()}
    return names | {department.name_zh for department in load_departments()}


class Scan:
    """Searches texts for the generated personal values: phones (11 digits) and id numbers (18) in every
    run of digits, names (2–3 characters) at every position, so a record costs its length, not the
    number of values searched for."""

    _DIGITS = re.compile(r"[0-9Xx]{11,}")

    def __init__(self, personal: dict[str, set[str]], reference_names: set[str]) -> None:
        self.numbers = personal["phone"] | personal["id_number"]
        self.number_lengths = sorted({len(n) for n in self.numbers})
        self.names = personal["name"]
        self.name_lengths = sorted({len(n) for n in self.names})
        self.places_with = {name: sorted((ref for ref in reference_names if name in ref), key=len, reverse=True)
                            for name in self.names}
        self.records = self.fields = self.headers = self.explained = 0
        self.records_by_kind: Counter[str] = Counter()
        self.leaks: list[tuple[str, str, str]] = []

    def record(self, topic: str, key: bytes | None, value: Any, headers: list[tuple[str, bytes | None]]) -> None:
        self.records += 1
        self.records_by_kind["changelog" if topic.endswith("-changelog") else "topic"] += 1
        self.headers += len(headers)
        for name, data in headers:
            self._search(topic, f"header {name}", f"{name}={_text(data)}")
        for where, text in [("key", _text(key)), *_strings(value, "value")]:
            self.fields += 1
            self._search(topic, where, text)

    def _search(self, topic: str, where: str, text: str) -> None:
        for run in self._DIGITS.findall(text):
            for length in self.number_lengths:
                for start in range(len(run) - length + 1):
                    if run[start:start + length] in self.numbers:
                        self.leaks.append((topic, where, run[start:start + length]))
        for length in self.name_lengths:
            for start in range(len(text) - length + 1):
                name = text[start:start + length]
                if name in self.names:
                    self._name_found(topic, where, text, name)

    def _name_found(self, topic: str, where: str, text: str, name: str) -> None:
        rest = text
        for place in self.places_with[name]:
            rest = rest.replace(place, "")
        if name in rest:
            self.leaks.append((topic, where, name))
        else:
            self.explained += 1


def _strings(value: Any, where: str):
    """(path, text) of every string in a decoded value: fields, list items, map keys and values."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, bytes):
        yield where, _text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.<key>", str(key)
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item, f"{where}[]")
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield from _strings(getattr(value, name), f"{where}.{name}")
    elif hasattr(value, "to_state"):  # the duplicate index
        yield from _strings(value.to_state(), f"{where}.state")


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", "replace")


# --- the restricted topic still reaches the complainant ------------------------------------------------

def _the_gateway_reaches_every_complainant(codec, catalogue, read, complaints) -> None:
    feedback_topic, identity_topic = catalogue.topic("case.feedback"), catalogue.topic("restricted.complainant-identity")
    identities = {}
    for key, value, _ in read.get(identity_topic, []):
        record = codec.decode(value, identity_topic)[1]
        assert key.decode() == record["report_id"]
        identities[record["report_id"]] = record
    to_complainants = [codec.decode(value, feedback_topic)[1] for _, value, _ in read.get(feedback_topic, [])]
    to_complainants = [f for f in to_complainants if f["audience"] == "COMPLAINANT"]
    assert len(to_complainants) > len(complaints) / 2, "too little feedback to complainants to prove anything"
    reached = Counter()
    for feedback in to_complainants:
        identity = identities.get(feedback["recipient"])
        assert identity is not None, f"feedback {feedback['event_id']}: no identity record for {feedback['recipient']}"
        complaint = complaints[feedback["recipient"]]
        assert identity["identity"] == complaint["complainant"]
        assert identity["channel"] == feedback["channel"] == complaint["channel"]
        phone = (complaint["complainant"] or {}).get("phone")
        if phone:
            assert identity["identity"]["phone"] == phone
            reached["by phone"] += 1
        else:
            reached["by channel (no phone given)"] += 1
    print(f"feedback to complainants: {len(to_complainants):,}, every one joined to its identity record "
          f"by report id ({dict(reached)}); {len(identities):,} identity records")


def _copies_carry_the_complainants_token(codec, catalogue, read, complaints) -> None:
    copies = [codec.decode(value, topic)[1] for topic in read if catalogue.event_type_of(topic) == "CaseDispatched"
              for _, value, _ in read[topic]]
    with_token = 0
    for copy in copies:
        complaint = complaints.get(copy["source_event_id"])
        identity = (complaint or {}).get("complainant")
        expected = TEST_PSEUDONYMISER.pseudonym(ComplainantIdentity(**identity)) if identity else None
        assert copy["complainant"] is None
        assert copy["complainant_token"] == (expected.token if expected else None), copy["event_id"]
        with_token += copy["complainant_token"] is not None
    assert with_token > len(complaints) / 2
    print(f"department, grid and triage copies: {len(copies):,}, {with_token:,} with the complainant's token")


# --- running -----------------------------------------------------------------------------------------

def _drain(worker: WorkerProcess, cluster, group: str, catalogue, ticks: bool = False) -> None:
    """Until the group has committed everything it consumes (intake, internal hops, the notices) and the
    department simulator, in each unit's own group, everything it answers (it commits a copy after sending the
    notices due for it, at once on the manual clock), three checks in a row."""
    inputs = [catalogue.intake(kind) for kind in ("PetitionComplaint", "PatrolReport")] + catalogue.notice_topics()
    internal = [catalogue.topic("internal.located"), catalogue.topic("internal.case-commands")]
    topics = inputs + internal + ([catalogue.topic("internal.sla-ticks")] if ticks else [])
    worker.wait_for(lambda: all(worker.consumed(t) > 0 for t in inputs[:2] + internal), 600, "the worker to start")
    progress = progress_of(cluster, group, catalogue, topics, lambda value, topic: ("", {}))
    simulator = SimulatorProgress(cluster, catalogue, group)
    streak = [0]

    def drained() -> bool:
        streak[0] = streak[0] + 1 if simulator.caught_up() and progress.caught_up() else 0
        time.sleep(0.5)
        return streak[0] >= 3

    try:
        worker.wait_for(drained, 900, "the worker to drain its inputs",
                        lambda: f"pipeline behind: {progress.behind()}; simulator behind: {simulator.behind()}")
    finally:
        progress.close()
        simulator.close()
