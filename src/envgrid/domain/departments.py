"""The departments (部门) that take part in grid supervision: the one reader of config/departments.yaml.

Department codes are stable lowercase ascii identifiers used in topic names (`dept.<code>.cases`), in the
jurisdiction rules and in events. Nothing else in the code base may spell a department code list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from envgrid import paths
from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model

DEPARTMENT_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name_zh: str
    name_en: str


class Departments:
    """An ordered, immutable table of departments keyed by code."""

    def __init__(self, departments: list[Department], source: str) -> None:
        self._by_code = {d.code: d for d in departments}
        self.source = source

    def __getitem__(self, code: str) -> Department:
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"unknown department code {code!r}; known: {', '.join(self._by_code)} ({self.source})") from None

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Department]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)


DepartmentsConfigError = ConfigError  # the departments file is malformed: names file, entry and problem


def load_departments(path: Path | str = paths.DEPARTMENTS_FILE) -> Departments:
    """Read and validate a departments file."""
    path = Path(path)
    parsed = validate_model(_DepartmentsFile, read_yaml(path), path)
    seen: set[str] = set()
    for index, entry in enumerate(parsed.departments):
        if entry.code in seen:
            raise ConfigError(path, f"departments[{index}] ({entry.code})", "duplicate code")
        seen.add(entry.code)
    return Departments([Department(d.code, d.name_zh, d.name_en) for d in parsed.departments], str(path))


@lru_cache(maxsize=1)
def default_departments() -> Departments:
    """The repository's departments table, loaded once."""
    return load_departments()


def department_codes() -> tuple[str, ...]:
    """Codes of the repository's departments, in file order."""
    return default_departments().codes()


def get_department(code: str) -> Department:
    return default_departments()[code]


class _DepartmentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)

    @field_validator("code")
    @classmethod
    def _code_is_topic_safe(cls, code: str) -> str:
        if not DEPARTMENT_CODE_PATTERN.match(code):
            raise ValueError(f"code {code!r} must be lowercase ascii letters, digits and '-' (it goes into topic names)")
        return code


class _DepartmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    departments: list[_DepartmentEntry] = Field(min_length=1)

