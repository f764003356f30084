"""Reports from a ledger: an HTML page per unit and one for the city (trend, ranking and distribution charts
as inline SVG), and the CSV for the government's yearly target review (纳入政府年度目标考核).

The city page carries the self-assessment roll-up (自评, 逐级上报): every level-2 grid with its level-3 grids
under it; a grid's page carries its own grids one level down. Pages are written for departments and for
grids of levels 1–3; village grids (L4, thousands of them) appear in their township's roll-up and the CSV.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path

from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.charts import bar_chart, histogram, line_chart
from envgrid.evaluation.indicators import DEPARTMENT, GRID, RATES, Tally, Unit, case_tally, children, evaluate
from envgrid.evaluation.ledger import CaseFacts, Ledger
from envgrid.evaluation.names import unit_name
from envgrid.evaluation.periods import Period

RATE_NAMES = {"response_rate": "受理及时率 response", "on_time_rate": "按时办结率 on time",
              "resolution_rate": "解决率 resolved", "return_rate": "回退率 returned",
              "satisfaction_rate": "满意率 satisfied", "redo_rate": "重办率 redone"}
CSV_COLUMNS = ("period", "unit_kind", "unit_code", "unit_name", "level", "cases", "accepted", "response_rate",
               "on_time_rate", "resolution_rate", "return_rate", "satisfaction_rate", "redo_rate", "sla_warnings", "sla_breaches",
               "average_handling_working_days", "responded_on_time", "responded_late", "resolved_on_time",
               "resolved_late", "resolved", "received", "returned", "rated", "satisfied", "with_result", "reopened", "supervision_tasks", "supervision_done",
               "supervision_on_time", "supervision_late", "supervision_rate", "as_of")
PAGE_LEVELS = (1, 2, 3)


@dataclass(frozen=True)
class Evaluation:
    """One period's figures, with the monthly figures of its trend."""

    ledger: Ledger
    period: Period
    as_of: datetime
    tallies: dict[Unit, Tally]
    months: list[tuple[Period, dict[Unit, Tally]]]
    worktime: WorkTime

    @classmethod
    def of(cls, ledger: Ledger, period: Period, worktime: WorkTime, as_of: datetime | None = None) -> Evaluation:
        as_of = as_of or ledger.latest
        if as_of is None:
            raise ValueError("no history: the records read hold no case.history or case.sla entry")
        months = [(month, evaluate(ledger, month, worktime, as_of)) for month in period.months()]
        return cls(ledger, period, as_of, evaluate(ledger, period, worktime, as_of), months, worktime)

    def city(self) -> Unit | None:
        return next((unit for unit in sorted(self.tallies) if unit.kind == GRID and unit.level == 1), None)

    def handling_days(self, unit: Unit) -> list[float]:
        return [case_tally(facts, self.as_of, self.worktime).handling_working_days  # breaches: no bearing on it
                for facts in self._cases_of(unit) if facts.resolved_at is not None]

    def _cases_of(self, unit: Unit) -> Iterable[CaseFacts]:
        for case_id in sorted(self.ledger.cases):
            facts = self.ledger.cases[case_id]
            if facts.created_at is None or not self.period.contains(facts.created_at) or facts.created_at > self.as_of:
                continue
            if (facts.last_lead == unit.code) if unit.kind == DEPARTMENT else (facts.grid_at(unit.level) == unit.code):
                yield facts


