"""The evaluation, record by record: fold each case.history or case.sla record as it arrives, and export the
current month's, quarter's and year's indicators as Prometheus gauges per level-2 grid and department.

The state and the fold are the batch report's (`ledger.fold`), so the gauges show the figures a report
over the same records would.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.indicators import DEPARTMENT, GRID, RATES, Tally, Unit, evaluate
from envgrid.evaluation.ledger import Ledger, fold
from envgrid.evaluation.periods import Period
from envgrid.streams.metrics import EVALUATION_COUNT, EVALUATION_HANDLING_DAYS, EVALUATION_RATE

WINDOWS = ("month", "quarter", "year")
COUNTS = ("cases", "sla_warnings", "sla_breaches")


class EvaluationStream:
    def __init__(self, worktime: WorkTime, ledger: Ledger | None = None) -> None:
        self.worktime = worktime
        self.ledger = ledger if ledger is not None else Ledger()

    def on_record(self, record: Mapping[str, Any]) -> None:
        fold(self.ledger, record)

    def figures(self, window: str, as_of: datetime | None = None) -> dict[Unit, Tally]:
        """The exported units' tallies for the window that holds `as_of` (default: the latest event time)."""
        as_of = as_of or self.ledger.latest
        if as_of is None:
            return {}
        tallies = evaluate(self.ledger, Period.containing(as_of, window), self.worktime, as_of)
        return {unit: tally for unit, tally in tallies.items() if exported(unit)}

    def export(self, as_of: datetime | None = None) -> None:
        """Set the gauges; then forget the cases opened before the year of `as_of` (no window counts them)."""
        as_of = as_of or self.ledger.latest
        if as_of is None:
            return
        for window in WINDOWS:
            for unit, tally in self.figures(window, as_of).items():
                labels = {"window": window, "unit_kind": unit.kind, "unit": unit.code}
                for rate in RATES:
                    EVALUATION_RATE.labels(**labels, indicator=rate).set(_gauge(getattr(tally, rate)))
                for count in COUNTS:
                    EVALUATION_COUNT.labels(**labels, indicator=count).set(getattr(tally, count))
                EVALUATION_HANDLING_DAYS.labels(**labels).set(_gauge(tally.average_handling_days))
        self.ledger.forget_before(Period.containing(as_of, "year").start_instant)


def exported(unit: Unit) -> bool:
    """Level-2 grids (the 14 districts and zones) and departments: a bounded label set."""
    return unit.kind == DEPARTMENT or (unit.kind == GRID and unit.level == 2)


def _gauge(value: float | None) -> float:
    return math.nan if value is None else value
