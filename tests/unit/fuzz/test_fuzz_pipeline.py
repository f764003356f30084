"""Hostile input through the real decode → route → case-desk path, in memory (issue 8, items 1, 2 and 4).

Each example restores a base pipeline (generated valid traffic: open cases, incident indexes, timers) and
puts 50 inputs through it, bytes encoded with the real codec (EventCodec, mock registry): 10 records drawn
by hypothesis strategies derived from the Avro schemas, and 40 hand-written nasty ones (non-finite or huge
coordinates, extreme dates, empty and huge strings, unknown enum symbols, reused ids with other content,
notices for other cases and units, absurd extensions, truncated and garbage bytes). For every input:
no exception; a refusal carries a reason code listed in docs/INPUT_CONTRACT.md and changes no state; the
kinds that must be refused are; and whatever is accepted encodes under the broker's message size limit.
`pytest -s` prints the table of input kind, count, refusals by reason and accepted.
"""

from __future__ import annotations

import io
import itertools
import math
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envgrid.connectors.contracts import load_event
from envgrid.connectors.serde import EventCodec
from envgrid.connectors.wire import HEADER, MAGIC_BYTE
from envgrid.domain.departments import department_codes
from envgrid.domain.duplicates import IncidentIndex
from envgrid.domain.intake_contract import MAX_RECORD_BYTES
from envgrid.simulator.generator import generate
from envgrid.streams.case_service import CaseState
from envgrid.streams.composition import notice_gate, routing_service
from envgrid.streams.routing_service import Intake, Refused
from envgrid.streams.state_codec import decode_state, encode_state
from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER, InMemoryPipeline

DOCS = Path(__file__).resolve().parents[3] / "docs" / "INPUT_CONTRACT.md"
DOCUMENTED = frozenset(re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE))
BROKER_LIMIT = 1_000_000
UTC = UTC
CODEC = EventCodec(MockSchemaRegistryClient({"url": "mock://fuzz"}), CATALOGUE.event_type_of)
TOPICS = {name: CATALOGUE.intake(name) for name in ("PetitionComplaint", "PatrolReport")}
TOPICS["DepartmentNotice"] = CATALOGUE.notice_topic("DEPARTMENT", "epb")  # encoding only: one subject per type


def notice_topic(data: bytes | None) -> str:
    """Where a department's client sends this notice: its unit's own topic; bytes that name no unit come
    from epb's (a client sending garbage on its own topic)."""
    try:
        return CATALOGUE.input_topic("DepartmentNotice", CODEC.decode(data, TOPICS["DepartmentNotice"])[1])
    except Exception:  # noqa: BLE001 - hostile bytes: any failure means "no unit named"
        return TOPICS["DepartmentNotice"]
EXAMPLES, SCHEMA_DRAWN, HAND_WRITTEN = 200, 10, 40

# kind -> reasons it may be refused for; an input of these kinds must be refused (never accepted)
MUST_REFUSE = {
    "report: extreme date": {"time_out_of_window"},
    "report: empty id": {"missing_id"},
    "report: huge field": {"field_too_long", "record_too_large", "too_many_items"},
    "report: unknown enum": {"avro_decode_error"},
    "report: reused id, other content": {"event_id_conflict"},
    "bytes: truncated or garbage": None,  # any DECODE reason
    "notice: dated 1970/2100/9999": {"time_out_of_window", "notice_outside_case_time"},
    "notice: absurd extension": {"invalid_extension"},
    "notice: unknown unit": {"unknown_unit", "forged_unit"},  # no unit of that code can log in: sent from another's topic
    "notice: empty or huge field": {"missing_id", "field_too_long", "record_too_large"},
}
TABLE: dict[str, Counter[str]] = defaultdict(Counter)
FRESH = itertools.count()  # fresh event ids (hypothesis' random repeats small numbers on purpose)
PROBLEMS: list[str] = []


# --- the base pipeline --------------------------------------------------------------------------

def _encode(event_name: str, value: dict[str, Any]) -> bytes:
    return CODEC.encode(event_name, value, TOPICS[event_name])


