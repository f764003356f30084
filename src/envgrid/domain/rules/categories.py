"""Event categories (事件类别): the one reader of config/rules/categories.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from envgrid import paths
from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model

CATEGORIES_FILE = paths.RULES_DIR / "categories.yaml"


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    patrol_level: int | None = None  # 4 for what level-4 grids stop on the spot (plan section 五.四)


def load_categories(path: Path | str = CATEGORIES_FILE) -> tuple[Category, ...]:
    path = Path(path)
    parsed = validate_model(_CategoriesFile, read_yaml(path), path)
    seen: set[str] = set()
    for index, entry in enumerate(parsed.categories):
        if entry.code in seen:
            raise ConfigError(path, f"categories[{index}] ({entry.code})", "duplicate code")
        seen.add(entry.code)
    return tuple(Category(**entry.model_dump()) for entry in parsed.categories)


@lru_cache(maxsize=1)
def list_categories() -> tuple[Category, ...]:
    """Every category of the repository's configuration, in file order."""
    return load_categories()


def category_codes() -> tuple[str, ...]:
    """Codes of every category (the event generator and the schemas use these)."""
    return tuple(category.code for category in list_categories())


def get_category(code: str) -> Category:
    for category in list_categories():
        if category.code == code:
            return category
    raise KeyError(f"unknown category {code!r}; known: {', '.join(category_codes())} ({CATEGORIES_FILE})")


class _CategoryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    patrol_level: int | None = Field(default=None, ge=1, le=4)


class _CategoriesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    categories: list[_CategoryEntry] = Field(min_length=1)
