"""The case desk inside faust, on the real local broker: CPU per case command on a backlog, and at rest.

The router turns N generated reports into N case commands (each opens a case) and stops; then a worker running
only the case desk (`--processors cases`) takes in that backlog. Measured from its 300th command to its last:
commands per second and the worker's CPU per command (/proc), then its CPU over 10 s at rest. The baseline in
the same run is the case desk's own Python work on the same kind of traffic, in memory (`bench.case_desk_bench`
measures it per notice; here the commands are what is timed), so the ratio is what faust, aiokafka, RocksDB
and the changelog add.

`--profile OUT` also records the worker with py-spy (GIL-holding samples, raw collapsed stacks in OUT.txt),
for `python -m bench.profile_summary OUT.txt`.

Run: python -m bench.faust_case_desk_bench [--events N] [--profile OUT]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.case_desk_bench import command_cost_ms
from bench.pipeline_bench import backlog, cpu_seconds
from envgrid.connectors.settings import ensure_cluster
from tests.integration.pipeline_process import WorkerProcess, topics_deleted_after

WARM_UP = 300  # commands taken in before the clock starts (group join, RocksDB opening, table recovery)
AT_REST_S = 10.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=4_000, help="reports, each opening a case")
    parser.add_argument("--profile", help="record the case desk with py-spy into OUT.txt")
    args = parser.parse_args(argv)
    cluster = ensure_cluster()
    prefix = f"benchfaustdesk{time.strftime('%H%M%S')}"
    with topics_deleted_after(cluster, prefix), tempfile.TemporaryDirectory() as state:
        catalogue, _ = backlog(cluster, prefix, args.events)
        commands = catalogue.topic("internal.case-commands")
        router = WorkerProcess(cluster, prefix, Path(state) / "router", processors="router",
                               log=Path(state) / "router.log").start()
        try:
            router.wait_for(lambda: router.consumed(catalogue.topic("internal.located")) >= args.events, 900,
                            "the router to make every case command")
            time.sleep(2)  # its last batch acknowledged
        finally:
            router.stop()
        desk = WorkerProcess(cluster, prefix, Path(state) / "desk", processors="cases",
                             log=Path(state) / "desk.log").start()
        spy = None
        try:
            desk.wait_for(lambda: desk.metrics() != {}, 300, "the case desk to serve metrics")
            assert desk.process is not None
            pid = desk.process.pid
            if args.profile:
                spy = _py_spy(pid, args.profile)
            desk.wait_for(lambda: desk.consumed(commands) >= WARM_UP, 600, "the case desk's warm-up")
            started, cpu_before, taken_before = time.perf_counter(), cpu_seconds(pid), desk.consumed(commands)
            desk.wait_for(lambda: desk.consumed(commands) >= args.events, 1200, "the case desk to take in the backlog")
            elapsed, cpu, taken = time.perf_counter() - started, cpu_seconds(pid) - cpu_before, args.events - taken_before
            time.sleep(1.0)
            rest_cpu = cpu_seconds(pid)
            time.sleep(AT_REST_S)
            rest_share = (cpu_seconds(pid) - rest_cpu) / AT_REST_S
        finally:
            if spy is not None:
                spy.send_signal(2)
                spy.wait(60)
            desk.stop()
    in_memory = command_cost_ms(min(args.events, 500))  # the same Python work, through the worker's composition
    per_command = 1000 * cpu / taken
    print(f"\ncase desk in faust, {taken:,.0f} case commands (each opens a case) after {WARM_UP} of warm-up:")
    print(f"  {'run':<52}{'commands/s':>12}{'CPU ms/command':>16}{'× in memory':>13}")
    print(f"  {'in memory (decode, handle, table writes, encode)':<52}{'':>12}{in_memory:>16.2f}{1:>13.2f}")
    print(f"  {'faust worker on the backlog':<52}{taken / elapsed:>12,.0f}{per_command:>16.2f}"
          f"{per_command / in_memory:>13.1f}")
    print(f"  at rest: {100 * rest_share:.1f}% of a core")
    if args.profile:
        print(f"  profile: {args.profile}.txt (python -m bench.profile_summary {args.profile}.txt)")


def _py_spy(pid: int, out: str) -> subprocess.Popen:
    beside = Path(sys.executable).parent / "py-spy"  # the virtualenv's, when its bin is not on PATH
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    return subprocess.Popen([spy, "record", "-p", str(pid), "-o", f"{out}.txt", "--format", "raw", "-r", "200",
                             "--nonblocking", "--gil"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
