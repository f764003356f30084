"""Topic catalogue: every topic's name and settings, from `config/topics.yaml` (the one place naming them).

    catalogue = Catalogue.load()                         # prefix `envgrid`, profile `local`
    catalogue.topic_for(("department", "epb"))           # 'envgrid.dept.epb.cases'
    catalogue.topic_for(("grid", "330302"))              # 'envgrid.grid.330302.cases'
    catalogue.topic_for(("triage", ""))                  # 'envgrid.triage.cases'
    catalogue.intake("PatrolReport")                     # 'envgrid.intake.patrol-reports'
    catalogue.topic("case.history")                      # 'envgrid.case.history'
    catalogue.event_type_of("envgrid.case.sla")          # 'SlaEvent'

Templates expand over department codes (`envgrid.domain.departments`) and level-2 grid codes of every grid
registry version (`envgrid.domain.registry`). Environment overrides: ENVGRID_TOPIC_PREFIX (tests use unique
prefixes), ENVGRID_TOPIC_PROFILE (local | production), ENVGRID_REPLICATION_FACTOR,
ENVGRID_MIN_INSYNC_REPLICAS, ENVGRID_RETENTION_<CLASS>_DAYS.

    python -m envgrid.connectors.catalogue list | plan | apply [--dry-run]
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from envgrid import paths
from envgrid.connectors.contracts import EVENT_TYPES
from envgrid.domain.intake_contract import COMPLAINANT, NoticeAuthor

TOPICS_FILE = paths.TOPICS_FILE
DEFAULT_PREFIX = "envgrid"
_DAY_MS = 24 * 60 * 60 * 1000
MULTI_TYPE_SEPARATOR = "|"
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_TARGET_TEMPLATES = {"department": "dept.{department}.cases", "grid": "grid.{grid}.cases", "triage": "triage.cases"}


_NOTICE_TEMPLATES = {"department": "notices.dept.{department}", "grid": "notices.grid.{grid}",
                     "complainant": "notices.complainants"}


class CatalogueError(ValueError):
    """The catalogue file or a lookup is wrong; the message names the file/topic and what to do."""


@dataclass(frozen=True)
class TopicSpec:
    """One concrete topic with everything needed to create it and to use it."""

    name: str  # full topic name, e.g. envgrid.dept.epb.cases
    template: str  # catalogue entry it came from, e.g. dept.{department}.cases
    schema: str  # event type of every value (envgrid.connectors.contracts.EVENT_TYPES); "A|B" on internal topics carrying several
    partitions: int
    replication_factor: int
    configs: Mapping[str, str]  # topic configs set at creation and compared for drift
    key: str  # what the key is and why
    retention: str  # retention class or `compact`
    owner: tuple[str, str] | None = None  # (placeholder, value) of a per-unit topic: ("department", "epb")


class Catalogue:
    """All topics of one deployment (prefix + profile); lookups by logical target, intake event, name."""

    def __init__(self, prefix: str, profile: str, topics: Sequence[TopicSpec]) -> None:
        self.prefix = prefix
        self.profile = profile
        self.topics = tuple(topics)
        self._by_name = {spec.name: spec for spec in self.topics}
        self._by_template: dict[str, list[TopicSpec]] = {}
        for spec in self.topics:
            self._by_template.setdefault(spec.template, []).append(spec)
        self._notice_authors = _notice_authors(self._by_template)  # notice topic -> who may write there

    @classmethod
    def load(
        cls,
        path: Path | str = TOPICS_FILE,
        *,
        prefix: str | None = None,
        profile: str | None = None,
        departments: Iterable[str] | None = None,
        grids: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Catalogue:
        """Read the catalogue; arguments win over environment variables, which win over the file."""
        env = os.environ if env is None else env
        path = Path(path)
        document = _read(path)
        prefix = prefix or env.get("ENVGRID_TOPIC_PREFIX") or DEFAULT_PREFIX
        profile = profile or env.get("ENVGRID_TOPIC_PROFILE") or document.get("default_profile", "local")
        replication, min_insync = _replication(path, document, profile, env)
        retention = _retention_days(path, document, env)
        values = {
            "department": tuple(departments) if departments is not None else department_codes(),
            "grid": tuple(grids) if grids is not None else level2_grid_codes(),
        }
        specs = []
        for entry in document.get("topics") or []:
            specs.extend(_expand(path, entry, prefix, values, replication, min_insync, retention))
        _check_unique(path, specs)
        return cls(prefix, profile, specs)

    # --- lookups ----------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return [spec.name for spec in self.topics]

    def spec(self, topic: str) -> TopicSpec:
        try:
            return self._by_name[topic]
        except KeyError:
            raise CatalogueError(f"topic {topic!r} is not in the catalogue ({TOPICS_FILE.name}, prefix {self.prefix!r})") from None

    def topic(self, logical_name: str) -> str:
        """Full name of a non-template topic: `case.history` -> `<prefix>.case.history`."""
        specs = self._by_template.get(logical_name)
        if not specs or len(specs) != 1 or "{" in logical_name:
            known = ", ".join(t for t in self._by_template if "{" not in t)
            raise CatalogueError(f"no single topic {logical_name!r} in the catalogue; plain topics: {known}")
        return specs[0].name

    def topic_for(self, target: tuple[str, str]) -> str:
        """Topic of a dispatch target: ("department", code), ("grid", L2 code) or ("triage", anything)."""
        kind, code = target[0].lower(), target[1]
        if kind not in _TARGET_TEMPLATES:
            raise CatalogueError(f"unknown target kind {target[0]!r}; expected department, grid or triage")
        if kind == "triage":
            return self.topic("triage.cases")
        name = f"{self.prefix}.{_TARGET_TEMPLATES[kind].format(**{kind: code})}"
        if name not in self._by_name:
            raise CatalogueError(
                f"no topic for {kind} {code!r}: not a known {kind} code (departments come from config/departments.yaml, "
                f"level-2 grids from config/registry/); add it there and run `python -m envgrid.connectors.catalogue apply`"
            )
        return name

    def intake(self, event_name: str) -> str:
        """Intake topic of a report type (PetitionComplaint, PatrolReport). Notices have a topic per unit:
        `notice_topic`."""
        if event_name == "DepartmentNotice":
            raise CatalogueError("notices have a topic per unit (notices.dept.<code>, notices.grid.<code>): "
                                 "use Catalogue.notice_topic(unit_kind, unit_code)")
        for spec in self.topics:
            if spec.template.startswith("intake.") and spec.schema == event_name:
                return spec.name
        intakes = sorted(s.schema for s in self.topics if s.template.startswith("intake."))
        raise CatalogueError(f"no intake topic carries {event_name!r}; intake event types: {', '.join(intakes)}")

    def input_topic(self, event_name: str, record: Mapping[str, Any]) -> str:
        """Where a producer writes an input record: a report to its intake topic, a notice to the notice
        topic of the unit it names (`notice_topic`)."""
        if event_name == "DepartmentNotice":
            return self.notice_topic(str(record.get("unit_kind") or ""), str(record.get("unit_code") or ""))
        return self.intake(event_name)

    def notice_topics(self) -> list[str]:
        """Every unit's notice topic (what the pipeline reads notices from)."""
        return list(self._notice_authors)

    def notice_topic(self, unit_kind: str, unit_code: str) -> str:
        """The topic a unit writes its notices to: its department's, its grid's, or for a township or village
        the topic of the level-2 grid above it (the most specific grid topic that speaks for it)."""
        kind = unit_kind.upper()
        speaks_for = [(len(author.code), topic) for topic, author in self._notice_authors.items()
                      if author.unit_kind == kind and author.covers(unit_code)]
        if not speaks_for:
            raise CatalogueError(f"no notice topic for {unit_kind} {unit_code!r}: departments come from "
                                 f"config/departments.yaml, grids from config/registry/")
        return max(speaks_for)[1]

    def notice_author(self, topic: str) -> NoticeAuthor:
        """Who may write notices on a notice topic; an error for any other topic."""
        try:
            return self._notice_authors[topic]
        except KeyError:
            raise CatalogueError(f"{topic!r} is not a notice topic of this catalogue") from None

    def event_type_of(self, topic: str) -> str | None:
        """Event type a topic carries, None for a topic not in this catalogue."""
        spec = self._by_name.get(topic)
        if spec is None or MULTI_TYPE_SEPARATOR in spec.schema:
            return None  # not ours, or an internal topic that carries several event types
        return spec.schema

    def by_template(self, template: str) -> list[TopicSpec]:
        """Topics expanded from one entry, e.g. every `dept.{department}.cases`."""
        return list(self._by_template.get(template, []))


