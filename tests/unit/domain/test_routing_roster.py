from __future__ import annotations

import pytest

from envgrid.domain.config_errors import ConfigError
from envgrid.domain.roster import load_roster


def test_every_grid_of_every_version_has_a_head_and_members(context):
    for version in context.registry.versions:
        for code in version.grids:
            staff = context.roster.for_grid(code)
            assert staff is not None and staff.head.role == "head" and staff.members
            assert staff.head.phone and staff.head.messaging_id


def _write(tmp_path, rows):
    path = tmp_path / "roster.csv"
    path.write_text("grid_code,role,member_id,name,phone,messaging_id,synthetic\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "rows, entry, problem",
    [
        (["3303,boss,A,张三,1,z,true"], "line 2 (A)", "role 'boss'"),
        (["3303,head,A,张三,1,z,true", "3303,head,B,李四,1,z,true"], "line 3 (B)", "second head"),
        (["3303,member,A,张三,1,z,true"], "grid 3303", "no head"),
        (["9999,head,A,张三,1,z,true"], "line 2 (A)", "not in any registry version"),
    ],
)
def test_roster_errors(context, tmp_path, rows, entry, problem):
    path = _write(tmp_path, rows)
    with pytest.raises(ConfigError) as error:
        load_roster(path, context.registry)
    assert error.value.path == str(path) and entry in error.value.entry and problem in error.value.problem
