"""Department principals of the case store see only their own cases (real PostgreSQL, row-level security).

Three cases are written through the store: one led by epb, one led by housing with epb assisting, one of water
alone. A login role granted `envgrid_dept_epb` reads the first two and nothing of the third — not in a listing,
not by its id, not its history, feedback or SLA events —, writes nothing, and cannot read the sink's own table of
skipped records; housing's reads only its case; a login role without a department cannot reach the schema.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from envgrid.connectors.case_store.roles import ensure_department_roles, role_of
from envgrid.connectors.case_store.rows import Batch
from envgrid.connectors.case_store.store import CaseStore
from tests.integration.case_store_process import case_store_admin_dsn, fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def store(cluster_is_local, unique_name):
    dsn = fresh_database(case_store_admin_dsn(cluster_is_local), unique_name("access"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        store = CaseStore(conn)
        ensure_department_roles(conn, ["epb", "housing", "water"])
        ensure_department_roles(conn, ["epb"])  # again: nothing changes, nothing fails
        batch = Batch()
        for number, (lead, assisting) in enumerate([("epb", []), ("housing", ["epb"]), ("water", [])]):
            case_id = f"WZ-{number:016X}"
            batch.add_history(_entry(case_id, lead, assisting))
            batch.add_feedback({"event_id": f"{case_id}:1:accepted", "case_id": case_id, "occurred_at": T0,
                                "stage": "ACCEPTED", "audience": "COMPLAINANT", "recipient": f"report-{number}",
                                "channel": "WEB", "message": f"accepted by {lead}"})
            batch.add_sla({"event_id": f"{case_id}:resolve:0.5", "case_id": case_id, "occurred_at": T0, "kind": "WARNING",
                           "milestone": "resolve", "policy_id": "hotline", "fraction": 0.5, "started_at": T0,
                           "deadline": T0 + timedelta(days=5), "handler_unit": lead, "supervising_grid": "330302",
                           "calendar": "cn_official", "calendar_version": None})
        batch.add_skipped("envgrid.case.history", 0, 42, "avro_decode_error: test")
        store.write(batch)
        logins = {}
        for who, grant in (("epb", role_of("epb")), ("housing", role_of("housing")), ("nobody", None)):
            login = f"it_{who}_{secrets.token_hex(3)}"
            password = secrets.token_urlsafe(12)
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(login), sql.Literal(password)))
            if grant:
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(grant), sql.Identifier(login)))
            logins[who] = _as(dsn, login, password)
    yield logins
    with psycopg.connect(dsn, autocommit=True) as conn:
        for login in logins.values():
            name = conninfo_to_dict(login)["user"]
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_a_department_reads_its_own_cases_and_not_another_departments(store):
    epb, housing = store["epb"], store["housing"]
    assert _cases(epb) == ["WZ-0000000000000000", "WZ-0000000000000001"]
    assert _cases(housing) == ["WZ-0000000000000001"]
    water_case = "WZ-0000000000000002"
    for table in ("cases", "case_revisions", "case_deadlines", "case_feedback", "case_sla_events", "case_units"):
        assert _rows(epb, f"SELECT * FROM case_store.{table} WHERE case_id = %s", water_case) == [], table
    assert {r[0] for r in _rows(epb, "SELECT case_id FROM case_store.case_revisions")} == {
        "WZ-0000000000000000", "WZ-0000000000000001"}
    assert _rows(epb, "SELECT count(*) FROM case_store.case_feedback") == [(2,)]


def test_a_login_without_a_department_reads_no_case(store):
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema case_store"):
        _cases(store["nobody"])


def test_a_department_writes_nothing_and_cannot_read_the_sinks_own_tables(store):
    for statement in ("UPDATE case_store.cases SET state = 'closed'", "DELETE FROM case_store.case_revisions",
                      "SELECT * FROM case_store.skipped_records", "SELECT * FROM case_store.schema_version"):
        with psycopg.connect(store["epb"]) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def _entry(case_id: str, lead: str, assisting: list[str]) -> dict:
    snapshot = {"state": "dispatched", "category": "air", "channel": "web", "grid_chain": ["330302003", "330302", "3303"],
                "handling_level": 3, "handling_grid": "330302003", "supervising_grid": "330302", "lead_department": lead,
                "assisting_departments": assisting, "open_tasks": [], "handler_unit": lead, "reports": 1,
                "transfers": 0, "escalations": 0, "extension_pending": False, "created_at": T0, "acknowledged_at": None,
                "resolved_at": None, "closed_at": None,
                "deadlines": [{"milestone": "acknowledge", "clock": "running", "deadline": T0 + timedelta(hours=2),
                               "started_at": T0, "handler_unit": lead, "policy_id": "web", "breached": False,
                               "calendar": "cn_official"}]}
    return {"event_id": f"{case_id}:1:dispatched", "case_id": case_id, "occurred_at": T0, "kind": "dispatched",
            "from_state": "received", "to_state": "dispatched", "cause_event_id": "r", "actor_unit": None,
            "reason": f"lead {lead}", "details": {}, "revision": 1, "case": snapshot}


def _as(dsn: str, user: str, password: str) -> str:
    """The DSN of `user` on the same database (no password file: the password itself)."""
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if k not in ("passfile", "password", "user")}
    return make_conninfo(**params, user=user, password=password)


def _cases(dsn: str) -> list[str]:
    return sorted(row[0] for row in _rows(dsn, "SELECT case_id FROM case_store.cases"))


def _rows(dsn: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params or None).fetchall()