def _build_base() -> tuple[bytes, list[tuple[str, dict[str, Any], bytes]], list[dict[str, Any]]]:
    pipeline = InMemoryPipeline(routing=routing_service(CATALOGUE, CODEC.decode, TEST_PSEUDONYMISER))
    reports, notices = [], []
    for event in generate(seed=11, count=120):
        if event.value is None or event.truth.broken:
            continue
        data = _encode(event.kind, event.value)
        if event.kind == "DepartmentNotice":
            pipeline.notice(CODEC.decode(data, TOPICS[event.kind])[1])
            notices.append(event.value)
        elif isinstance(pipeline.report(data, TOPICS[event.kind]), Intake):
            reports.append((event.kind, event.value, data))
    state = pipeline.state  # written as the worker's tables write it; each example starts from a fresh read
    return encode_state((dict(pipeline.indexes), state.files, state.timers, state.buckets, state.cursors,
                         state.refused, state.held)), reports, notices


def _restore(base: bytes) -> tuple[defaultdict[str, IncidentIndex], CaseState]:
    indexes, *tables = decode_state(base)
    return defaultdict(IncidentIndex, indexes), CaseState(*tables)


BASE, REPORTS, NOTICES = _build_base()
PIPELINE = InMemoryPipeline(routing=routing_service(CATALOGUE, CODEC.decode, TEST_PSEUDONYMISER),
                            gate=notice_gate(CATALOGUE, CODEC.decode))  # state restored per example
_BASE_STATE: CaseState = _restore(BASE)[1]
OPEN_CASES = [(f.case.case_id, f.case.lead_department, f.case.created_at)
              for f in _BASE_STATE.files.values() if f.case.lead_department and not f.case.finished]
DEPARTMENTS = sorted(department_codes())
CATEGORIES = sorted({record["category"] for _, record, _ in REPORTS})


# --- strategies derived from the Avro schemas ---------------------------------------------------

_HINTS: dict[str, st.SearchStrategy[Any]] = {
    "category": st.sampled_from(CATEGORIES) | st.text(max_size=12),
    "case_id": st.sampled_from([c[0] for c in OPEN_CASES]) | st.text(max_size=20),
    "unit_code": st.sampled_from(DEPARTMENTS) | st.text(max_size=12),
    "grid_code": st.sampled_from(sorted({r["grid_code"] for k, r, _ in REPORTS if k == "PatrolReport"})) | st.text(),
}
_TIMES = st.datetimes(datetime(1970, 1, 1), datetime(9999, 12, 31), timezones=st.just(UTC)) | \
    st.datetimes(datetime(2024, 1, 1), datetime(2024, 12, 31), timezones=st.just(UTC))


def _strategy(schema: Any, names: dict[str, Any], field: str = "") -> st.SearchStrategy[Any]:
    if isinstance(schema, list):
        return st.one_of(*[_strategy(s, names, field) for s in schema])
    if isinstance(schema, str):
        if schema in names:
            return _strategy(names[schema], names, field)
        if field in _HINTS and schema == "string":
            return _HINTS[field]
        return {"null": st.none(), "boolean": st.booleans(), "int": st.integers(-2**31, 2**31 - 1),
                "long": st.integers(-2**63, 2**63 - 1), "double": st.floats(), "float": st.floats(width=32),
                "string": st.text(max_size=40), "bytes": st.binary(max_size=40)}[schema]
    kind = schema["type"]
    if schema.get("logicalType") == "timestamp-millis":
        return _TIMES
    if kind in ("record", "enum") and "name" in schema:
        names.setdefault(schema["name"], schema)
        names.setdefault(schema["name"].rsplit(".", 1)[-1], schema)
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: _strategy(f["type"], names, f["name"]) for f in schema["fields"]})
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(_strategy(schema["items"], names, field), max_size=4)
    if kind == "map":
        return st.dictionaries(st.text(max_size=8), _strategy(schema["values"], names, field), max_size=3)
    return _strategy(kind, names, field)


SCHEMA_RECORDS = st.one_of(*[st.tuples(st.just(name), _strategy(load_event(name).schema, {}))
                             for name in ("PetitionComplaint", "PatrolReport", "DepartmentNotice")])


# --- hand-written nasty inputs -----------------------------------------------------------------
# Each returns (kind, event name, bytes or None); a report or notice is a valid one, then spoiled.

NON_FINITE = [math.nan, math.inf, -math.inf, 1e308, -1e308, 181.0, -91.0, 5e-324]
EXTREME = [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(2100, 6, 1, tzinfo=UTC),
           datetime(1970, 1, 1, tzinfo=UTC), datetime(1901, 3, 1, tzinfo=UTC)]


