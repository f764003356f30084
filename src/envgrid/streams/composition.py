"""The one place the router and the case desk are put together: the worker's agents and the in-memory
test harness both call these functions, so the glue the worker runs is the glue the tests run.

The pseudonymiser (the complainant token's key) is passed in: the worker reads the key once at its edge
(`envgrid.connectors.pseudonym_key`), the tests use a fixed test key; no service reads the environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from envgrid import paths
from envgrid.connectors.catalogue import Catalogue
from envgrid.domain.config_errors import ConfigError, read_yaml
from envgrid.domain.departments import department_codes
from envgrid.domain.privacy import Pseudonymiser
from envgrid.domain.registry.model import RegistrySet
from envgrid.domain.routing.context import RoutingContext, load_routing_context
from envgrid.domain.sla.policy import load_sla_policies
from envgrid.domain.sla.tracker import SlaTracker
from envgrid.domain.tasks.supervision import SUPERVISION_FILE, load_supervision_rules
from envgrid.streams.case_outputs import CaseTopics
from envgrid.streams.case_service import CaseService
from envgrid.streams.notice_gate import NoticeGate
from envgrid.streams.routing_service import RoutingService
from envgrid.streams.task_desk import TaskDesk, partition_owner

PIPELINE_CONFIG = paths.PIPELINE_FILE
Decode = Callable[[Any, str], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class PipelineSettings:
    allowed_lateness: timedelta
    held_notice_wait: timedelta


def routing_service(catalogue: Catalogue, decode: Decode, pseudonymiser: Pseudonymiser) -> RoutingService:
    return RoutingService(decode, _routing_context(), catalogue.topic_for, catalogue.topic("internal.case-commands"),
                          catalogue.topic("restricted.complainant-identity"), pseudonymiser)


def notice_gate(catalogue: Catalogue, decode: Decode) -> NoticeGate:
    return NoticeGate(decode, catalogue.notice_author)


def case_service(catalogue: Catalogue, pseudonymiser: Pseudonymiser,
                 settings: PipelineSettings | None = None) -> CaseService:
    settings = settings or load_pipeline_settings()
    topics = CaseTopics(catalogue.topic_for, catalogue.topic("case.history"), catalogue.topic("case.feedback"),
                        catalogue.topic("case.sla"))
    known = frozenset(department_codes())
    return CaseService(known, SlaTracker(load_sla_policies()), topics, pseudonymiser, settings.held_notice_wait,
                       task_desk(catalogue, known))


def task_desk(catalogue: Catalogue, known_departments: frozenset[str]) -> TaskDesk:
    """Scheduled tasks: the registry the router uses, config/supervision.yaml, and the partitioner of the case
    desk's topics (a task opens where its notices will be sent)."""
    rules = load_supervision_rules()
    if rules.lead_department not in known_departments:
        raise ConfigError(SUPERVISION_FILE, "lead_department", f"{rules.lead_department!r} is not in config/departments.yaml")
    partitions = catalogue.spec(catalogue.topic("internal.case-commands")).partitions
    registry = _routing_context().registry
    registry = registry if isinstance(registry, RegistrySet) else RegistrySet([registry])
    return TaskDesk(registry, rules, partition_owner(partitions))


def load_pipeline_settings(path: Path = PIPELINE_CONFIG) -> PipelineSettings:
    """config/pipeline.yaml; an error names the file and the entry."""
    data = read_yaml(path) or {}

    def duration(name: str) -> timedelta:
        entry = data.get(name) if isinstance(data, dict) else None
        if not isinstance(entry, dict) or set(entry) != {"minutes"} or not isinstance(entry["minutes"], (int, float)) \
                or entry["minutes"] < 0:
            raise ConfigError(path, name, f"must be {{minutes: <number ≥ 0>}}, got {entry!r}")
        return timedelta(minutes=entry["minutes"])

    return PipelineSettings(duration("allowed_lateness"), duration("held_notice_wait"))


@lru_cache(maxsize=1)
def _routing_context() -> RoutingContext:
    return load_routing_context()