def write_reports(evaluation: Evaluation, out: Path, unit: str | None = None) -> list[Path]:
    """The city page, every unit's page (or only `unit`'s), an index and the CSV; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    label = evaluation.period.label
    units = [u for u in sorted(evaluation.tallies) if u.kind == DEPARTMENT or u.level in PAGE_LEVELS]
    if unit is not None:
        units = [u for u in units if u.code == unit]
        if not units:
            raise ValueError(f"unit {unit!r} has no case opened in {label}: give a department or grid code "
                             f"that appears in the history (see the CSV of a report without --unit)")
    written = [_write(out / f"city-{label}.html", city_page(evaluation))] if unit is None else []
    for one in units:
        written.append(_write(out / page_name(one, label), unit_page(evaluation, one)))
    written.append(write_csv(evaluation, out / f"evaluation-{label}.csv"))
    if unit is None:
        written.append(_write(out / "index.html", _index(evaluation, units)))
    return written


def page_name(unit: Unit, label: str) -> str:
    return f"{unit.kind}-{unit.code}-{label}.html"


def write_csv(evaluation: Evaluation, path: Path) -> Path:
    """Every unit of every level, one row each; rates as fractions (empty when nothing was judged)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as file:  # the BOM: spreadsheets read it as UTF-8
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for unit, tally in sorted(evaluation.tallies.items()):
            row = {"period": evaluation.period.label, "unit_kind": unit.kind, "unit_code": unit.code,
                   "unit_name": unit_name(unit), "level": unit.level or "", "as_of": evaluation.as_of.isoformat(),
                   "average_handling_working_days": _number(tally.average_handling_days),
                   "supervision_rate": _number(tally.supervision_rate)}
            row |= {rate: _number(getattr(tally, rate)) for rate in RATES}
            writer.writerow([row.get(column, getattr(tally, column, "")) for column in CSV_COLUMNS])
    return path


def city_page(evaluation: Evaluation) -> str:
    city = evaluation.city()
    title = f"温州市环境监管网格 评价报告 {evaluation.period.label}"
    sections = []
    if city is not None:
        sections.append(_headline(evaluation.tallies[city]))
        sections.append(_trend(evaluation, city))
    districts = {u: t for u, t in evaluation.tallies.items() if u.kind == GRID and u.level == 2}
    departments = {u: t for u, t in evaluation.tallies.items() if u.kind == DEPARTMENT and t.cases}
    sections.append(_ranking("二级网格 按时办结率排名 level-2 grids by on-time rate", districts))
    sections.append(_ranking("部门 按时办结率排名 departments by on-time rate", departments))
    if city is not None:
        sections.append(_distribution(evaluation, city))
        sections.append(_rollup(evaluation, city, depth=2))
    sections.append(_table("部门 departments", departments))
    return _page(title, evaluation, sections)


def unit_page(evaluation: Evaluation, unit: Unit) -> str:
    tally = evaluation.tallies[unit]
    level = f" L{unit.level}" if unit.kind == GRID else ""
    kind = "网格 grid" if unit.kind == GRID else "部门 department"
    title = f"{unit_name(unit)} ({unit.code}, {kind}{level}) 评价报告 {evaluation.period.label}"
    peers = {u: t for u, t in evaluation.tallies.items() if u.kind == unit.kind and u.level == unit.level and t.cases}
    sections = [_headline(tally), _trend(evaluation, unit),
                _ranking("同级排名 ranking among peers (on-time rate)", peers, highlight=unit),
                _distribution(evaluation, unit)]
    if unit.kind == GRID:
        sections.append(_rollup(evaluation, unit, depth=1))
    return _page(title, evaluation, sections)


def _headline(tally: Tally) -> str:
    cells = [("案件数 cases", str(tally.cases)), ("受理 accepted", str(tally.accepted))]
    cells += [(RATE_NAMES[rate], _percent(getattr(tally, rate))) for rate in RATES]
    cells += [("超期预警 SLA warnings", str(tally.sla_warnings)), ("超期 SLA breaches", str(tally.sla_breaches)),
              ("平均办理时长 avg handling (working days)", _days(tally.average_handling_days))]
    if tally.supervision_tasks:
        cells += [("季度督查 supervision tasks", f"{tally.supervision_done}/{tally.supervision_tasks}"),
                  ("督查按时完成率 supervision on time", _percent(tally.supervision_rate))]
    return '<section class="headline">' + "".join(
        f'<div class="figure"><div class="value">{escape(value)}</div><div class="name">{escape(name)}</div></div>'
        for name, value in cells) + "</section>"


