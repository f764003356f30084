"""The demo's live view and summary, read off the worker's own Prometheus endpoint (what ops would see)."""

from __future__ import annotations

import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.table import Table
from rich.text import Text

from envgrid.connectors.catalogue import Catalogue

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(url: str) -> Samples:
    """Metric name -> [(labels, value)]; empty while the worker is not serving yet."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL we built
            text = response.read().decode()
    except OSError:
        return {}
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def total(samples: Samples, name: str, **match: str) -> float:
    return sum(v for labels, v in samples.get(name, []) if all(labels.get(k) == m for k, m in match.items()))


class FlowView:
    def __init__(self, catalogue: Catalogue, metrics_url: str, planned: int) -> None:
        self.metrics_url = metrics_url
        self.planned = planned
        prefix = f"{catalogue.prefix}.dept."
        self._departments = {spec.name: spec.name[len(prefix):-len(".cases")]
                             for spec in catalogue.by_template("dept.{department}.cases")}
        self._catalogue = catalogue

    def render(self, samples: Samples | None, published: int, settling: float | None = None) -> Group:
        samples = samples or {}
        consumed = total(samples, "envgrid_events_consumed_total", topic=self._catalogue.intake("PetitionComplaint"))
        consumed += total(samples, "envgrid_events_consumed_total", topic=self._catalogue.intake("PatrolReport"))
        status = f"published {published:,}/{self.planned:,} · router consumed {consumed:,.0f}"
        if settling is not None:
            status += f" · settling {settling:4.0f}s (SLA clock still running)"
        line = Text(status, style="bold")
        return Group(line, self._flows(samples), self._counters(samples), Text(f"metrics: {self.metrics_url}", style="dim"))

    def summary(self, samples: Samples) -> Group:
        return Group(Text("\nsummary", style="bold underline"), self._flows(samples), self._counters(samples),
                     self._handovers(samples), self._dead_letters(samples))

    def _handovers(self, samples: Samples) -> Table:
        table = Table(title="dispatches after the opening (revision > 0): who gained or lost a role, and why",
                      show_edge=False)
        for column in ("cause", "role", "change", "count"):
            table.add_column(column, justify="right" if column == "count" else "left")
        for labels, value in sorted(samples.get("envgrid_handovers_total", []), key=lambda lv: -lv[1]):
            table.add_row(labels.get("cause", ""), labels.get("role", ""), labels.get("change", ""), f"{value:,.0f}")
        return table

    def _flows(self, samples: Samples) -> Table:
        table = Table(title="cases per department (copies received as lead or assisting; open cases it leads)",
                      show_edge=False)
        for column in ("department", "received", "open (lead)"):
            table.add_column(column, justify="right" if column != "department" else "left")
        for topic, code in sorted(self._departments.items(), key=lambda kv: -total(samples, "envgrid_events_produced_total", topic=kv[0])):
            dispatched = total(samples, "envgrid_events_produced_total", topic=topic)
            if dispatched:
                table.add_row(code, f"{dispatched:,.0f}", f"{total(samples, 'envgrid_open_cases', department=code):,.0f}")
        table.add_row("triage", f"{total(samples, 'envgrid_events_produced_total', topic=self._catalogue.topic('triage.cases')):,.0f}", "")
        return table

    def _counters(self, samples: Samples) -> Table:
        table = Table(title="case tracking", show_edge=False)
        rows = [
            ("merged repeat reports", total(samples, "envgrid_merges_total")),
            ("transfers (移交移送)", total(samples, "envgrid_transfers_total")),
            ("escalations", total(samples, "envgrid_escalations_total")),
            ("feedback messages", total(samples, "envgrid_feedback_total")),
            ("ratings by complainants (回访评价)", total(samples, "envgrid_ratings_total") -
             total(samples, "envgrid_ratings_total", rating="reopened")),
            ("  of them dissatisfied (不满意)", total(samples, "envgrid_ratings_total", rating="dissatisfied")),
            ("cases reopened (重办)", total(samples, "envgrid_ratings_total", rating="reopened")),
            ("notices held for a case not open yet", total(samples, "envgrid_held_notices_total", outcome="held")),
            ("SLA warnings", total(samples, "envgrid_sla_events_total", kind="warning")),
            ("SLA breaches", total(samples, "envgrid_sla_events_total", kind="breach")),
            ("dead letters", total(samples, "envgrid_dead_letters_total")),
        ]
        table.add_column("what")
        table.add_column("count", justify="right")
        for name, value in rows:
            table.add_row(name, f"{value:,.0f}")
        return table

    def _dead_letters(self, samples: Samples) -> Table:
        table = Table(title="dead letters by reason", show_edge=False)
        table.add_column("stage")
        table.add_column("reason")
        table.add_column("count", justify="right")
        for labels, value in samples.get("envgrid_dead_letters_total", []):
            table.add_row(labels.get("stage", ""), labels.get("reason", ""), f"{value:,.0f}")
        return table
