"""A 12345 work-order export (工单导出) as a city's hotline system writes it, built from generated complaints: the
layout of `config/import/wenzhou-12345.yaml`, with a share of deliberately bad rows, each with the reason the
importer must reject it for. For the importer's tests, benchmarks and demos.

    rows = export_rows(seed=7, count=100_000, bad_share=0.03)
    write_csv(path, rows)                 # UTF-8 with BOM; encoding="gb18030" for a GBK export

Generating complaints is slow (the grid registry, addresses), so a pool of `pool` complaints is generated once
and cycled: each cycle shifts the times forward by the pool's span and numbers the orders anew, so every row is
its own work order, and a large file spans years (across the 2019 split of 龙港市 from 苍南县).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from envgrid.domain.rules.categories import list_categories
from envgrid.simulator.generator import EventGenerator
from envgrid.simulator.model import PETITION_COMPLAINT, GeneratorConfig

COLUMNS = ("工单编号", "来电时间", "登记时间", "来源渠道", "诉求类型", "诉求标题", "诉求内容", "事发地址", "来电人",
           "联系电话", "紧急程度", "承办单位", "办理状态")
START = datetime.fromisoformat("2018-01-01T00:00:00+08:00")
_CHANNEL = {"HOTLINE_12345": "12345热线", "HOTLINE_12369": "12369环保热线"}
_SEVERITY = {"LOW": "不急", "MEDIUM": "一般", "HIGH": "紧急", "CRITICAL": "特急"}
_HANDLERS = ("生态环境局", "综合行政执法局", "住建局", "属地街道", "农业农村局")
_TIME = "%Y-%m-%d %H:%M:%S"

# What makes a row bad, and the reason the importer gives (`envgrid.connectors.importer.convert`, the input
# contract's codes): each bad row has exactly one of these.
BAD_KINDS = {
    "garbled_time": "bad_time",
    "no_text": "missing_value",
    "unlisted_category": "unknown_category",
    "before_the_plan": "time_out_of_window",
    "overlong_text": "field_too_long",
    "empty_row": "empty_row",
    "no_place": "missing_value",
    "repeated_number": "duplicate_record_number",
}


@dataclass(frozen=True)
class ExportRow:
    """A row of the export and, for a bad one, the importer's expected rejection reason."""

    cells: dict[str, str]
    bad: str | None = None  # a BAD_KINDS key
    expected_reason: str | None = None


def export_rows(seed: int, count: int, bad_share: float = 0.03, pool: int = 2_000,
                start: datetime = START) -> Iterator[ExportRow]:
    """`count` rows of one export, the same for the same arguments."""
    config = GeneratorConfig(start=start, mean_interarrival_s=1_200, kind_shares={PETITION_COMPLAINT: 1.0},
                             channel_shares={"HOTLINE_12345": 0.7, "HOTLINE_12369": 0.3}, broken_share=0.0,
                             duplicate_share=0.0, address_only_share=1.0, coordinates_only_share=0.0)
    complaints = [e.value for e in EventGenerator(seed, config).take(min(pool, count)) if e.value is not None]
    span = complaints[-1]["received_at"] - complaints[0]["received_at"] + timedelta(hours=1)
    names = {c.code: c.name_zh for c in list_categories()}
    rng = random.Random(seed)
    earlier = ""  # the previous row's 工单编号
    for index in range(count):
        cycle, value = divmod(index, len(complaints))[0], complaints[index % len(complaints)]
        cells = _cells(value, index, cycle * span, names, rng)
        bad = rng.choice(sorted(BAD_KINDS)) if rng.random() < bad_share else None
        if bad == "repeated_number" and not earlier:
            bad = None
        row = ExportRow(cells) if bad is None else ExportRow(_broken(cells, bad, earlier), bad, BAD_KINDS[bad])
        yield row
        earlier = row.cells.get("工单编号") or earlier  # an empty row has none


def write_csv(path: Path, rows: Iterable[ExportRow], encoding: str = "utf-8-sig") -> None:
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.cells.get(c, "") for c in COLUMNS])


# --- helpers ---------------------------------------------------------------------------------------------


def _cells(value: dict[str, Any], index: int, shift: timedelta, names: dict[str, str],
           rng: random.Random) -> dict[str, str]:
    occurred: datetime = value["occurred_at"] + shift
    received: datetime = value["received_at"] + shift
    complainant = value.get("complainant") or {}
    text: str = value["description"]
    return {
        "工单编号": f"WZ{received:%Y%m%d}{index:08d}",
        "来电时间": occurred.strftime(_TIME),
        "登记时间": received.strftime(_TIME),
        "来源渠道": _CHANNEL.get(value["channel"], "12345热线"),
        "诉求类型": names[value["category"]],
        "诉求标题": text[:12],
        "诉求内容": text,
        "事发地址": value["location"]["address"] or "",
        "来电人": complainant.get("name") or "",
        "联系电话": complainant.get("phone") or "",
        "紧急程度": _SEVERITY[value["severity"]],
        "承办单位": rng.choice(_HANDLERS),
        "办理状态": "已办结",
    }


def _broken(cells: dict[str, str], bad: str, earlier: str) -> dict[str, str]:
    if bad == "empty_row":
        return {}
    broken = dict(cells)
    if bad == "garbled_time":
        broken["来电时间"] = broken["来电时间"].replace("-", "/", 1)[:4] + "年13月45日"
    elif bad == "no_text":
        broken["诉求标题"] = broken["诉求内容"] = ""
    elif bad == "unlisted_category":
        broken["诉求类型"] = "其他环境问题"
    elif bad == "before_the_plan":
        broken["来电时间"] = broken["登记时间"] = "2015-06-01 09:30:00"
    elif bad == "overlong_text":
        broken["诉求内容"] = (broken["诉求内容"] + "。") * (9_000 // max(1, len(broken["诉求内容"])) + 1)
    elif bad == "no_place":
        broken["事发地址"] = ""
    elif bad == "repeated_number":
        broken["工单编号"] = earlier  # an export that repeats an order number (a merge of two exports, a typo)
    return broken
