"""Generate the synthetic grid roster (wenzhou-roster.csv) deterministically from the grid registry.

Every grid of every registry version gets one head (网格长) and members (网格员): 3 at levels 1 and 2,
2 at level 3, 1 at level 4. Names are drawn from common Wenzhou surnames; phone numbers use the
unallocated prefix 100 so that they cannot reach anyone; messaging ids are 浙政钉-style accounts.
A city replaces the file with its real roster (same columns). Run: python src/envgrid/config/roster/generate_roster.py
"""

from __future__ import annotations

import csv
import hashlib
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # src/, for a checkout without the editable install

from envgrid import paths
from envgrid.domain.registry import load_registry_set
from envgrid.domain.roster import COLUMNS

SURNAMES = "陈林黄王张李郑周吴徐金潘叶胡朱杨章蔡董施余戴谢池项季薛邵"
GIVEN = "建国志强海明丽华晓东伟杰敏静婷军平勇涛斌芳燕红霞琳浩宇子轩欣怡振宏国庆文彬立新"
MEMBERS_BY_LEVEL = {1: 3, 2: 3, 3: 2, 4: 1}


def roster_rows() -> list[dict[str, str]]:
    registry = load_registry_set()
    grids = {}
    for version in registry.versions:
        grids.update(version.grids)
    rows = []
    for code in sorted(grids):
        rng = random.Random(int(hashlib.sha256(code.encode()).hexdigest()[:12], 16))
        for number in range(1 + MEMBERS_BY_LEVEL[int(grids[code].level)]):
            member_id = f"GM-{code}-{number + 1:02d}"
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            rows.append({
                "grid_code": code,
                "role": "head" if number == 0 else "member",
                "member_id": member_id,
                "name": name,
                "phone": f"100{rng.randrange(10**8):08d}",
                "messaging_id": f"zzd-{code}-{number + 1:02d}",
                "synthetic": "true",
            })
    return rows


def main(out: Path = paths.ROSTER_FILE) -> None:
    rows = roster_rows()
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} roster rows to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