def _report(rng: random.Random, fresh: bool = True) -> tuple[str, dict[str, Any], bytes]:
    """A valid report, copied; with a new event id unless `fresh` is False (a reuse)."""
    name, record, data = rng.choice(REPORTS)
    event_id = f"fuzz-r{next(FRESH)}" if fresh else record["event_id"]
    return name, dict(record, location=dict(record["location"]), event_id=event_id), data


def nasty(rng: random.Random) -> tuple[str, str, bytes | None]:
    pick = rng.randrange(14)
    if pick < 2:
        name, record, _ = _report(rng)
        record["location"].update(longitude=rng.choice(NON_FINITE), latitude=rng.choice(NON_FINITE + [27.9]))
        if rng.random() < 0.3:
            record["location"]["address"] = None
        return "report: NaN/inf/huge coordinates", name, _encode(name, record)
    if pick == 2:
        name, record, _ = _report(rng)
        when = rng.choice(EXTREME)
        field = rng.choice(["occurred_at", "received_at", "both", "after_receipt"])
        if field == "after_receipt":
            record["occurred_at"] = record["received_at"] + timedelta(hours=rng.choice([1, 48, 24 * 365]))
        elif field == "both":
            record.update(occurred_at=when, received_at=when)
        else:
            record[field] = when
            if field == "occurred_at" and when.year == 1901:
                record["received_at"] = when
        return "report: extreme date", name, _encode(name, record)
    if pick == 3:
        name, record, _ = _report(rng)
        record["event_id"] = rng.choice(["", " ", "\t"])
        return "report: empty id", name, _encode(name, record)
    if pick == 4:
        name, record, _ = _report(rng)
        field = rng.choice(["description", "description", "category", "event_id", "address", "evidence"])
        size = rng.choice([10_000, 70_000, 500_000])
        if field == "address":
            record["location"]["address"] = "街" * size
        elif field == "evidence":
            key = "evidence_refs" if name == "PatrolReport" else "attachments"
            record[key] = [f"evidence://{i}" for i in range(rng.choice([40, 5000]))]
        else:
            record[field] = "污" * size
        return "report: huge field", name, _encode(name, record)
    if pick == 5:
        name, record, data = _report(rng)
        return "report: unknown enum", name, _unknown_severity(name, record)
    if pick == 6:
        name, record, _ = _report(rng, fresh=False)
        record["description"] = record["description"] + rng.choice(["（补充）", " 又来了", "!"])
        return "report: reused id, other content", name, _encode(name, record)
    if pick == 7:
        name, _, data = _report(rng)
        return "report: redelivered bytes", name, data
    if pick == 8:
        name, _, data = _report(rng)
        cut = rng.choice([b"", b"\x00", b"\x01" + data[1:], data[:rng.randrange(len(data))],
                          data + b"\x00\x01", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))),
                          HEADER.pack(MAGIC_BYTE, 999_999) + data[5:], b"\x00" * (MAX_RECORD_BYTES + 1)])
        return "bytes: truncated or garbage", name, rng.choice([cut, cut, None])
    notice, case = _notice(rng)
    if pick == 9:
        notice.update(occurred_at=rng.choice(EXTREME), received_at=rng.choice(EXTREME + [notice["received_at"]]))
        return "notice: dated 1970/2100/9999", "DepartmentNotice", _encode("DepartmentNotice", notice)
    if pick == 10:
        notice.update(kind=rng.choice(["EXTENSION_REQUEST", "EXTENSION_DECISION"]),
                      extension_days=rng.choice([36_500, 1_000_000, 2**31 - 1, -1, -2**31, 366]),
                      reason="需要更多时间")
        return "notice: absurd extension", "DepartmentNotice", _encode("DepartmentNotice", notice)
    if pick == 11:
        notice["unit_code"] = rng.choice(["zz-nobody", "3303999", "EPB", "epb "])
        return "notice: unknown unit", "DepartmentNotice", _encode("DepartmentNotice", notice)
    if pick == 12:
        other = rng.choice(OPEN_CASES)
        notice.update(case_id=rng.choice([other[0], "WZ-0000000000000000", "not-a-case", case[0].lower()]),
                      unit_code=rng.choice(DEPARTMENTS))
        return "notice: other case or unit", "DepartmentNotice", _encode("DepartmentNotice", notice)
    field = rng.choice(["event_id", "case_id", "unit_code", "message", "message"])
    notice[field] = "" if field != "message" else "回" * rng.choice([9_000, 80_000])
    return "notice: empty or huge field", "DepartmentNotice", _encode("DepartmentNotice", notice)


