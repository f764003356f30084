"""The pipeline's consumer groups and the topics each reads: the router's (librdkafka, its own group) and
the case desk's (faust, whose group is the app id). The two clients' group protocols differ, so they cannot
share one group."""

from __future__ import annotations

from typing import Any


def router_group(app_id: str) -> str:
    return f"{app_id}-router"


def case_desk_group(app_id: str) -> str:
    return app_id


def router_inputs(catalogue: Any) -> list[str]:
    """Intake and the router's own hop (`internal.located`)."""
    return [catalogue.intake("PetitionComplaint"), catalogue.intake("PatrolReport"), catalogue.topic("internal.located")]


def case_desk_inputs(catalogue: Any) -> list[str]:
    """The inputs of the case desk's group that can still change a case: the units' notice topics and the case
    commands (its ticks and calendar records carry no event time of their own)."""
    return [*catalogue.notice_topics(), catalogue.topic("internal.case-commands")]


def pipeline_groups(app_id: str, catalogue: Any) -> dict[str, list[str]]:
    """group -> the topics whose records can still change a case. (The demo's department simulator reads the
    department and grid topics in groups of its own and tells the ticker itself what it still has to send.)"""
    return {router_group(app_id): router_inputs(catalogue), case_desk_group(app_id): case_desk_inputs(catalogue)}


def reader_group(app_id: str, catalogue: Any, topic: str) -> str:
    """The pipeline group that reads `topic`: the router's for intake and `internal.located`, else the case desk's."""
    return router_group(app_id) if topic in router_inputs(catalogue) else case_desk_group(app_id)