def _trend(evaluation: Evaluation, unit: Unit) -> str:
    labels = [month.label[-2:] for month, _ in evaluation.months]  # the month; the year is the period's
    series = {RATE_NAMES[rate]: [getattr(tallies[unit], rate) if unit in tallies else None
                                 for _, tallies in evaluation.months] for rate in RATES}
    return "<section>" + line_chart(f"月度趋势 monthly trend {evaluation.period.label} (by month the cases opened)", labels, series) + "</section>"


def _ranking(title: str, tallies: dict[Unit, Tally], highlight: Unit | None = None) -> str:
    judged = [(unit, tally.on_time_rate) for unit, tally in tallies.items() if tally.on_time_rate is not None]
    judged.sort(key=lambda item: (-(item[1] or 0.0), item[0]))
    items = [(("▶ " if unit == highlight else "") + unit_name(unit), rate or 0.0) for unit, rate in judged]
    return "<section>" + bar_chart(title, items) + "</section>"


def _distribution(evaluation: Evaluation, unit: Unit) -> str:
    values = evaluation.handling_days(unit)
    return "<section>" + histogram(f"办理时长分布 handling time, working days ({len(values)} resolved)", values) + "</section>"


def _rollup(evaluation: Evaluation, unit: Unit, depth: int) -> str:
    heading = "年度自评 逐级汇总 self-assessment, rolled up level by level" if len(evaluation.months) == 12 \
        else "逐级汇总 roll-up by level"
    rows: list[tuple[Unit, Tally, int]] = [(unit, evaluation.tallies[unit], 0)]

    def below(parent: Unit, indent: int) -> None:
        for child in children(evaluation.tallies, parent, evaluation.ledger):
            rows.append((child, evaluation.tallies[child], indent))
            if indent < depth:
                below(child, indent + 1)

    below(unit, 1)
    return _rows_table(heading, rows)


def _table(title: str, tallies: dict[Unit, Tally]) -> str:
    return _rows_table(title, [(unit, tally, 0) for unit, tally in sorted(tallies.items())])


def _rows_table(title: str, rows: list[tuple[Unit, Tally, int]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in
                   ("单位 unit", "案件 cases", *[RATE_NAMES[r] for r in RATES], "预警 warnings", "超期 breaches",
                    "平均时长 avg days"))
    body = []
    for unit, tally, indent in rows:
        name = f'<td style="padding-left:{8 + 18 * indent}px">{escape(unit_name(unit))} <small>{escape(unit.code)}</small></td>'
        cells = [str(tally.cases), *[_percent(getattr(tally, r)) for r in RATES], str(tally.sla_warnings),
                 str(tally.sla_breaches), _days(tally.average_handling_days)]
        body.append(f"<tr>{name}" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return f"<section><h2>{escape(title)}</h2><table><tr>{head}</tr>{''.join(body)}</table></section>"


def _index(evaluation: Evaluation, units: list[Unit]) -> str:
    label = evaluation.period.label
    links = [f'<li><a href="city-{label}.html">温州市 city</a></li>']
    links += [f'<li><a href="{page_name(u, label)}">{escape(unit_name(u))} ({escape(u.code)})</a></li>' for u in units]
    links.append(f'<li><a href="evaluation-{label}.csv">CSV 年度目标考核</a></li>')
    return _page(f"评价报告 {label}", evaluation, [f"<ul>{''.join(links)}</ul>"])


def _page(title: str, evaluation: Evaluation, sections: list[str]) -> str:
    note = (f"期间 period {evaluation.period.label} ({evaluation.period.start} – {evaluation.period.end}, cases by "
            f"opening date); 截至 as of {evaluation.as_of.isoformat()}. Definitions: docs/evaluation.md.")
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"note\">{escape(note)}</p>{''.join(sections)}</body></html>")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


_STYLE = """body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:15px}.note{color:#666;font-size:12px}
.headline{display:flex;flex-wrap:wrap;gap:12px}.figure{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:110px}
.value{font-size:20px;font-weight:bold}.name{font-size:11px;color:#555}section{margin:16px 0}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child{text-align:left}svg.chart{border:1px solid #eee;background:#fff}"""
