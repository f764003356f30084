"""The routing context loads once per session (about a second): registry, rules, departments, roster."""

from __future__ import annotations

import pytest

from envgrid.domain.routing import RoutingContext, load_routing_context


@pytest.fixture(scope="session")
def context() -> RoutingContext:
    return load_routing_context()
