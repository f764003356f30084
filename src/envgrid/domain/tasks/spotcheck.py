"""The 双随机 draw (random entities, random inspectors), reproducible by anyone.  # 双随机抽查

Each quarter each level-1 and level-2 grid draws key entities to inspect and inspectors for each. The draw is a
pure function of its inputs: the published value (e.g. a lottery result announced after the lists were fixed),
the grid, the period, the two lists, the rules, the registry version and the grid's previous draw. Its record
(`SpotCheckDraw`, published as SpotCheckDrawn) names every input by digest, so `python -m envgrid.spotcheck
verify` re-runs it and says whether it matches.

Algorithm version 1 (a change to any step below is a new version; old draws stay verifiable under theirs):
1. seed = SHA-256 over the UTF-8 text `envgrid-spotcheck/1`, published value, grid code, period (`2027-Q1`),
   joined by newlines.
2. rank(parts) = SHA-256 over seed bytes followed by the UTF-8 parts joined by newlines, as hex.
3. Candidates: entities of supervision level 1 for the city; for a district, its entities of level 2 (their
   grid lies under it in the registry version in force at the period's start). Entities: the first N by
   (rank("entity", entity id), entity id), N from the rules (a count, or a share rounded up), never more
   than there are; they are listed in that order.
4. Inspector pool: the inspectors posted at the grid or under it. For each drawn entity, in order, the
   eligible inspectors (not posted in the entity's township; not on this entity in the previous draw) by
   (rank("inspector", entity id, inspector id), inspector id), the first K; fewer when fewer are eligible
   (the shortfall is recorded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from envgrid.domain.registry.model import RegistrySet, RegistryVersion
from envgrid.domain.tasks.opening import TaskKind, TaskOpening, spot_check_case_id
from envgrid.domain.tasks.quarters import Quarter
from envgrid.domain.tasks.spotcheck_lists import InspectionList, Inspector, KeyEntity
from envgrid.domain.tasks.spotcheck_rules import DrawRules

ALGORITHM_VERSION = 1
CATEGORY = "spot_check"


@dataclass(frozen=True, slots=True)
class PreviousDraw:
    """What the grid's previous draw sent where: entity id -> inspector ids."""

    draw_id: str
    assignments: Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class DrawInputs:
    entities_digest: str
    entities_count: int
    inspectors_digest: str
    inspectors_count: int
    rules_digest: str
    rules_version: int
    registry_version: str
    previous_draw_id: str | None


@dataclass(frozen=True, slots=True)
class DrawnInspector:
    inspector_id: str
    department: str
    grid_code: str


@dataclass(frozen=True, slots=True)
class DrawnInspection:
    case_id: str
    entity_id: str
    entity_name: str
    entity_grid: str
    category: str
    inspectors: tuple[DrawnInspector, ...]
    shortfall: int  # inspectors wanted but not eligible


