"""Cases as JSON-friendly dicts, for the lifecycle processor's table (state store) and replays.

Times keep their UTC offset (ISO 8601); enums are stored by value; tuples become lists.
"""
from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from envgrid.domain.cases.model import Case

_CASE = TypeAdapter(Case)


def case_to_dict(case: Case) -> dict[str, Any]:
    data: dict[str, Any] = _CASE.dump_python(case, mode="json")
    return data


def case_from_dict(data: dict[str, Any]) -> Case:
    return _CASE.validate_python(data)
