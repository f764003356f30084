"""The case desk in memory: notices per CPU-second, and where a notice's time goes (aim: ≥ 5,000 per CPU-second).

`python -m bench.case_desk_bench [--cases 2000] [--seed 7] [--tick-minutes 10] [--profile FILE]`. First a realistic
run is recorded (tests/unit/pipeline/recorded_traffic.py: about `--cases` cases opened through the real router,
every copy answered as the demo's departments answer it, ticks every `--tick-minutes` of event time), as the
bytes the worker's `cases` agent reads. Then it is replayed through a fresh case desk from
`composition.case_service`, paying what the agent pays for each record (`envgrid.streams.agents.install_cases`):
Avro decode of the input, the handler, every table write encoded by the state codec as the faust table encodes
it for its changelog (`StoredTable`), and Avro encoding of every output and dead letter. CPU time
(time.process_time) is taken per input and phase and summed by kind. Not counted: the notice gate (another
agent), metrics, sending, and the RocksDB store (which encodes each value once more, and decodes it on every read).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from envgrid.connectors.serde import EventCodec
from envgrid.streams.case_service import CaseService, CaseState
from envgrid.streams.composition import case_service
from envgrid.streams.deadletter import DeadLetterSink
from envgrid.streams.held_notices import SourceRecord
from envgrid.streams.routing_service import Refused
from tests.unit.pipeline.harness import CATALOGUE, TEST_PSEUDONYMISER
from tests.unit.pipeline.recorded_traffic import Input, StoredTable, Traffic, handle, record_traffic

AIM_NOTICES_PER_CPU_S = 5_000
PHASES = ("decode", "handle", "state writes", "encode outputs")
FAILED_AT = datetime(2024, 1, 1, tzinfo=UTC)  # a dead letter's failure time: the wall clock in the worker


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tick-minutes", type=float, default=10.0)
    parser.add_argument("--profile", help="write a cProfile of the notices' handling here and print its top functions")
    args = parser.parse_args(argv)
    started = time.process_time()
    traffic = record_traffic(args.cases, args.seed, timedelta(minutes=args.tick_minutes))
    recorded_s = time.process_time() - started
    kinds = Counter(item.kind for item in traffic.inputs)
    print(f"recorded {traffic.opened:,} cases: {kinds['command']:,} case commands, {kinds['notice']:,} notices, "
          f"{kinds['tick']:,} ticks ({recorded_s:.0f} CPU-s)", flush=True)
    run, control = replay(traffic), replay(traffic, encoding=False)
    report(run, control)
    if args.profile:
        profile = cProfile.Profile()
        replay(traffic, profile)
        profile.dump_stats(args.profile)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


@dataclass
class Run:
    """CPU seconds and counts per input kind, and a notice's phases (CPU nanoseconds summed over notices)."""

    cpu_s: Counter[str] = field(default_factory=Counter)
    count: Counter[str] = field(default_factory=Counter)
    phases_ns: Counter[str] = field(default_factory=Counter)
    outputs: Counter[str] = field(default_factory=Counter)  # event type -> records sent
    state_bytes: int = 0
    state_writes: int = 0
    sent: list[tuple[str, str, bytes]] = field(default_factory=list)  # (topic, key, value) of every record sent

    @property
    def notices_per_cpu_s(self) -> float:
        return self.count["notice"] / self.cpu_s["notice"]


def replay(traffic: Traffic, profile: cProfile.Profile | None = None, keep: bool = False,
           encoding: bool = True) -> Run:
    """Every recorded input through a fresh case desk, paid as the worker pays it (without encoding table
    values unless `encoding`); `profile` profiles the notices' handling only; `keep` keeps what was sent."""
    desk = case_service(CATALOGUE, TEST_PSEUDONYMISER)
    tables = [StoredTable(encoding) for _ in range(6)]
    state = CaseState(*tables)
    run, codec = Run(), traffic.codec
    letters = DeadLetterSink(CATALOGUE.topic("deadletter"), codec.encode, _no_send, processor="bench")
    for item in traffic.inputs:
        profiled = profile is not None and item.kind == "notice"
        if profiled:
            profile.enable()
        phases = _one(item, desk, state, codec, letters, run, keep)
        if profiled:
            profile.disable()
        run.cpu_s[item.kind] += sum(phases) / 1e9
        run.count[item.kind] += 1
        if item.kind == "notice":
            run.phases_ns.update(dict(zip(("decode", "handle", "encode outputs"), phases, strict=True)))
    run.state_bytes = sum(table.bytes for table in tables)
    run.state_writes = sum(table.writes for table in tables)
    return run


