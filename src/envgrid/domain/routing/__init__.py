"""Routing (分派): where an event belongs and who handles it. Pure: no Kafka, no network, no wall clock."""

from envgrid.domain.routing.context import RoutingContext, load_routing_context
from envgrid.domain.routing.decide import decide
from envgrid.domain.routing.model import (
    Coordinates,
    GridRef,
    NearBoundary,
    Provenance,
    ResolutionNote,
    ResolutionPath,
    RoutingDecision,
    RoutingInput,
    Severity,
    Target,
)

__all__ = [
    "Coordinates", "GridRef", "NearBoundary", "Provenance", "ResolutionNote", "ResolutionPath",
    "RoutingContext", "RoutingDecision", "RoutingInput", "Severity", "Target", "decide", "load_routing_context",
]
