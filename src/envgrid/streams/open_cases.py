"""The open-cases gauge (by lead department and state), moved by each case transition."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from envgrid.domain.cases.model import Case
from envgrid.streams import metrics

if TYPE_CHECKING:
    from envgrid.streams.case_service import Transition

TERMINAL_STATES = frozenset({"closed", "rejected", "declined"})


class OpenCasesGauge:
    def move(self, transition: Transition) -> None:
        if transition.state_before is not None and transition.state_before not in TERMINAL_STATES:
            metrics.OPEN_CASES.labels(department=transition.department_before or "none",
                                      state=transition.state_before).dec()
        if transition.state_after not in TERMINAL_STATES:
            metrics.OPEN_CASES.labels(department=transition.department_after or "none",
                                      state=transition.state_after).inc()

    def rebuild(self, cases: Iterable[Case]) -> None:
        """After state recovery: count the recovered cases afresh."""
        metrics.OPEN_CASES.clear()
        for case in cases:
            if case.state.value not in TERMINAL_STATES:
                metrics.OPEN_CASES.labels(department=case.lead_department or "none", state=case.state.value).inc()