@dataclass(frozen=True, slots=True)
class SpotCheckDraw:
    draw_id: str
    grid_code: str
    grid_level: int
    period: str
    published_value: str
    seed: str  # hex
    algorithm_version: int
    inputs: DrawInputs
    candidates: int
    requested: int
    inspections: tuple[DrawnInspection, ...] = field(default=())

    @property
    def outcome(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """What verification compares: each drawn entity with its inspectors, in order."""
        return tuple((i.entity_id, tuple(p.inspector_id for p in i.inspectors)) for i in self.inspections)

    @property
    def assignments(self) -> PreviousDraw:
        """This draw as the next period's previous draw."""
        return PreviousDraw(self.draw_id, {i.entity_id: frozenset(p.inspector_id for p in i.inspectors)
                                           for i in self.inspections})


def draw_seed(published_value: str, grid_code: str, period: Quarter, algorithm_version: int = ALGORITHM_VERSION) -> bytes:
    """Step 1 of the algorithm."""
    return hashlib.sha256(f"envgrid-spotcheck/{algorithm_version}\n{published_value}\n{grid_code}\n{period}".encode()).digest()


def draw_id_of(grid_code: str, period: Quarter, seed: bytes) -> str:
    """SCD-2027-Q1-330302-<first 12 hex digits of the seed>: another published value is another draw."""
    return f"SCD-{period}-{grid_code}-{seed.hex()[:12]}"


def draw(grid_code: str, period: Quarter, published_value: str, entities: InspectionList[KeyEntity],
         inspectors: InspectionList[Inspector], rules: DrawRules, registry: RegistrySet,
         previous: PreviousDraw | None = None) -> SpotCheckDraw:
    """One grid's draw for one quarter (the module's docstring gives the algorithm)."""
    if not published_value:
        raise ValueError("the published value is empty: a draw needs a value fixed and published beforehand")
    version = registry.at(period.start())
    grid = version.grid(grid_code)
    if grid is None or int(grid.level) not in rules.levels:
        raise ValueError(f"grid {grid_code} is not a level-1 or level-2 grid of registry version {version.id}; "
                         f"the city and the districts draw")
    level = int(grid.level)
    level_rules = rules.levels[level]
    seed = draw_seed(published_value, grid.code, period)
    draw_id = draw_id_of(grid.code, period, seed)
    candidates = [e for e in entities if _draws_entity(version, grid.code, level, e)]
    requested = level_rules.entities.of(len(candidates))
    chosen = sorted(candidates, key=lambda e: (_rank(seed, "entity", e.entity_id), e.entity_id))[:requested]
    pool = [p for p in inspectors if grid.code in version.chain_codes(p.grid_code)]
    inspections = []
    for entity in chosen:
        township = _township(version, entity.grid_code)
        before = previous.assignments.get(entity.entity_id, frozenset()) if previous and rules.no_repeat_on_entity else frozenset()
        eligible = [p for p in pool if p.inspector_id not in before
                    and not (rules.exclude_own_township and township is not None and _township(version, p.grid_code) == township)]
        ranked = sorted(eligible, key=lambda p: (_rank(seed, "inspector", entity.entity_id, p.inspector_id), p.inspector_id))
        sent = ranked[:level_rules.inspectors_per_entity]
        inspections.append(DrawnInspection(
            spot_check_case_id(draw_id, entity.entity_id), entity.entity_id, entity.name, entity.grid_code,
            entity.category, tuple(DrawnInspector(p.inspector_id, p.department, p.grid_code) for p in sent),
            level_rules.inspectors_per_entity - len(sent)))
    inputs = DrawInputs(entities.digest, len(entities), inspectors.digest, len(inspectors), rules.digest, rules.version,
                        version.id, previous.draw_id if previous else None)
    return SpotCheckDraw(draw_id, grid.code, level, str(period), published_value, seed.hex(), ALGORITHM_VERSION, inputs,
                         len(candidates), requested, tuple(inspections))


def drawing_grids(registry: RegistrySet, period: Quarter) -> list[str]:
    """The grids that draw in `period`: the city and every level-2 grid in force at its start."""
    version = registry.at(period.start())
    return sorted(code for code, grid in version.grids.items() if int(grid.level) <= 2)


def task_openings(drawn: SpotCheckDraw, registry: RegistrySet, drawn_at: datetime) -> list[TaskOpening]:
    """A case per drawn inspection with at least one inspector: led by the first inspector's department (the
    others' departments assist), handled at the drawing grid's level, on the entity's grid chain."""
    version = registry.at(Quarter.parse(drawn.period).start())
    openings = []
    for inspection in drawn.inspections:
        if inspection.case_id != spot_check_case_id(drawn.draw_id, inspection.entity_id):
            raise ValueError(f"inspection of {inspection.entity_id} names case {inspection.case_id}, not the id its "
                             f"draw and entity give ({spot_check_case_id(drawn.draw_id, inspection.entity_id)})")
        if not inspection.inspectors:
            continue  # nobody eligible: the draw records the shortfall, there is no one to give the task to
        departments = tuple(dict.fromkeys(p.department for p in inspection.inspectors))
        names = ", ".join(p.inspector_id for p in inspection.inspectors)
        openings.append(TaskOpening(
            case_id=inspection.case_id, kind=TaskKind.SPOT_CHECK, cause_event_id=drawn.draw_id, category=CATEGORY,
            grid_chain=version.chain_codes(inspection.entity_grid), handling_level=drawn.grid_level,
            lead_department=departments[0], assisting_departments=departments[1:], opened_at=drawn_at,
            set_by=drawn.grid_code,
            description=f"{drawn.period} 双随机抽查 spot check of {inspection.entity_name} ({inspection.entity_id}, "
                        f"{inspection.category}) by {names}; draw {drawn.draw_id}",
        ))
    return openings


def _draws_entity(version: RegistryVersion, grid_code: str, level: int, entity: KeyEntity) -> bool:
    if level == 1:
        return entity.supervision_level == 1
    return entity.supervision_level == 2 and version.district_of(entity.grid_code) == grid_code


def _township(version: RegistryVersion, code: str) -> str | None:
    chain = version.chain(code)
    return next((g.code for g in chain if int(g.level) == 3), None)


def _rank(seed: bytes, *parts: str) -> str:
    return hashlib.sha256(seed + "\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a published draw is what its inputs give: `problems` says what differs (empty: it matches)."""

    draw_id: str
    problems: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return not self.problems


def verify_draw(published: SpotCheckDraw, entities: InspectionList[KeyEntity], inspectors: InspectionList[Inspector],
                rules: DrawRules, registry: RegistrySet, previous: PreviousDraw | None) -> Verdict:
    """Re-run a published draw from the inputs at hand and compare. Inputs that differ from the ones the draw
    names (by digest) are reported first: with other lists or rules, a different outcome proves nothing."""
    problems: list[str] = []
    if published.algorithm_version != ALGORITHM_VERSION:
        return Verdict(published.draw_id, (f"the draw used algorithm version {published.algorithm_version}; this "
                                           f"program runs version {ALGORITHM_VERSION}",))
    stated = published.inputs
    for what, theirs, ours in (("key-entity list", stated.entities_digest, entities.digest),
                               ("inspector list", stated.inspectors_digest, inspectors.digest),
                               ("draw rules", stated.rules_digest, rules.digest)):
        if theirs != ours:
            problems.append(f"the {what} differs from the draw's: {ours} here, {theirs} in the draw")
    if stated.previous_draw_id is not None and (previous is None or previous.draw_id != stated.previous_draw_id):
        problems.append(f"the draw excluded the inspectors of its previous draw {stated.previous_draw_id}; give that "
                        f"draw (--previous) to verify it")
    if problems:
        return Verdict(published.draw_id, tuple(problems))
    again = draw(published.grid_code, Quarter.parse(published.period), published.published_value, entities, inspectors,
                 rules, registry, previous)
    if again.inputs.registry_version != stated.registry_version:
        problems.append(f"registry version {again.inputs.registry_version} here, {stated.registry_version} in the draw")
    if again.seed != published.seed:
        problems.append(f"the seed differs: {again.seed} from the published value, {published.seed} in the draw")
    if again.outcome != published.outcome:
        problems.append(f"the outcome differs: re-run gives {_describe(again.outcome)}; the draw says "
                        f"{_describe(published.outcome)}")
    if [i.case_id for i in again.inspections] != [i.case_id for i in published.inspections]:
        problems.append("the task case ids differ from the draw's")
    return Verdict(published.draw_id, tuple(problems))


def _describe(outcome: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    return "; ".join(f"{entity}: {', '.join(people) or '(nobody)'}" for entity, people in outcome) or "(nothing drawn)"
