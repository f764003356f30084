"""Records of scheduled tasks (envgrid.domain.tasks): the SpotCheckDrawn event <-> the domain's draw, and the
CaseDispatched dossier and copies of a task case, shaped as the router shapes a routed report's, so that the
case desk keeps, re-dispatches and records a task like any case."""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_never

from envgrid.connectors import records
from envgrid.domain.registry.model import RegistryVersion
from envgrid.domain.tasks.opening import TaskKind, TaskOpening
from envgrid.domain.tasks.spotcheck import DrawInputs, DrawnInspection, DrawnInspector, SpotCheckDraw


def draw_record(drawn: SpotCheckDraw, drawn_at: datetime) -> dict[str, Any]:
    """The SpotCheckDrawn value of a draw."""
    inputs = drawn.inputs
    return {
        "event_id": drawn.draw_id, "grid_code": drawn.grid_code, "grid_level": drawn.grid_level, "period": drawn.period,
        "published_value": drawn.published_value, "seed": drawn.seed, "algorithm_version": drawn.algorithm_version,
        "drawn_at": drawn_at,
        "inputs": {"entities_digest": inputs.entities_digest, "entities_count": inputs.entities_count,
                   "inspectors_digest": inputs.inspectors_digest, "inspectors_count": inputs.inspectors_count,
                   "rules_digest": inputs.rules_digest, "rules_version": inputs.rules_version,
                   "registry_version": inputs.registry_version, "previous_draw_id": inputs.previous_draw_id},
        "candidates": drawn.candidates, "requested": drawn.requested,
        "inspections": [{"case_id": i.case_id, "entity_id": i.entity_id, "entity_name": i.entity_name,
                         "entity_grid": i.entity_grid, "category": i.category, "shortfall": i.shortfall,
                         "inspectors": [{"inspector_id": p.inspector_id, "department": p.department,
                                         "grid_code": p.grid_code} for p in i.inspectors]}
                        for i in drawn.inspections],
    }


def draw_of(record: dict[str, Any]) -> tuple[SpotCheckDraw, datetime]:
    """The domain's draw and its time, from a SpotCheckDrawn value (or its JSON form, times as ISO text)."""
    inputs = record["inputs"]
    drawn_at = record["drawn_at"]
    drawn = SpotCheckDraw(
        record["event_id"], record["grid_code"], record["grid_level"], record["period"], record["published_value"],
        record["seed"], record["algorithm_version"],
        DrawInputs(inputs["entities_digest"], inputs["entities_count"], inputs["inspectors_digest"],
                   inputs["inspectors_count"], inputs["rules_digest"], inputs["rules_version"],
                   inputs["registry_version"], inputs.get("previous_draw_id")),
        record["candidates"], record["requested"],
        tuple(DrawnInspection(i["case_id"], i["entity_id"], i["entity_name"], i["entity_grid"], i["category"],
                              tuple(DrawnInspector(p["inspector_id"], p["department"], p["grid_code"])
                                    for p in i["inspectors"]), i["shortfall"])
              for i in record["inspections"]),
    )
    return drawn, drawn_at if isinstance(drawn_at, datetime) else datetime.fromisoformat(drawn_at)


def task_dispatch(opening: TaskOpening, version: RegistryVersion) -> tuple[dict[str, Any], list[tuple[tuple[str, str], dict[str, Any]]]]:
    """The task case's dossier (the command the case desk keeps, as for a routed report) and its first
    copies as ((target kind, code) of the topic, CaseDispatched value): the lead department, each assisting
    department, the owning level-2 grid and, for a task the city handles, the city's own topic."""
    source_kind, rules_version = _source(opening.kind)
    chain = [{"level": int(g.level), "code": g.code, "name": g.name}
             for g in (version.grid(code) for code in opening.grid_chain) if g is not None]
    decision = {
        "grid_chain": chain, "handling_level": opening.handling_level, "lead_department": opening.lead_department,
        "assisting_departments": list(opening.assisting_departments), "resolution_path": "GRID_CODE",
        "registry_version": version.id, "rules_version": rules_version, "rule_id": opening.kind.value,
        "near_boundary": False, "boundary_candidates": [], "boundary_policy": None, "synthetic_geometry": False,
        "reason": f"{opening.kind.value} task set by grid {opening.set_by}: {opening.description}",
    }
    base = {
        "case_id": opening.case_id, "revision": 0, "dispatched_at": opening.opened_at,
        "source_event_id": opening.cause_event_id, "source_kind": source_kind, "channel": source_kind,
        "category": opening.category, "severity": "MEDIUM", "description": opening.description,
        "occurred_at": opening.opened_at,
        "location": {"longitude": None, "latitude": None, "datum": "WGS84", "address": version.describe_chain(opening.grid_chain[0])},
        "complainant": None, "complainant_token": None, "complainant_contact": None, "decision": decision, "handover": None,
    }
    owning = version.district_of(opening.grid_chain[0]) or version.city.code
    targets = [("department", opening.lead_department, "lead"),
               *(("department", d, "assisting") for d in opening.assisting_departments),
               ("grid", owning, "owning_grid")]
    if opening.handling_level == 1:
        targets.append(("grid", version.city.code, "handling_grid"))  # the city's own topic: it set the task and handles it
    copies = [((kind, code), dict(base, event_id=f"{opening.case_id}:r0:{kind}:{code}",
                                  target=records.target_record(kind, code, role)))
              for kind, code, role in targets]
    dossier = dict(copies[0][1], event_id=f"{opening.case_id}:open")
    return dossier, copies


def _source(kind: TaskKind) -> tuple[str, str]:
    """The SourceKind and Channel symbol of a task's records, and the `rules_version` its decision names."""
    match kind:
        case TaskKind.SPOT_CHECK:
            return "SPOT_CHECK", "spotcheck-v1"
        case TaskKind.SUPERVISION:
            return "SUPERVISION", "supervision-v1"
        case _:
            assert_never(kind)
