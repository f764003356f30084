"""Which copy of a dispatched case sends which notice: each unit its own, the lead or a grid for units without one.

The copies mirror `envgrid.domain.routing.decide`'s targets: the lead and assisting departments, the owning
level-2 grid, and the city grid when it handles the case.
"""

from __future__ import annotations

from typing import Any


def copy_holders(decision: dict[str, Any]) -> dict[str, Any]:
    """Who gets a copy of this revision (as `envgrid.domain.routing.decide` targets it): lead, assisting, grids."""
    grids = [g["code"] for g in decision["grid_chain"] if g["level"] == 2]
    if decision["handling_level"] == 1:
        grids.append(grid_at(decision, 1))
    return {"lead": decision.get("lead_department"), "assisting": set(decision.get("assisting_departments") or ()),
            "grids": list(dict.fromkeys(grids))}


def sender_of(notice: dict[str, Any], holders: dict[str, Any]) -> tuple[str, str] | None:
    """The (kind, code) of the copy that sends `notice`: its unit's own copy, else the one that speaks for it."""
    unit = notice["unit_code"]
    if notice["unit_kind"] == "GRID":
        grids = holders["grids"]
        return ("GRID", unit if unit in grids else grids[0]) if grids else None
    if unit == holders["lead"] or unit in holders["assisting"]:
        return ("DEPARTMENT", unit)
    if holders["lead"]:
        return ("DEPARTMENT", holders["lead"])
    return ("GRID", holders["grids"][0]) if holders["grids"] else None  # the coordinating grid speaks for them


def grid_at(decision: dict[str, Any], level: int) -> str:
    return next(g["code"] for g in decision["grid_chain"] if g["level"] == level)
