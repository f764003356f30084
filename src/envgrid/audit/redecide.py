"""Re-deciding: run the routing of a case's original report again, under the versions in force when it came
(which must give the recorded decision, exactly) and under the latest or a named registry / rules version
(which tells what would route differently today). Pure: the intake records are given, decoded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from envgrid.connectors import records
from envgrid.domain.intake_contract import without_unusable_point
from envgrid.domain.privacy import mask_digit_runs
from envgrid.domain.routing.context import RoutingContext

# what a decision is compared on: the whole RoutingDecision record; its reason with digit runs masked on both
# sides, as the case desk keeps the reason with the address masked (`records.withheld_dossier`)
COMPARED = ("grid_chain", "handling_level", "lead_department", "assisting_departments", "resolution_path",
            "registry_version", "rules_version", "rule_id", "near_boundary", "boundary_candidates",
            "boundary_policy", "synthetic_geometry", "reason")

# a report "routes differently" when one of these differs; the others (versions, rule id, resolution path,
# boundary facts, reason) are provenance: differing only there, it reaches the same units the same way
ROUTE = frozenset({"grid_chain", "handling_level", "lead_department", "assisting_departments", "error"})


@dataclass(frozen=True)
class Difference:
    case_id: str
    source_event_id: str
    fields: tuple[str, ...]  # the decision fields that differ
    recorded: dict[str, Any]
    redecided: dict[str, Any] | None  # None: the report could not be routed again (error says why)
    error: str = ""


@dataclass
class Redecided:
    """The outcome of re-deciding a set of cases under one routing context."""

    label: str  # "as recorded" or "registry X / rules Y"
    decided: int = 0
    missing: list[str] = field(default_factory=list)  # cases whose original report was not found
    differences: list[Difference] = field(default_factory=list)

    @property
    def rerouted(self) -> list[Difference]:
        """The differences that change where or how a case is handled (ROUTE), not only its provenance."""
        return [d for d in self.differences if ROUTE & set(d.fields)]

    def examples(self, count: int) -> list[Difference]:
        """Up to `count` differences, those that route differently first."""
        return sorted(self.differences, key=lambda d: not ROUTE & set(d.fields))[:count]

    def counts(self) -> Counter[str]:
        """How many differ in each field (a routing that changes lead and level counts in both)."""
        return Counter(name for d in self.differences for name in d.fields)


def redecide(label: str, context: RoutingContext, openings: Iterable[tuple[str, str, Mapping[str, Any]]],
             intake: Mapping[str, tuple[str, dict[str, Any]]], compare: tuple[str, ...] = COMPARED) -> Redecided:
    """`openings`: (case id, source event id, recorded decision); `intake`: event id -> (event name, record)."""
    result = Redecided(label)
    for case_id, source_event_id, recorded in openings:
        report = intake.get(source_event_id)
        if report is None:
            result.missing.append(case_id)
            continue
        result.decided += 1
        event_name, record = report
        try:
            fresh = context.decide(records.routing_input(event_name, without_unusable_point(record))).to_dict()
        except (LookupError, ValueError) as error:
            result.differences.append(Difference(case_id, source_event_id, ("error",), dict(recorded), None,
                                                 str(error)))
            continue
        differ = tuple(name for name in compare if _comparable(name, fresh) != _comparable(name, recorded))
        if differ:
            result.differences.append(Difference(case_id, source_event_id, differ, dict(recorded), fresh))
    return result


def latest(context: RoutingContext, registry_version: str | None = None,
           rules_version: str | None = None) -> tuple[str, RoutingContext]:
    """The context pinned to the named versions, else to the newest of each; with its label."""
    registry = registry_version or _newest(context.registry)
    rules = rules_version or _newest(context.rules)
    return f"registry {registry} / rules {rules}", context.pinned(registry, rules)


def _newest(versions: Any) -> str:
    return str(versions.versions[-1].id if hasattr(versions, "versions") else versions.id)


def _comparable(name: str, decision: Mapping[str, Any]) -> Any:
    value = decision.get(name)
    return mask_digit_runs(value) if name == "reason" and isinstance(value, str) else value