def _notice(rng: random.Random) -> tuple[dict[str, Any], tuple[str, str, datetime]]:
    case = rng.choice(OPEN_CASES)
    at = case[2] + timedelta(minutes=rng.randrange(1, 600))
    notice = {"event_id": f"fuzz-n{next(FRESH)}", "occurred_at": at, "received_at": at,
              "case_id": case[0], "kind": "ACKNOWLEDGE", "unit_kind": "DEPARTMENT", "unit_code": case[1],
              "message": "已收到", "reason": None, "suggested_department": None, "assisting_departments": [],
              "resolution": None, "order": None, "extension_days": None}
    return notice, case


def _unknown_severity(name: str, record: dict[str, Any]) -> bytes:
    """The record written with a Severity enum that has one symbol more: a reader sees an index it lacks."""
    schema = _with_extra_severity(load_event(name).schema)
    body = fastavro.parse_schema(schema, _write_hint=False, _force=True)
    out = bytearray(HEADER.pack(MAGIC_BYTE, CODEC.schema_id(name)))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, body, dict(record, severity="APOCALYPTIC"))
    return bytes(out + buffer.getvalue())


def _with_extra_severity(schema: Any) -> Any:
    if isinstance(schema, dict):
        if schema.get("type") == "enum" and schema.get("name", "").endswith("Severity"):
            return dict(schema, symbols=[*schema["symbols"], "APOCALYPTIC"])
        return {k: _with_extra_severity(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_with_extra_severity(s) for s in schema]
    return schema


# --- the run -----------------------------------------------------------------------------------

def _snapshot(pipeline: InMemoryPipeline) -> Any:
    """Everything an input may change, as values compared by equality (cases and timers are frozen; the
    mutable containers are copied). Cheaper than writing the tables per input, and as strict: `refused` (the memory
    of refused notice attempts) is left out, and checked apart."""
    state = pipeline.state
    return (
        {k: (tuple(i._sightings), dict(i._handled), dict(i._digests)) for k, i in pipeline.indexes.items()},
        {k: (f.case, f.partition, id(f.dossier), {c: list(v) for c, v in f.sent.items()}) for k, f in state.files.items()},
        dict(state.timers), dict(state.buckets),
        {k: list(v) if isinstance(v, list) else v for k, v in state.cursors.items()},
        {k: list(v) for k, v in state.held.items()},
    )


def _put(pipeline: InMemoryPipeline, kind: str, event_name: str, data: bytes | None, before: Any) -> Any:
    """One input through the edge; returns the state snapshot after it."""
    refused_before = set(pipeline.state.refused)
    try:
        if event_name == "DepartmentNotice":
            admitted = pipeline.gate.admit(data, notice_topic(data))
            outcome: Any = admitted if isinstance(admitted, Refused) else pipeline.notice(admitted.record)
        else:
            outcome = pipeline.report(data, TOPICS[event_name])
    except Exception as error:  # noqa: BLE001 - the point of the test
        PROBLEMS.append(f"{kind}: raised {type(error).__name__}: {str(error)[:200]}")
        TABLE[kind]["EXCEPTION"] += 1
        return _snapshot(pipeline)
    refused = outcome if isinstance(outcome, Refused) else getattr(outcome, "refused", None)
    after = _snapshot(pipeline)
    if refused is not None:
        TABLE[kind][f"refused: {refused.reason_code}"] += 1
        if refused.reason_code not in DOCUMENTED:
            PROBLEMS.append(f"{kind}: undocumented reason {refused.reason_code}")
        allowed = MUST_REFUSE.get(kind)
        if allowed is not None and refused.reason_code not in allowed and kind in MUST_REFUSE:
            PROBLEMS.append(f"{kind}: refused as {refused.reason_code}, expected one of {sorted(allowed)}")
        if kind == "bytes: truncated or garbage" and refused.stage != "DECODE":
            PROBLEMS.append(f"{kind}: refused at {refused.stage}, not DECODE")
        if not getattr(outcome, "outputs", None) and after != before:
            PROBLEMS.append(f"{kind}: state changed after refusal {refused.reason_code}")
        # the attempt itself, plus at most the memory's own ring slot and counter (`RefusalMemory`)
        if len([k for k in set(pipeline.state.refused) - refused_before if "#" in k]) > 1:
            PROBLEMS.append(f"{kind}: more than the attempt remembered as refused")
        return after
    label = "held" if getattr(outcome, "held", 0) else "redelivered" if getattr(outcome, "redelivered", False) \
        or getattr(outcome, "replayed", False) else "accepted"
    TABLE[kind][label] += 1
    if kind in MUST_REFUSE:
        PROBLEMS.append(f"{kind}: wrongly {label}")
    if label == "redelivered" and after != before:
        PROBLEMS.append(f"{kind}: a redelivery changed state")
    for output in getattr(outcome, "outputs", []):
        _check_output(kind, output)
    return after


def _check_output(kind: str, output: Any) -> None:
    location = output.value.get("location") if isinstance(output.value, dict) else None
    if isinstance(location, dict):
        for axis in ("longitude", "latitude"):
            if location.get(axis) is not None and not math.isfinite(location[axis]):
                PROBLEMS.append(f"{kind}: output {output.event_name} carries non-finite {axis}")
    size = len(CODEC.encode(output.event_name, output.value, output.topic))
    if size > BROKER_LIMIT:
        PROBLEMS.append(f"{kind}: output {output.event_name} of {size:,} bytes")


@pytest.fixture(scope="module", autouse=True)
def table():
    yield
    if TABLE:
        print(_table_text())


@settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(rng=st.randoms(use_true_random=False),
       drawn=st.lists(SCHEMA_RECORDS, min_size=SCHEMA_DRAWN, max_size=SCHEMA_DRAWN))
def test_hostile_input_is_refused_with_a_documented_reason_and_changes_no_state(rng, drawn):
    pipeline = PIPELINE
    pipeline.indexes, pipeline.state = _restore(BASE)
    snapshot = _snapshot(pipeline)
    inputs = [nasty(rng) for _ in range(HAND_WRITTEN)]
    for event_name, value in drawn:
        try:
            data: bytes | None = _encode(event_name, value)
        except Exception:  # noqa: BLE001 - a draw the schema cannot hold (e.g. a bad time): garbage bytes then
            data = repr(value).encode()[:200]
        inputs.append((f"schema-drawn {event_name}", event_name, data))
    rng.shuffle(inputs)
    for kind, event_name, data in inputs:
        snapshot = _put(pipeline, kind, event_name, data, snapshot)
    assert not PROBLEMS, "\n".join(PROBLEMS[:20])


def test_every_reason_the_case_desk_can_give_is_documented():
    """What the random run above may or may not draw: every rejection code of the domain is in the table (the
    two duplicates are answers, not refusals; a breach that cannot escalate is published as the breach itself,
    never dead-lettered)."""
    from envgrid.domain.cases.effects import RejectionCode

    never_dead_letters = {RejectionCode.DUPLICATE_NOTICE.value, RejectionCode.DUPLICATE_REPORT.value,
                          RejectionCode.NOT_ESCALATABLE.value}
    assert {code.value for code in RejectionCode} - never_dead_letters - DOCUMENTED == set()


def test_the_fuzz_run_saw_enough_input():
    total = sum(sum(c.values()) for c in TABLE.values())
    assert total >= EXAMPLES * (SCHEMA_DRAWN + HAND_WRITTEN) >= 10_000
    assert not PROBLEMS


def _table_text() -> str:
    rows = ["| input kind | count | refused by reason | accepted (held, redelivered) |", "|---|---|---|---|"]
    for kind in sorted(TABLE):
        counts = TABLE[kind]
        refused = ", ".join(f"{k.removeprefix('refused: ')} {v}" for k, v in counts.most_common() if k.startswith("refused"))
        accepted = ", ".join(f"{k} {v}" for k, v in counts.items() if not k.startswith("refused"))
        rows.append(f"| {kind} | {sum(counts.values())} | {refused or '-'} | {accepted or '-'} |")
    total = Counter[str]()
    for counts in TABLE.values():
        total.update(counts)
    rows.append(f"| total | {sum(total.values())} | {sum(v for k, v in total.items() if k.startswith('refused'))} "
                f"| {sum(v for k, v in total.items() if not k.startswith('refused'))} |")
    return "\n" + "\n".join(rows)
