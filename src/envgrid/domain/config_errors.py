"""Configuration errors that name the file, the entry and the problem, so a city editor can fix them."""

from __future__ import annotations

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
