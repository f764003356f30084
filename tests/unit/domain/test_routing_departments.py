from __future__ import annotations

import re

import pytest

from envgrid.domain.config_errors import ConfigError
from envgrid.domain.departments import (
    DEPARTMENT_CODE_PATTERN,
    DepartmentsConfigError,
    department_codes,
    load_departments,
)


def test_the_fifteen_departments_of_the_plan_with_topic_safe_codes():
    codes = department_codes()
    assert len(codes) == 15 == len(set(codes))
    assert all(DEPARTMENT_CODE_PATTERN.match(code) and re.fullmatch(r"[a-z0-9-]+", code) for code in codes)
    names = {d.name_zh for d in load_departments()}
    assert {"环保局", "公安局", "住建委", "城管与执法局", "农办/农业局", "海洋与渔业局", "市场监管局"} <= names


def test_grid_office_is_not_a_department():
    assert not any("网格" in d.name_zh for d in load_departments())


@pytest.mark.parametrize(
    "content, expected",
    [
        ("departments:\n  - {code: EPB, name_zh: 环保局, name_en: EPB}\n", "departments[0] (EPB).code"),
        ("departments:\n  - {code: epb, name_zh: 环保局, name_en: x}\n  - {code: epb, name_zh: y, name_en: z}\n",
         "departments[1] (epb): duplicate code"),
    ],
)
def test_errors_name_file_and_entry(tmp_path, content, expected):
    bad = tmp_path / "departments.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises((ConfigError, DepartmentsConfigError)) as error:
        load_departments(bad)
    assert str(bad) in str(error.value) and expected in str(error.value)
