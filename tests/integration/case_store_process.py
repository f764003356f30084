"""Helpers for tests of the case store against the real broker and real PostgreSQL: a database per test, the
sink as its own process (as the `case-store` principal), and the comparison of the store with the topics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from envgrid.connectors.settings import CASE_STORE_DSN_ENV
from tests.integration.pipeline_process import REPO


def case_store_admin_dsn(cluster_is_local: bool) -> str:
    """The DSN of a PostgreSQL superuser (or a role that may create databases and roles): ENVGRID_CASE_STORE_DSN,
    else the local cluster's PostgreSQL, started for this session and stopped with the cluster."""
    configured = os.environ.get(CASE_STORE_DSN_ENV, "").strip()
    if configured:
        return configured
    if not cluster_is_local:
        pytest.skip(f"an external cluster without {CASE_STORE_DSN_ENV}: no PostgreSQL to test the case store on")
    from envgrid.localcluster.cluster import LocalCluster

    return LocalCluster().case_store_up(owner="session")


def fresh_database(admin_dsn: str, name: str) -> str:
    """A new empty database for one test; returns its DSN (the same user)."""
    database = "it_" + "".join(c if c.isalnum() else "_" for c in name.lower())[-50:]
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    return make_conninfo(admin_dsn, dbname=database)


def sink_cluster(cluster):
    """The cluster as the `case-store` principal (its ACLs set for the test's prefix by `grant_units`) on the local
    secured cluster; else as the session's own principal."""
    from envgrid.localcluster.cluster import LocalCluster
    from envgrid.localcluster.errors import LocalClusterError

    local = LocalCluster()
    if local.status().get("security") != "sasl":
        return cluster
    try:
        return local.addresses("case-store") or cluster
    except LocalClusterError:  # a cluster started before the principal existed
        return cluster


class SinkProcess:
    """`python -m envgrid.connectors.case_store run` in its own process group."""

    def __init__(self, cluster, prefix: str, dsn: str, group: str, log: Path | None = None) -> None:
        self.cluster, self.prefix, self.dsn, self.group = cluster, prefix, dsn, group
        self.log = log or REPO / "var" / "log" / f"test-case-store-{prefix}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> SinkProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**self.cluster.child_env(os.environ), CASE_STORE_DSN_ENV: self.dsn}
        command = [sys.executable, "-m", "envgrid.connectors.case_store", "run", "--topic-prefix", self.prefix,
                   "--group", self.group, "--instance-id", f"{self.group}-0", "--batch", "500", "--report-every", "5",
                   "--loglevel", "info"]
        self.process = subprocess.Popen(command, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                        env=env, start_new_session=True, cwd=REPO)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, whatever transaction or commit was under way."""
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else ["(no log)"]
        return "--- case store sink log (end) ---\n" + "\n".join(text[-lines:])


def wait_until(predicate, timeout: float, what: str, sink: SinkProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if sink is not None:
            assert sink.alive(), f"the sink died; see {sink.log}\n{sink.log_tail()}"
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}" + (
            f"\n{sink.log_tail()}" if sink else "")
        time.sleep(0.5)


def count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM case_store.{table}").fetchone()
        return int(row[0]) if row else 0


def dump(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every case table, sorted: to compare a store before and after a replay."""
    tables = ("cases", "case_revisions", "case_deadlines", "case_units", "case_feedback", "case_sla_events",
              "skipped_records")
    with psycopg.connect(dsn) as conn:
        return {table: sorted(conn.execute(f"SELECT * FROM case_store.{table}").fetchall(), key=repr) for table in tables}


