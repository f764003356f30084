"""`bench.case_desk_bench` on a small run: it replays every recorded input, pays for every output, and says
whether the aim is met (the figures themselves are the benchmark's business, not a test's)."""

from __future__ import annotations

import re
from datetime import timedelta

from bench import case_desk_bench
from tests.unit.pipeline.recorded_traffic import record_traffic


def test_the_bench_prints_notices_per_cpu_second_by_phase_and_the_aim(capsys):
    case_desk_bench.main(["--cases", "12", "--tick-minutes", "360"])
    out = capsys.readouterr().out
    assert re.search(r"recorded 1\d cases: \d+ case commands, \d+ notices, \d+ ticks", out), out
    assert re.search(r"notices: [\d,]+ per CPU-second", out), out
    assert re.search(r"CPU-µs per notice: decode -?\d+; handle -?\d+; state writes -?\d+; encode outputs -?\d+", out), out
    assert re.search(r"aim ≥ 5,000 notices per CPU-second: (met|NOT met)", out), out


def test_the_replay_pays_for_every_input_and_every_output():
    traffic = record_traffic(cases=12, seed=5, tick_every=timedelta(hours=6))
    run = case_desk_bench.replay(traffic, keep=True)
    assert sum(run.count.values()) == len(traffic.inputs) and run.count["notice"] > 0
    assert sum(run.outputs.values()) == len(run.sent) > run.count["notice"]
    assert run.state_writes > 0 and run.state_bytes > 100 * run.state_writes
    again = case_desk_bench.replay(traffic, keep=True, encoding=False)
    assert again.sent == run.sent and again.state_bytes == 0  # the same answers; only the tables' bytes differ
