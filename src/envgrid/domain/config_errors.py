"""Configuration errors that name the file, the entry and the problem, so a city editor can fix them."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is invalid. The message says which file, which entry and what is wrong."""

    def __init__(self, path: Path | str, entry: str, problem: str) -> None:
        self.path, self.entry, self.problem = str(path), entry, problem
        super().__init__(f"{path}: {entry}: {problem}")


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as error:  # ValueError: e.g. a date like 2019-13-25
        raise ConfigError(path, "(file)", f"not valid YAML: {error}") from None
    except OSError as error:
        raise ConfigError(path, "(file)", f"cannot be read: {error}") from None


def csv_rows(path: Path, columns: tuple[str, ...], id_column: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The rows of a CSV list in `config/` as (entry label "line N (id)", row), after checking what every list
    needs: the file reads, the header has `columns`, each row has them all and a unique, non-empty `id_column`."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as error:
        raise ConfigError(path, "(file)", f"cannot be read: {error}") from None
    seen: dict[str, int] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(path, "header", f"missing column(s): {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            entry = f"line {line} ({row[id_column]})"
            if any(row.get(c) is None for c in columns):
                raise ConfigError(path, entry, f"has fewer fields than the header's {len(columns)}")
            if not row[id_column]:
                raise ConfigError(path, f"line {line}", f"{id_column} is empty")
            if row[id_column] in seen:
                raise ConfigError(path, entry, f"{id_column} {row[id_column]} repeats line {seen[row[id_column]]}")
            seen[row[id_column]] = line
            yield entry, row


def validate_model(model: type[M], raw: Any, path: Path) -> M:
    """Validate `raw` against `model`; on failure raise ConfigError naming each bad entry."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        errors = [(_location(raw, e["loc"]), e["msg"]) for e in error.errors()]
        problem = errors[0][1]
        if len(errors) > 1:
            problem += "; also " + "; ".join(f"{where}: {msg}" for where, msg in errors[1:])
        raise ConfigError(path, errors[0][0], problem) from None


def _location(raw: Any, loc: tuple[int | str, ...]) -> str:
    """'rules[3] (id R-DUST).lead' style path, naming entries by their id or code where they have one."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            label = ""
            if isinstance(node, list) and key < len(node) and isinstance(node[key], dict):
                ident = node[key].get("id") or node[key].get("code")
                label = f" ({ident})" if ident else ""
            parts[-1:] = [f"{parts[-1] if parts else ''}[{key}]{label}"]
        else:
            parts.append(str(key))
        node = _child(node, key)
    return ".".join(parts) or "(top level)"


def _child(node: Any, key: int | str) -> Any:
    """The entry at `key` of a mapping or list, or None when there is none."""
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None
