"""python -m envgrid.spotcheck draw | verify — 双随机 spot-check draws anyone can re-run.

  draw    --period 2027-Q1 --published-value VALUE [--grid CODE ...] [--previous FILE] [--json] [--publish]
          Each level-1 and level-2 grid (or the ones named) draws key entities and inspectors for the quarter from
          the lists and rules in config/spotcheck/ (README there). The seed is SHA-256 of the published value, the
          grid and the period; the algorithm is in envgrid.domain.tasks.spotcheck. Prints the draws (--json: one
          SpotCheckDrawn per line, the form `verify` reads); --publish sends each to every partition of
          internal.spot-check-draws, where the case desk opens a task case per inspection and relays the draw to
          the grid's topic. The grid's previous draw (its inspectors do not return to the same entity) comes from
          --previous (JSON lines of earlier draws) or, with --publish, from the topic.
  verify  FILE | --from-topic [--draw-id ID ...] [--previous FILE]
          Re-runs each draw from the lists and rules at hand and says whether it matches; exit status 1 if any
          does not (or cannot be checked).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from envgrid.connectors.task_records import draw_of, draw_record
from envgrid.domain.config_errors import ConfigError
from envgrid.domain.departments import department_codes
from envgrid.domain.registry import load_registry_set
from envgrid.domain.registry.model import RegistrySet
from envgrid.domain.tasks.quarters import Quarter
from envgrid.domain.tasks.spotcheck import PreviousDraw, SpotCheckDraw, draw, drawing_grids, verify_draw
from envgrid.domain.tasks.spotcheck_lists import (
    ENTITIES_FILE,
    INSPECTORS_FILE,
    RULES_FILE,
    InspectionList,
    Inspector,
    KeyEntity,
    load_entities,
    load_inspectors,
)
from envgrid.domain.tasks.spotcheck_rules import DrawRules, load_draw_rules

Inputs = tuple[RegistrySet, InspectionList[KeyEntity], InspectionList[Inspector], DrawRules]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        inputs = _inputs(args)
        if args.command == "draw":
            return _draw(args, inputs)
        return _verify(args, inputs)
    except (ConfigError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.spotcheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("draw", help="make (and with --publish, publish) the draws of a quarter")
    make.add_argument("--period", required=True, type=Quarter.parse, help="the quarter, e.g. 2027-Q1")
    make.add_argument("--published-value", required=True,
                      help="the value fixed and published beforehand (e.g. a lottery result); the seed derives from it")
    make.add_argument("--grid", action="append", default=None,
                      help="a drawing grid's code (repeatable; default: the city and every level-2 grid)")
    make.add_argument("--at", type=_aware, default=None, help="draw time, ISO with timezone (default: now); its "
                      "tasks open then")
    make.add_argument("--json", action="store_true", help="one SpotCheckDrawn per line, as JSON (what verify reads)")
    make.add_argument("--publish", action="store_true", help="send the draws to internal.spot-check-draws")
    check = commands.add_parser("verify", help="re-run published draws and say whether they match")
    check.add_argument("file", nargs="?", type=Path, help="JSON lines of draws (draw --json); '-' for standard input")
    check.add_argument("--from-topic", action="store_true", help="read the draws from internal.spot-check-draws")
    check.add_argument("--draw-id", action="append", default=None, help="only this draw (repeatable)")
    for command in (make, check):
        command.add_argument("--previous", type=Path, default=None,
                             help="JSON lines of earlier draws, to find each grid's previous draw")
        command.add_argument("--entities", type=Path, default=ENTITIES_FILE, help="key-entity list (CSV)")
        command.add_argument("--inspectors", type=Path, default=INSPECTORS_FILE, help="inspector list (CSV)")
        command.add_argument("--rules", type=Path, default=RULES_FILE, help="draw rules (YAML)")
        command.add_argument("--prefix", default=None, help="topic prefix (default $ENVGRID_TOPIC_PREFIX or envgrid)")
    return parser


def _draw(args: argparse.Namespace, inputs: Inputs) -> int:
    registry, entities, inspectors, rules = inputs
    period: Quarter = args.period
    grids = args.grid or drawing_grids(registry, period)
    earlier = _read_lines(args.previous) if args.previous else []
    if args.publish and args.previous is None:
        earlier = _published(args.prefix)
    previous = _previous_by_grid(earlier, period)
    drawn_at = args.at or datetime.now(UTC)
    draws = [draw(grid, period, args.published_value, entities, inspectors, rules, registry, previous.get(grid))
             for grid in grids]
    for drawn in draws:
        print(json.dumps(_json(draw_record(drawn, drawn_at)), ensure_ascii=False) if args.json else _describe(drawn, registry))
    if args.publish:
        sent = _publish([draw_record(d, drawn_at) for d in draws], args.prefix)
        print(f"published {len(draws)} draw(s) to {sent}", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace, inputs: Inputs) -> int:
    registry, entities, inspectors, rules = inputs
    if args.from_topic == (args.file is not None):
        raise ValueError("verify reads a FILE of draws or --from-topic (one of the two)")
    records = _published(args.prefix) if args.from_topic else _read_lines(args.file)
    earlier = [*records, *(_read_lines(args.previous) if args.previous else [])]
    by_id = {r["event_id"]: r for r in earlier}
    chosen = [r for r in records if not args.draw_id or r["event_id"] in args.draw_id]
    if not chosen:
        raise ValueError("no draw to verify" + (f" with id {', '.join(args.draw_id)}" if args.draw_id else ""))
    failed = 0
    for record in chosen:
        published, _ = draw_of(record)
        before = by_id.get(published.inputs.previous_draw_id or "")
        previous = draw_of(before)[0].assignments if before else None
        verdict = verify_draw(published, entities, inspectors, rules, registry, previous)
        print(f"{'MATCH' if verdict.matches else 'MISMATCH'} {verdict.draw_id}")
        for problem in verdict.problems:
            print(f"  - {problem}")
        failed += not verdict.matches
    print(f"{len(chosen) - failed} of {len(chosen)} draw(s) match", file=sys.stderr)
    return 1 if failed else 0


def _inputs(args: argparse.Namespace) -> Inputs:
    registry = load_registry_set()
    return (registry, load_entities(registry, args.entities),
            load_inspectors(registry, tuple(department_codes()), args.inspectors), load_draw_rules(args.rules))


def _previous_by_grid(records: Iterable[dict[str, Any]], period: Quarter) -> dict[str, PreviousDraw]:
    """Each grid's latest draw of the quarter before `period` (a re-draw with another published value, if any,
    replaces the first: the later one stands)."""
    found: dict[str, tuple[datetime, PreviousDraw]] = {}
    for record in records:
        drawn, at = draw_of(record)
        if Quarter.parse(drawn.period).next() != period:
            continue
        if drawn.grid_code not in found or found[drawn.grid_code][0] < at:
            found[drawn.grid_code] = (at, drawn.assignments)
    return {grid: previous for grid, (_, previous) in found.items()}


def _describe(drawn: SpotCheckDraw, registry: RegistrySet) -> str:
    version = registry.by_id(drawn.inputs.registry_version)
    grid = version.grid(drawn.grid_code)
    inputs = drawn.inputs
    lines = [
        f"{drawn.draw_id}  grid {drawn.grid_code} {grid.name if grid else ''} (L{drawn.grid_level})  period {drawn.period}  "
        f"algorithm v{drawn.algorithm_version}",
        f"  published value {drawn.published_value!r} -> seed {drawn.seed}",
        f"  inputs: entities {inputs.entities_digest} ({inputs.entities_count}), inspectors {inputs.inspectors_digest} "
        f"({inputs.inspectors_count}), rules {inputs.rules_digest} (v{inputs.rules_version}), registry "
        f"{inputs.registry_version}, previous draw {inputs.previous_draw_id or '-'}",
        f"  drew {len(drawn.inspections)} of {drawn.candidates} entities (asked for {drawn.requested}):",
    ]
    for i in drawn.inspections:
        people = ", ".join(f"{p.inspector_id} ({p.department})" for p in i.inspectors) or "nobody eligible"
        short = f"  [{i.shortfall} short]" if i.shortfall else ""
        lines.append(f"    {i.case_id}  {i.entity_id} {i.entity_name} [{i.category}] at {i.entity_grid} -> {people}{short}")
    return "\n".join(lines)


def _json(record: dict[str, Any]) -> dict[str, Any]:
    return dict(record, drawn_at=record["drawn_at"].isoformat())


def _read_lines(path: Path) -> list[dict[str, Any]]:
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: line {number} is not JSON ({error.msg})") from None
    return records


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text}: give a timezone, e.g. {text}+08:00")
    return moment


def _published(prefix: str | None) -> list[dict[str, Any]]:
    from envgrid.spotcheck.topic import read_draws
    return read_draws(prefix)


def _publish(records: list[dict[str, Any]], prefix: str | None) -> str:
    from envgrid.spotcheck.topic import publish_draws
    return publish_draws(records, prefix)