def _notice_authors(by_template: Mapping[str, list[TopicSpec]]) -> dict[str, NoticeAuthor]:
    """Who may write on each notice topic. A department for itself; a grid for itself and, unless other grid
    topics' grids lie under it (the city), for the townships and villages under it; the feedback channel for
    every complainant."""
    departments = [s for s in by_template.get(_NOTICE_TEMPLATES["department"], []) if s.owner]
    grids = [s for s in by_template.get(_NOTICE_TEMPLATES["grid"], []) if s.owner]
    codes = [s.owner[1] for s in grids if s.owner]
    authors = {s.name: NoticeAuthor("DEPARTMENT", s.owner[1]) for s in departments if s.owner}
    for spec in grids:
        code = spec.owner[1] if spec.owner else ""
        authors[spec.name] = NoticeAuthor("GRID", code, covers_subgrids=not any(g != code and g.startswith(code)
                                                                              for g in codes))
    for spec in by_template.get(_NOTICE_TEMPLATES["complainant"], []):
        authors[spec.name] = NoticeAuthor(COMPLAINANT, "")
    return authors


# --- template values -----------------------------------------------------------------------------


def department_codes() -> tuple[str, ...]:
    """Every department code, from the one table (config/departments.yaml via envgrid.domain.departments)."""
    from envgrid.domain.departments import department_codes as codes  # lazy: connectors may run without domain loaded

    return tuple(codes())


