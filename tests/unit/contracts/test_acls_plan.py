"""The ACL plan generated from the catalogue and config/principals.yaml, without a cluster; and the README's
"who can read and write what" table is that plan's table, generated from the same data."""

from __future__ import annotations

from pathlib import Path

from envgrid.connectors.acls import Acl, access_table, plan_acls
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.principals import load_principals

CATALOGUE = Catalogue.load(prefix="envgrid", env={})
PRINCIPALS = load_principals()
PLAN = plan_acls(CATALOGUE, PRINCIPALS)
README = Path(__file__).resolve().parents[3] / "README.md"


def _of(name: str) -> set[tuple[str, str, str]]:
    return {(acl.operation, acl.resource, acl.name) for acl in PLAN if acl.principal == f"User:{name}"}


def test_a_department_reads_its_own_topics_and_writes_its_own_notices_only():
    assert _of("dept-epb") == {
        ("READ", "TOPIC", "envgrid.dept.epb.cases"), ("DESCRIBE", "TOPIC", "envgrid.dept.epb.cases"),
        ("READ", "TOPIC", "envgrid.notices.dept.epb"), ("DESCRIBE", "TOPIC", "envgrid.notices.dept.epb"),
        ("WRITE", "TOPIC", "envgrid.notices.dept.epb"),
        ("READ", "GROUP", "dept-epb"), ("DESCRIBE", "GROUP", "dept-epb"),
    }


def test_no_principal_but_the_pipeline_and_the_auditor_reads_another_units_topics():
    for acl in PLAN:
        if acl.resource != "TOPIC" or acl.operation != "READ" or acl.principal in ("User:pipeline", "User:auditor"):
            continue
        for spec in CATALOGUE.topics:
            if spec.name == acl.name and spec.owner is not None:
                assert acl.principal.endswith(f"-{spec.owner[1]}"), f"{acl} reads another unit's topic"


def test_the_auditor_and_ops_write_nothing_a_unit_owns_and_ops_reads_no_case():
    assert not [a for a in PLAN if a.principal == "User:auditor" and a.operation in ("WRITE", "ALL")]
    ops_reads = {a.name for a in PLAN if a.principal == "User:ops" and a.operation == "READ" and a.resource == "TOPIC"}
    # the draws it publishes (to find a grid's previous draw): no case content, no personal data
    assert ops_reads == {"envgrid.deadletter", "envgrid.internal.spot-check-draws"}
    assert not [a for a in PLAN if a.principal == "User:ops" and a.operation == "WRITE" and "notices." in a.name]


def test_the_auditor_reads_everything_the_audit_reads():
    """`python -m envgrid.audit`: case.history, case.feedback, case.sla and the intake topics (re-deciding)."""
    reads = {a.name for a in PLAN if a.principal == "User:auditor" and a.operation == "READ" and a.resource == "TOPIC"}
    needed = {CATALOGUE.topic(name) for name in ("case.history", "case.feedback", "case.sla",
                                                   "intake.petition-complaints", "intake.patrol-reports")}
    assert needed <= reads
    assert ("READ", "GROUP", "auditor") in _of("auditor")


def test_only_the_pipeline_may_do_everything():
    assert {a.principal for a in PLAN if a.operation == "ALL"} == {"User:pipeline"}
    assert Acl("User:pipeline", "TOPIC", "LITERAL", "*", "ALL") in PLAN


def test_the_readme_table_is_generated_from_the_same_data():
    table = access_table(CATALOGUE, PRINCIPALS)
    assert table in README.read_text(encoding="utf-8"), (
        "README's 'Who can read and write what' table differs from the ACL data; regenerate it with "
        "`python -m envgrid.connectors.catalogue acls` and paste the table")
