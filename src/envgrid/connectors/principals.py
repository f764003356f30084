"""Kafka principals: who talks to the cluster, from `config/principals.yaml` (the one list of them).

    principals = load_principals()
    principals.only("pipeline").name        # 'pipeline'
    [p.name for p in principals.of_kind("department")][:2]   # ['dept-dev-reform', 'dept-econ-it']
    principals["grid-330302"].kafka_principal                  # 'User:grid-330302'

Templates expand like the topic catalogue's: `{department}` over the department codes, `{grid}` over the grid
codes with a grid topic (`envgrid.connectors.catalogue.level2_grid_codes`). The local cluster creates a
credential for each; the ACLs generated from the catalogue grant each what its kind needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from envgrid import paths
from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model

PRINCIPALS_FILE = paths.PRINCIPALS_FILE
Kind = Literal["super-user", "pipeline", "gateway", "department", "grid", "auditor", "ops"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # safe as a SCRAM user, a properties key and a file name


@dataclass(frozen=True)
class Grants:
    """What a principal may do, as catalogue topic templates (`{department}`/`{grid}`: its own code)."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    groups: str | None = None  # consumer-group prefix
    all: bool = False  # ALL on every topic, group and transactional id (the pipeline)
    describe_all: bool = False  # describe every topic, group and config (ops)


@dataclass(frozen=True)
class Principal:
    name: str  # e.g. dept-epb
    kind: str  # one of KINDS
    purpose: str  # what it is for
    template: str  # the entry it came from, e.g. dept-{department}
    grants: Grants = Grants()
    binding: tuple[str, str] | None = None  # the placeholder its name expanded, e.g. ("department", "epb")

    @property
    def kafka_principal(self) -> str:
        """How Kafka's ACLs and super.users name it."""
        return f"User:{self.name}"


class Principals:
    """Every principal of one deployment, in file order."""

    def __init__(self, principals: Sequence[Principal], source: str) -> None:
        self._by_name = {p.name: p for p in principals}
        self.source = source

    def __getitem__(self, name: str) -> Principal:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no principal {name!r} in {self.source}; known: {', '.join(self._by_name)}") from None

    def __iter__(self) -> Iterator[Principal]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def of_kind(self, kind: str) -> list[Principal]:
        return [p for p in self if p.kind == kind]

    def only(self, kind: str) -> Principal:
        """The one principal of `kind` (super-user, pipeline)."""
        (found,) = self.of_kind(kind)  # load_principals checked there is exactly one
        return found


def load_principals(
    path: Path | str = PRINCIPALS_FILE,
    *,
    departments: Iterable[str] | None = None,
    grids: Iterable[str] | None = None,
) -> Principals:
    """Read, expand and check the principals file (errors name the file, the entry and the problem)."""
    from envgrid.connectors.catalogue import department_codes, level2_grid_codes

    path = Path(path)
    parsed = validate_model(_PrincipalsFile, read_yaml(path), path)
    values: Mapping[str, Sequence[str]] = {
        "department": tuple(departments) if departments is not None else department_codes(),
        "grid": tuple(grids) if grids is not None else level2_grid_codes(),
    }
    expanded: list[Principal] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(parsed.principals):
        where = f"principals[{index}] ({entry.name})"
        placeholders = re.findall(r"{(\w+)}", entry.name)
        if len(placeholders) > 1 or any(p not in values for p in placeholders):
            raise ConfigError(path, where, f"a name may hold one of {{department}}, {{grid}}; found {placeholders}")
        bindings = [(placeholders[0], v) for v in values[placeholders[0]]] if placeholders else [None]
        grants = Grants(tuple(entry.read), tuple(entry.write), entry.groups, entry.all, entry.describe_all)
        for binding in bindings:
            name = entry.name.format(**{binding[0]: binding[1]}) if binding else entry.name
            if not _NAME.match(name):
                raise ConfigError(path, where, f"{name!r} must be 1-64 letters, digits, '-' or '_'")
            if name in seen:
                raise ConfigError(path, where, f"{name} also comes from {seen[name]}")
            seen[name] = entry.name
            expanded.append(Principal(name, entry.kind, " ".join(entry.purpose.split()), entry.name, grants, binding))
    for kind in ("super-user", "pipeline"):
        count = sum(1 for p in expanded if p.kind == kind)
        if count != 1:
            raise ConfigError(path, "principals", f"needs exactly one principal of kind {kind}, found {count}")
    return Principals(expanded, str(path))


class _PrincipalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    kind: Kind
    purpose: str = Field(min_length=10)
    read: list[str] = Field(default_factory=list)
    write: list[str] = Field(default_factory=list)
    groups: str | None = None
    all: bool = False
    describe_all: bool = False


class _PrincipalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    principals: list[_PrincipalEntry] = Field(min_length=2)
