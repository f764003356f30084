"""Generate the synthetic key-entity and inspector lists (key-entities.csv, inspectors.csv) deterministically from
the grid registry (its newest version). Every row says synthetic=true: the names are invented, the companies do
not exist. A city replaces both files with its own lists (same columns; README.md).

Per level-2 grid: 12 district-controlled entities (supervision_level 2) and 1 city-controlled one (level 1), each
in a township or one of its villages; inspectors: 3 at the district office, 1 at each township's station (环保所
or 执法中队). The city: 6 inspectors at the city office. Run: python src/envgrid/config/spotcheck/generate_lists.py
"""

from __future__ import annotations

import csv
import hashlib
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # src/, for a checkout without the editable install

from envgrid.domain.registry import load_registry_set
from envgrid.domain.tasks.spotcheck_lists import ENTITIES_FILE, ENTITY_COLUMNS, INSPECTOR_COLUMNS, INSPECTORS_FILE

ENTITIES_PER_DISTRICT = 12
CITY_ENTITIES_PER_DISTRICT = 1
DISTRICT_INSPECTORS = 3
CITY_INSPECTORS = 6
TRADE_NAMES = ["宏达", "华泰", "东方", "永兴", "瓯江", "鑫源", "恒利", "金龙", "大华", "新亚", "兴业", "天成", "海峰", "正泰", "国丰", "雁荡", "南塘", "江南", "泽雅", "瑞丰"]
SUFFIXES = {
    "wastewater": ("印染有限公司", "造纸有限公司"),
    "waste_gas": ("合成革有限公司", "化工有限公司"),
    "hazardous_waste": ("危废处置有限公司", "再生资源有限公司"),
    "heavy_metals": ("电镀有限公司", "表面处理有限公司"),
    "sewage_plant": ("污水处理厂",),
    "livestock_farm": ("生猪养殖场", "畜禽养殖专业合作社"),
}
DEPARTMENTS = ("epb", "epb", "epb", "market-supervision", "urban-mgmt", "water")  # inspectors are mostly 环保局's
SURNAMES = "陈林黄王张李郑周吴徐金潘叶胡朱杨章蔡董施余戴谢池项季薛邵"
GIVEN = "建国志强海明丽华晓东伟杰敏静婷军平勇涛斌芳燕红霞琳浩宇子轩欣怡振宏国庆文彬立新"


def list_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    version = load_registry_set().versions[-1]
    entities, inspectors = [], []
    for number in range(CITY_INSPECTORS):
        inspectors.append(_inspector(random.Random(_seed("city", number)), version.city.code, number))
    for district in sorted(version.children(version.city.code), key=lambda g: g.code):
        rng = random.Random(_seed(district.code))
        townships = sorted(version.children(district.code), key=lambda g: g.code)
        for number in range(DISTRICT_INSPECTORS):
            inspectors.append(_inspector(rng, district.code, number))
        for township in townships:
            inspectors.append(_inspector(rng, township.code, 0))
        if not townships:
            continue
        for number in range(ENTITIES_PER_DISTRICT + CITY_ENTITIES_PER_DISTRICT):
            township = rng.choice(townships)
            villages = sorted(version.children(township.code), key=lambda g: g.code)
            grid = rng.choice(villages) if villages and rng.random() < 0.7 else township
            category = rng.choice(sorted(SUFFIXES))
            name = f"温州{rng.choice(TRADE_NAMES)}{rng.choice(SUFFIXES[category])}" if category != "sewage_plant" \
                else f"{township.name}{rng.choice(SUFFIXES[category])}"
            entities.append({
                "entity_id": f"KE-{district.code}-{number + 1:03d}", "name": f"{name}（合成）", "grid_code": grid.code,
                "category": category, "supervision_level": "1" if number < CITY_ENTITIES_PER_DISTRICT else "2",
                "synthetic": "true",
            })
    return entities, inspectors


def main() -> None:
    entities, inspectors = list_rows()
    for path, columns, rows in ((ENTITIES_FILE, ENTITY_COLUMNS, entities), (INSPECTORS_FILE, INSPECTOR_COLUMNS, inspectors)):
        with Path(path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {len(rows)} rows to {path}", file=sys.stderr)


def _inspector(rng: random.Random, grid_code: str, number: int) -> dict[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return {"inspector_id": f"IN-{grid_code}-{number + 1:02d}", "name": name,
            "department": rng.choice(DEPARTMENTS), "grid_code": grid_code, "synthetic": "true"}


def _seed(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


if __name__ == "__main__":
    main()
