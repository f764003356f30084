"""Topic catalogue: expansion, overrides and lookups, without a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgrid.connectors.catalogue import Catalogue, CatalogueError
from envgrid.connectors.contracts import EVENT_TYPES

DEPARTMENTS = ("epb", "housing")
GRIDS = ("330302", "330383", "330391")
DAY_MS = 86_400_000


def _load(**kwargs) -> Catalogue:
    return Catalogue.load(departments=DEPARTMENTS, grids=GRIDS, env=kwargs.pop("env", {}), **kwargs)


def test_every_topic_of_the_design_is_there() -> None:
    names = set(_load().names())
    assert names == {
        "envgrid.intake.petition-complaints", "envgrid.intake.patrol-reports", *(f"envgrid.notices.dept.{d}" for d in DEPARTMENTS), *(f"envgrid.notices.grid.{g}" for g in GRIDS),
        "envgrid.notices.complainants",
        "envgrid.dept.epb.cases", "envgrid.dept.housing.cases",
        "envgrid.grid.330302.cases", "envgrid.grid.330383.cases", "envgrid.grid.330391.cases",
        "envgrid.triage.cases", "envgrid.case.history", "envgrid.case.feedback", "envgrid.case.sla",
        "envgrid.deadletter", "envgrid.restricted.complainant-identity",
        "envgrid.internal.located", "envgrid.internal.case-commands", "envgrid.internal.sla-ticks",
        "envgrid.internal.calendar", "envgrid.internal.spot-check-draws",
    }


def test_settings_of_some_topics() -> None:
    catalogue = _load()
    complaints = catalogue.spec("envgrid.intake.petition-complaints")
    assert (complaints.schema, complaints.partitions, complaints.replication_factor) == ("PetitionComplaint", 12, 1)
    assert complaints.configs == {"cleanup.policy": "delete", "retention.ms": str(400 * DAY_MS), "min.insync.replicas": "1"}
    assert "event id" in complaints.key.lower()
    assert catalogue.spec("envgrid.dept.epb.cases").partitions == 3
    assert catalogue.spec("envgrid.deadletter").key.startswith("Source topic")
    carried = {schema for spec in catalogue.topics for schema in spec.schema.split("|")}
    assert carried == set(EVENT_TYPES)
    assert catalogue.event_type_of("envgrid.internal.located") is None  # several types: codec accepts any


def test_lookups_by_target_intake_and_name() -> None:
    catalogue = _load()
    assert catalogue.topic_for(("department", "epb")) == "envgrid.dept.epb.cases"
    assert catalogue.topic_for(("GRID", "330383")) == "envgrid.grid.330383.cases"
    assert catalogue.topic_for(("triage", "")) == "envgrid.triage.cases"
    assert catalogue.notice_topic("DEPARTMENT", "epb") == "envgrid.notices.dept.epb"
    assert catalogue.input_topic("DepartmentNotice", {"unit_kind": "GRID", "unit_code": "330383"}) == \
        "envgrid.notices.grid.330383"
    assert catalogue.topic("case.history") == "envgrid.case.history"
    assert catalogue.event_type_of("envgrid.dept.epb.cases") == "CaseDispatched"
    assert catalogue.event_type_of("envgrid.grid.330302.cases") is None  # dispatches and the grid's 双随机 draws
    assert catalogue.event_type_of("someone.else") is None
    assert len(catalogue.by_template("dept.{department}.cases")) == len(DEPARTMENTS)


def test_unknown_codes_and_names_say_what_to_do() -> None:
    catalogue = _load()
    with pytest.raises(CatalogueError, match="not a known department code.*config/departments.yaml"):
        catalogue.topic_for(("department", "nasa"))
    with pytest.raises(CatalogueError, match="intake event types: PatrolReport, PetitionComplaint"):
        catalogue.intake("SlaEvent")
    with pytest.raises(CatalogueError, match="no single topic"):
        catalogue.topic("dept.{department}.cases")


def test_prefix_profile_and_environment_overrides() -> None:
    catalogue = _load(prefix="it.abc")
    assert catalogue.topic("deadletter") == "it.abc.deadletter"
    production = _load(profile="production")
    spec = production.spec("envgrid.case.history")
    assert spec.replication_factor == 3 and spec.configs["min.insync.replicas"] == "2"
    env = {"ENVGRID_TOPIC_PREFIX": "staging", "ENVGRID_REPLICATION_FACTOR": "2", "ENVGRID_MIN_INSYNC_REPLICAS": "2",
           "ENVGRID_RETENTION_AUDIT_DAYS": "730"}
    overridden = _load(env=env)
    spec = overridden.spec("staging.case.history")
    assert spec.replication_factor == 2 and spec.configs["retention.ms"] == str(730 * DAY_MS)
    assert overridden.spec("staging.case.sla").configs["retention.ms"] == str(30 * DAY_MS)


def test_min_insync_above_replication_is_refused() -> None:
    with pytest.raises(CatalogueError, match="min.insync.replicas 2 must be between 1 and the replication factor 1"):
        _load(env={"ENVGRID_MIN_INSYNC_REPLICAS": "2"})


def test_broken_entries_are_named(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(
        "profiles: {local: {replication_factor: 1, min_insync_replicas: 1}}\n"
        "retention_classes: {working: 7}\n"
        "topics:\n  - {name: x.y, schema: Complaint, partitions: 1, retention: working, key: k}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=r"topics.yaml: topic x.y: schema 'Complaint' is not an event type"):
        Catalogue.load(path, departments=(), grids=(), env={})


def test_real_department_and_grid_codes_expand() -> None:
    catalogue = Catalogue.load(env={})
    assert catalogue.topic_for(("department", "epb")) == "envgrid.dept.epb.cases"
    grids = {spec.name.split(".")[2] for spec in catalogue.by_template("grid.{grid}.cases")}
    assert {"3303", "330302", "330383", "330391", "330392", "330393"} <= grids and len(grids) == 16  # city + 15 L2
