"""`python -m envgrid.simulator generate --count N [--rate R] [--seed S] [--broken-share X] [--duplicate-share Y]
[--dry-run --format jsonl]`: publish generated events to the intake topics, or print them.
`python -m envgrid.simulator bench [--count N]`: the pure generator's throughput."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import datetime
from itertools import islice

from envgrid.simulator.generator import EventGenerator
from envgrid.simulator.model import GeneratorConfig


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = GeneratorConfig()
    overrides = {name: getattr(args, name) for name in ("broken_share", "duplicate_share") if getattr(args, name) is not None}
    if args.start:
        start = datetime.fromisoformat(args.start)
        if start.tzinfo is None:
            print(f"--start {args.start}: give a timezone, e.g. {args.start}+08:00", file=sys.stderr)
            return 2
        overrides["start"] = start
    try:
        config = replace(config, **overrides)
    except ValueError as error:
        print(f"invalid option: {error}", file=sys.stderr)
        return 2
    if args.command == "bench":
        return _bench(args.seed, config, args.count)
    events = islice(EventGenerator(args.seed, config), args.count)
    if args.dry_run:
        from envgrid.simulator.jsonl import dumps

        out = sys.stdout
        for event in events:
            out.write(dumps(event) + "\n")
        return 0
    return _publish(events, args.rate)


def _publish(events, rate: float | None) -> int:
    from envgrid.connectors.catalogue import Catalogue
    from envgrid.connectors.serde import EventCodec, registry_client
    from envgrid.connectors.settings import ensure_cluster
    from envgrid.simulator.publish import intake_topics, make_producer, publish

    addresses = ensure_cluster()
    catalogue = Catalogue.load()
    codec = EventCodec(registry_client(addresses), catalogue.event_type_of)
    producer = make_producer(addresses)

    def progress(count, result) -> None:
        print(f"\r{count} events, {result.rate:,.0f}/s, {sum(result.failed.values())} failed", end="", file=sys.stderr)

    result = publish(producer, codec, events, intake_topics(catalogue), rate=rate, progress=progress)
    print(file=sys.stderr)
    for label, count in sorted(result.produced.items()):
        print(f"{label:45} {count:8d} delivered {result.delivered[label]:8d}")
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if result.errors or result.failed else 0


def _bench(seed: int, config: GeneratorConfig, count: int) -> int:
    """Pure generator throughput (no Kafka, no encoding), after a warm-up that loads the reference data."""
    generator = EventGenerator(seed, config)
    generator.take(min(count, 20_000))  # warm-up: polygons of the villages used are built lazily
    chunk = max(1, count // 10)
    rates, cpu_s = [], 0.0
    for _ in range(10):  # ten chunks: on a shared machine the best chunk is the least disturbed figure
        started, cpu_started = time.perf_counter(), time.process_time()
        generator.take(chunk)
        rates.append(chunk / (time.perf_counter() - started))
        cpu_s += time.process_time() - cpu_started
    total_s = sum(chunk / rate for rate in rates)
    print(f"generated {chunk * 10} events in {total_s:.2f} s: {chunk * 10 / total_s:,.0f} events/s overall "
          f"({chunk * 10 / cpu_s:,.0f} per CPU second), best chunk {max(rates):,.0f} events/s, "
          f"median chunk {sorted(rates)[5]:,.0f} events/s")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.simulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="generate intake events (petitions, patrol reports, notices)")
    generate.add_argument("--count", type=int, required=True, help="number of events")
    generate.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    generate.add_argument("--seed", type=int, default=2016, help="random seed (same seed, same events)")
    generate.add_argument("--broken-share", type=float, default=None, help="share of broken input (default 0.02)")
    generate.add_argument("--duplicate-share", type=float, default=None, help="share of repeat reports (default 0.05)")
    generate.add_argument("--start", default=None, help="simulated start instant, ISO-8601 with offset")
    generate.add_argument("--dry-run", action="store_true", help="print events instead of producing them")
    generate.add_argument("--format", choices=("jsonl",), default="jsonl", help="dry-run output format")
    bench = commands.add_parser("bench", help="measure the pure generator's throughput (events/s)")
    bench.add_argument("--count", type=int, default=100_000)
    bench.add_argument("--seed", type=int, default=2016)
    for name in ("broken_share", "duplicate_share", "start"):
        bench.set_defaults(**{name: None})
    return parser
