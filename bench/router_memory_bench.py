"""The router's Python cost per report, in memory: decode, stage 1, stage 2 and encoding, in CPU µs per report.

`python -m bench.router_memory_bench [--reports 5000] [--passes 3]`. Generated reports (every one opens a case,
as in `bench.pipeline_bench`) are Avro-encoded once up front, then run through the real router
(`streams.composition.routing_service`) with the real codec on an in-memory registry: no broker, no faust.
Per report: decode alone; stage 1 (`locate`, decode included); stage 2 (`locate_again` + `open_or_merge`);
encoding the outputs, the baseline (`EventCodec.encode` per record) next to `OutputEncoder.encode_all`, both in
this run and checked to give the same bytes. Each figure is the best of `--passes` passes in CPU time of this
process (the least disturbed by other load on a shared machine), with the garbage collector off while a step
runs (see `_timed`); every pass starts from empty indexes.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

from bench.pipeline_bench import REPORTS_ONLY
from envgrid.connectors.serde import EventCodec
from envgrid.domain.duplicates import IncidentIndex
from envgrid.simulator.generator import generate
from envgrid.streams.composition import routing_service
from envgrid.streams.output_encoder import OutputEncoder
from envgrid.streams.routing_service import Intake, Located, Refused, RoutingService
from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER

SEED = 4242
T = TypeVar("T")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=5_000)
    parser.add_argument("--passes", type=int, default=3, help="timed passes; each figure is the best")
    args = parser.parse_args(argv)
    codec = EventCodec(MockSchemaRegistryClient({"url": "mock://router-memory-bench"}), CATALOGUE.event_type_of)
    reports = [(codec.encode(e.kind, e.value, CATALOGUE.intake(e.kind)), CATALOGUE.intake(e.kind))
               for e in generate(SEED, args.reports, REPORTS_ONLY) if e.value is not None]
    best: dict[str, float] = defaultdict(lambda: float("inf"))
    for number in range(args.passes + 1):  # pass 0 warms the routing memo and the codec's schema caches
        figures, intakes = _one_pass(codec, reports)
        if number:
            for name, seconds in figures.items():
                best[name] = min(best[name], seconds)
    outputs = sum(len(intake.outputs) for intake in intakes)
    copies = sum(1 for intake in intakes for output in intake.outputs if output.event_name == "CaseDispatched")
    per_report = {name: 1e6 * seconds / len(reports) for name, seconds in best.items()}
    old_total = per_report["stage 1"] + per_report["stage 2"] + per_report["encode, per record"]
    new_total = per_report["stage 1"] + per_report["stage 2"] + per_report["encode, OutputEncoder"]
    print(f"{len(reports):,} reports ({len(intakes):,} cases opened), {outputs / len(reports):.2f} outputs per report "
          f"of which {copies / len(reports):.2f} CaseDispatched; CPU µs per report, best of {args.passes} passes:")
    print(f"  decode (Avro, the codec)                 {per_report['decode']:>8.1f}")
    print(f"  stage 1: locate (decode included)        {per_report['stage 1']:>8.1f}")
    print(f"  stage 2: locate_again + open_or_merge    {per_report['stage 2']:>8.1f}")
    print(f"  encode, EventCodec.encode per record     {per_report['encode, per record']:>8.1f}   (baseline)")
    print(f"  encode, OutputEncoder.encode_all         {per_report['encode, OutputEncoder']:>8.1f}   "
          f"= {per_report['encode, per record'] / per_report['encode, OutputEncoder']:.2f}x faster, same bytes")
    print(f"  total, stages 1+2 + encode               {old_total:>8.1f} per record → {new_total:.1f} OutputEncoder")
    print(f"  reports per CPU-second                   {1e6 / old_total:>8,.0f} per record → {1e6 / new_total:,.0f} "
          f"OutputEncoder ({old_total / new_total:.2f}x)")


def _one_pass(codec: EventCodec, reports: list[tuple[bytes, str]]) -> tuple[dict[str, float], list[Intake]]:
    """CPU seconds of each step over all reports, and the intakes (every report must open or merge)."""
    service = routing_service(CATALOGUE, codec.decode, TEST_PSEUDONYMISER)
    indexes: defaultdict[str, IncidentIndex] = defaultdict(IncidentIndex)
    figures: dict[str, float] = {}
    figures["decode"], _ = _timed(lambda report: codec.decode(*report), reports)
    figures["stage 1"], located = _timed(lambda report: _routed(service.locate(*report)), reports)
    figures["stage 2"], intakes = _timed(lambda report: _stage_two(service, indexes, *report), reports)
    figures["encode, per record"], old = _timed(
        lambda intake: [codec.encode(o.event_name, o.value, o.topic) for o in intake.outputs], intakes)
    figures["encode, OutputEncoder"], new = _timed(lambda intake: OutputEncoder(codec).encode_all(intake.outputs),
                                                   intakes)
    if old != new:
        raise AssertionError("OutputEncoder's bytes differ from EventCodec.encode's")
    return figures, intakes


def _stage_two(service: RoutingService, indexes: defaultdict[str, IncidentIndex], value: bytes, topic: str) -> Intake:
    located = _routed(service.locate_again(value, topic))
    return _routed(service.open_or_merge(located, indexes[located.incidents_key]))


def _routed(result: Located | Intake | Refused) -> Any:
    if isinstance(result, Refused):
        raise AssertionError(f"a generated valid report was refused: {result}")
    return result


def _timed(step: Callable[[Any], T], items: Sequence[Any]) -> tuple[float, list[T]]:
    """CPU seconds of `step` over `items`, with the garbage collector off: this benchmark keeps every report's
    results (to compare the two encodings), which the worker does not, and the collector's passes over them
    (more than the step's own work in stage 2) would be counted against whichever step runs then."""
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        results = [step(item) for item in items]
        return time.process_time() - started, results
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
