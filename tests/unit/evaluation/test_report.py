"""The report command over a realistic run exported as JSONL: the HTML pages and the CSV are written, the
CSV holds the batch figures, and headless Chromium renders the city page with its charts drawn (a screenshot
is kept under $ENVGRID_VAR_DIR/screenshots/ for a person to look at)."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from envgrid import paths
from envgrid.domain.sla.worktime import WorkTime
from envgrid.evaluation.__main__ import main
from envgrid.evaluation.indicators import DEPARTMENT, GRID, Unit, evaluate
from envgrid.evaluation.ledger import fold_all
from envgrid.evaluation.periods import Period
from envgrid.evaluation.sources import read_jsonl, write_jsonl

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PERIOD = "2024"  # a year: the traffic spans March to May, and the roll-up is the yearly self-assessment


@pytest.fixture(scope="module")
def report(answered_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("evaluation")
    export = base / "history.jsonl"
    assert write_jsonl(iter(answered_run), export) == len(answered_run)
    out = base / "report"
    assert main(["report", "--period", PERIOD, "--out", str(out), "--jsonl", str(export)]) == 0
    return export, out


def test_the_export_reads_back_to_the_same_figures(answered_run, report):
    export, _out = report
    period = Period.parse(PERIOD)
    direct = evaluate(fold_all(v for _t, v in answered_run), period, WorkTime())
    assert evaluate(fold_all(read_jsonl(export)), period, WorkTime()) == direct


def test_pages_for_the_city_the_units_and_the_csv(report):
    _export, out = report
    names = {path.name for path in out.iterdir()}
    assert {f"city-{PERIOD}.html", "index.html", f"evaluation-{PERIOD}.csv", f"grid-3303-{PERIOD}.html",
            f"department-epb-{PERIOD}.html"} <= names
    assert any(re.fullmatch(rf"grid-\d{{6}}-{PERIOD}\.html", name) for name in names)


def test_the_csv_has_every_unit_with_the_batch_figures(answered_run, report):
    export, out = report
    with open(out / f"evaluation-{PERIOD}.csv", encoding="utf-8-sig", newline="") as file:
        rows = {(row["unit_kind"], row["unit_code"]): row for row in csv.DictReader(file)}
    tallies = evaluate(fold_all(read_jsonl(export)), Period.parse(PERIOD), WorkTime())
    assert len(rows) == len(tallies)
    city = tallies[Unit(GRID, "3303", 1)]
    row = rows[("grid", "3303")]
    assert row["unit_name"] == "温州市" and int(row["cases"]) == city.cases
    assert float(row["on_time_rate"]) == pytest.approx(city.on_time_rate, abs=1e-6)
    assert rows[("department", "epb")]["unit_name"] == "环保局"
    assert int(rows[("department", "epb")]["sla_breaches"]) == tallies[Unit(DEPARTMENT, "epb")].sla_breaches


def test_one_unit_only(report, tmp_path):
    export, _out = report
    assert main(["report", "--period", PERIOD, "--unit", "epb", "--out", str(tmp_path), "--jsonl", str(export)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"department-epb-{PERIOD}.html", f"evaluation-{PERIOD}.csv"]
    assert main(["report", "--period", PERIOD, "--unit", "nobody", "--out", str(tmp_path), "--jsonl", str(export)]) == 2


def test_chromium_renders_the_city_page_with_its_charts(report, tmp_path):
    assert CHROMIUM, "chromium not found: scripts/setup.sh installs it (apt-get install -y chromium)"
    _export, out = report
    page = (out / f"city-{PERIOD}.html").resolve().as_uri()
    screenshot = paths.var_dir() / "screenshots" / f"evaluation-city-{PERIOD}.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    _chromium(f"--screenshot={screenshot}", page, tmp_path / "chromium")
    assert screenshot.is_file() and screenshot.stat().st_size > 20_000, "no screenshot of the report"
    print(f"\nevaluation report screenshot: {screenshot}")

    dom = _chromium("--dump-dom", page, tmp_path / "chromium")
    charts = dict(re.findall(r'<svg[^>]*data-chart="(\w+)"[^>]*>(.*?)</svg>', dom, re.S))
    assert {"trend", "ranking", "distribution"} <= set(charts), sorted(charts)
    trend_points = re.findall(r'<circle class="datum"[^>]*data-value="([\d.]+)"', charts["trend"])
    assert len(trend_points) >= 4 and all(0 <= float(v) <= 1 for v in trend_points)
    assert "<polyline" in charts["trend"]
    rankings = re.findall(r'<svg[^>]*data-chart="ranking".*?</svg>', dom, re.S)
    assert all(len(re.findall(r'class="datum"', ranking)) >= 2 for ranking in rankings)
    bins = [int(v) for v in re.findall(r'<rect class="datum"[^>]*data-value="(\d+)"', charts["distribution"])]
    assert sum(bins) > 50
    assert "年度自评 逐级汇总" in dom
    assert re.search(r'padding-left:26px">[^<]+<small>\d{6}</small>', dom), "no level-2 grid under the city"
    assert re.search(r'padding-left:44px">[^<]+<small>\d{9}</small>', dom), "no level-3 grid under a district"


def _chromium(mode: str, url: str, profile: Path) -> str:
    done = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={profile}", "--window-size=1300,2400", mode, url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_broken_export_is_named_by_file_and_line(tmp_path, capsys):
    export = tmp_path / "broken.jsonl"
    export.write_text('\n\nnot json\n', encoding="utf-8")
    assert main(["report", "--period", "2027", "--out", str(tmp_path / "out"), "--jsonl", str(export)]) == 2
    assert f"{export}:3: not a JSON line" in capsys.readouterr().err
    export.write_text('{"topic": "case.sla", "value": {"event_id": "x"}}\n', encoding="utf-8")
    assert main(["report", "--period", "2027", "--out", str(tmp_path / "out"), "--jsonl", str(export)]) == 2
    assert "record x: no field 'occurred_at'" in capsys.readouterr().err