def command_cost_ms(cases: int, seed: int = 7) -> float:
    """CPU milliseconds per case command (open or merge) of a recorded run of `cases` cases, replayed in memory."""
    run = replay(record_traffic(cases, seed, timedelta(minutes=10)))
    return 1000 * run.cpu_s["command"] / run.count["command"]


def report(run: Run, control: Run) -> None:
    """`control`: the same replay with tables that encode nothing, for the state codec's share of handling."""
    notices = run.count["notice"]
    rate = run.notices_per_cpu_s
    print(f"notices: {rate:,.0f} per CPU-second ({notices:,} in {run.cpu_s['notice']:.2f} CPU-s)")
    phases = dict(run.phases_ns, handle=control.phases_ns["handle"])
    phases["state writes"] = run.phases_ns["handle"] - control.phases_ns["handle"]
    split = "; ".join(f"{name} {phases[name] / notices / 1000:.0f}" for name in PHASES)
    print(f"  CPU-µs per notice: {split} (state writes: handling minus the same handling with tables that "
          f"encode nothing)")
    for kind in ("command", "tick"):
        if run.count[kind]:
            print(f"{kind}s: {1e6 * run.cpu_s[kind] / run.count[kind]:,.0f} CPU-µs each ({run.count[kind]:,} in "
                  f"{run.cpu_s[kind]:.2f} CPU-s)")
    every = sum(run.cpu_s.values())
    print(f"all inputs: {sum(run.count.values()) / every:,.0f} per CPU-second; {run.state_writes:,} table writes, "
          f"{run.state_bytes / max(1, run.state_writes):,.0f} bytes each; outputs {dict(run.outputs)}")
    met = "met" if rate >= AIM_NOTICES_PER_CPU_S else "NOT met"
    print(f"aim ≥ {AIM_NOTICES_PER_CPU_S:,} notices per CPU-second: {met}")


def _one(item: Input, desk: CaseService, state: CaseState, codec: EventCodec, letters: DeadLetterSink, run: Run,
         keep: bool) -> tuple[int, int, int]:
    """One input as the `cases` agent handles it; CPU nanoseconds of decode, handling and encoding the outputs."""
    clock = time.process_time_ns
    t0 = clock()
    event_name, record = codec.decode(item.value, item.topic)
    source = SourceRecord(item.topic, 0, item.offset, None, item.value)
    t1 = clock()
    handled = handle(desk, state, item.kind, event_name, record, source)
    t2 = clock()
    for output in handled.outputs:
        value = codec.encode(output.event_name, output.value, output.topic)
        run.outputs[output.event_name] += 1
        if keep:
            run.sent.append((output.topic, output.key, value))
    refusals: list[tuple[Any, Refused]] = [(source, handled.refused)] if handled.refused is not None else []
    for origin, refused in [*refusals, *((held.source, held.refused) for held in handled.dead_letters)]:
        letter = letters.record_for(origin, refused.stage, refused.reason_code, refused.error_class, refused.message,
                                    refused.event_id, failed_at=FAILED_AT)
        value = codec.encode("DeadLetter", letter, letters.topic)
        run.outputs["DeadLetter"] += 1
        if keep:
            run.sent.append((letters.topic, letter["source_topic"], value))
    return t1 - t0, t2 - t1, clock() - t2


async def _no_send(topic: str, key: bytes, value: bytes) -> None:
    return None


if __name__ == "__main__":
    main()