def differences(dsn: str, history: list[dict], feedback: list[dict], sla: list[dict]) -> list[str]:
    """Every way the store differs from the records of case.history, case.feedback and case.sla, case by case.
    Independent of the sink's mapping: it reads the records' fields and the store's columns by name."""
    found: list[str] = []
    with psycopg.connect(dsn) as conn:
        conn.row_factory = psycopg.rows.dict_row
        revisions = {r["event_id"]: r for r in conn.execute("SELECT * FROM case_store.case_revisions")}
        cases = {r["case_id"]: r for r in conn.execute("SELECT * FROM case_store.cases")}
        deadlines: dict[str, dict[str, dict]] = defaultdict(dict)
        for r in conn.execute("SELECT * FROM case_store.case_deadlines"):
            deadlines[r["case_id"]][r["milestone"]] = r
        units = {(r["case_id"], r["unit"]): r["first_revision"] for r in conn.execute("SELECT * FROM case_store.case_units")}
        stored_feedback = {r["event_id"]: r for r in conn.execute("SELECT * FROM case_store.case_feedback")}
        stored_sla = {r["event_id"]: r for r in conn.execute("SELECT * FROM case_store.case_sla_events")}
        skipped = conn.execute("SELECT * FROM case_store.skipped_records").fetchall()
    found += [f"skipped record {row}" for row in skipped]

    by_case: dict[str, list[dict]] = defaultdict(list)
    for value in {v["event_id"]: v for v in history}.values():
        by_case[value["case_id"]].append(value)
        row = revisions.get(value["event_id"])
        if row is None:
            found.append(f"history entry {value['event_id']} is not in case_revisions")
            continue
        for field in ("case_id", "revision", "kind", "occurred_at", "from_state", "to_state", "cause_event_id",
                      "actor_unit", "reason", "details"):
            if row[field] != value[field]:
                found.append(f"{value['event_id']}: {field} is {row[field]!r} in the store, {value[field]!r} on the topic")
        if row["snapshot"] != _json(value["case"]):
            found.append(f"{value['event_id']}: its snapshot differs")
    found += [f"case_revisions has {event_id}, which case.history has not" for event_id in revisions.keys() - {
        v["event_id"] for v in history}]

    for case_id, entries in by_case.items():
        latest = max(entries, key=lambda v: v["revision"])
        snapshot, row = latest["case"], cases.get(case_id)
        if row is None:
            found.append(f"case {case_id} is in case.history but not in cases")
            continue
        expected = {"revision": latest["revision"], "updated_at": latest["occurred_at"],
                    **{k: v for k, v in snapshot.items() if k != "deadlines"}}
        for field, value in expected.items():
            if row[field] != value:
                found.append(f"case {case_id}: {field} is {row[field]!r} in the store, {value!r} in revision "
                             f"{latest['revision']} of its history")
        want = {d["milestone"]: d for d in snapshot["deadlines"]}
        if want.keys() != deadlines[case_id].keys():
            found.append(f"case {case_id}: deadlines {sorted(deadlines[case_id])} in the store, {sorted(want)} in its history")
        for milestone, d in want.items():
            got = deadlines[case_id].get(milestone)
            if got and {k: got[k] for k in d} != d:
                found.append(f"case {case_id}: deadline {milestone} is {got} in the store, {d} in its history")
        parts: dict[str, int] = {}
        for entry in sorted(entries, key=lambda v: v["revision"]):
            s = entry["case"]
            for unit in (s["lead_department"], *s["assisting_departments"], *s["open_tasks"], *s["grid_chain"]):
                if unit:
                    parts.setdefault(unit, entry["revision"])
        stored_parts = {unit: first for (cid, unit), first in units.items() if cid == case_id}
        if stored_parts != parts:
            found.append(f"case {case_id}: units {stored_parts} in the store, {parts} from its history")
    found += [f"cases has {case_id}, which case.history has not" for case_id in cases.keys() - by_case.keys()]

    for name, records, stored in (("case_feedback", feedback, stored_feedback), ("case_sla_events", sla, stored_sla)):
        topic_ids = {v["event_id"] for v in records}
        found += [f"{name} has {event_id}, which its topic has not" for event_id in stored.keys() - topic_ids]
        for value in records:
            row = stored.get(value["event_id"])
            if row is None:
                found.append(f"{name} misses {value['event_id']}")
                continue
            for field, topic_value in value.items():
                if row[field] != topic_value:
                    found.append(f"{name} {value['event_id']}: {field} is {row[field]!r}, {topic_value!r} on the topic")
    return found


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.isoformat(), ensure_ascii=False))