@lru_cache(maxsize=1)
def level2_grid_codes() -> tuple[str, ...]:
    """Grid codes with a grid topic: the city (L1, it handles cross-district cases) and the level-2 grids
    (districts, 龙港, functional zones) of EVERY registry version — records routed under an older version
    still name its grids. Read from config/registry without loading geometry."""
    from envgrid.domain.registry import level1_and_level2_codes

    return tuple(sorted(level1_and_level2_codes()))


# --- helpers -------------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"{path}: topic catalogue not found") from None
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path}: invalid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("topics"), list):
        raise CatalogueError(f"{path}: expected a mapping with a `topics` list")
    return document


def _replication(path: Path, document: dict[str, Any], profile: str, env: Mapping[str, str]) -> tuple[int, int]:
    profiles = document.get("profiles") or {}
    if profile not in profiles:
        raise CatalogueError(f"{path}: no profile {profile!r} (ENVGRID_TOPIC_PROFILE); profiles: {', '.join(profiles)}")
    replication = _int_env(env, "ENVGRID_REPLICATION_FACTOR", profiles[profile]["replication_factor"])
    min_insync = _int_env(env, "ENVGRID_MIN_INSYNC_REPLICAS", profiles[profile]["min_insync_replicas"])
    if not 1 <= min_insync <= replication:
        raise CatalogueError(
            f"{path}: profile {profile}: min.insync.replicas {min_insync} must be between 1 and the "
            f"replication factor {replication} (check ENVGRID_MIN_INSYNC_REPLICAS / ENVGRID_REPLICATION_FACTOR)"
        )
    return replication, min_insync


def _retention_days(path: Path, document: dict[str, Any], env: Mapping[str, str]) -> dict[str, int]:
    classes = document.get("retention_classes") or {}
    days = {name: _int_env(env, f"ENVGRID_RETENTION_{name.upper()}_DAYS", value) for name, value in classes.items()}
    for name, value in days.items():
        if value < 1:
            raise CatalogueError(f"{path}: retention class {name} must keep records at least 1 day, not {value}")
    return days


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return int(default)
    try:
        return int(raw)
    except ValueError:
        raise CatalogueError(f"{name}={raw!r} is not a whole number") from None


def _expand(
    path: Path, entry: dict[str, Any], prefix: str, values: Mapping[str, Sequence[str]],
    replication: int, min_insync: int, retention_days: Mapping[str, int],
) -> list[TopicSpec]:
    template = str(entry.get("name", ""))
    where = f"{path}: topic {template or '(no name)'}"
    missing = [k for k in ("name", "schema", "partitions", "retention", "key") if k not in entry]
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(missing)}")
    schemas = entry["schema"] if isinstance(entry["schema"], list) else [entry["schema"]]
    unknown_schemas = [s for s in schemas if s not in EVENT_TYPES]
    if unknown_schemas or not schemas:
        raise CatalogueError(f"{where}: schema {entry['schema']!r} is not an event type ({', '.join(EVENT_TYPES)})")
    if not isinstance(entry["partitions"], int) or entry["partitions"] < 1:
        raise CatalogueError(f"{where}: partitions must be a positive whole number")
    retention = entry["retention"]
    if retention == "compact":
        configs = {"cleanup.policy": "compact"}
    elif retention in retention_days:
        configs = {"cleanup.policy": "delete", "retention.ms": str(retention_days[retention] * _DAY_MS)}
    else:
        raise CatalogueError(f"{where}: retention {retention!r} is neither `compact` nor one of {', '.join(retention_days)}")
    configs["min.insync.replicas"] = str(min_insync)
    placeholders = re.findall(r"{(\w+)}", template)
    unknown = [p for p in placeholders if p not in values]
    if unknown or len(placeholders) > 1:
        raise CatalogueError(f"{where}: placeholders must be one of {{department}}, {{grid}}; found {placeholders}")
    logical_value = ({template.format(**{placeholders[0]: v}): v for v in values[placeholders[0]]}
                     if placeholders else {template: ""})
    names = list(logical_value)
    specs = []
    for logical in names:
        name = f"{prefix}.{logical}"
        if not _TOPIC_NAME.match(name):
            raise CatalogueError(f"{where}: {name!r} is not a valid Kafka topic name ([A-Za-z0-9._-], ≤249)")
        owner = (placeholders[0], logical_value[logical]) if placeholders else None
        specs.append(TopicSpec(name, template, MULTI_TYPE_SEPARATOR.join(schemas), entry["partitions"], replication, dict(configs),
                               " ".join(str(entry["key"]).split()), retention, owner))
    return specs


def _check_unique(path: Path, specs: list[TopicSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            raise CatalogueError(f"{path}: topic {spec.name} comes from both {seen[spec.name]} and {spec.template}")
        seen[spec.name] = spec.template


if __name__ == "__main__":
    from envgrid.connectors.catalogue_apply import main

    raise SystemExit(main())
