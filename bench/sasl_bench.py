"""What SASL/SCRAM and the ACL authoriser cost: the router on the secured local cluster next to the same
measurement on a plaintext cluster (no authentication, no authoriser), both in this run.

The secured cluster is the usual one (`envgrid.localcluster`, SASL/SCRAM-SHA-512, StandardAuthorizer); the
plaintext one is a second local cluster in its own state directory, started for this benchmark and stopped
after it. Each is measured `--rounds` times, alternating, so that drift of the shared machine falls on both.
Per run: the faust router over a backlog of reports (as in `bench.pipeline_bench`), its throughput, and the
CPU seconds the worker process and the broker's JVM spent per report while it ran. CPU per report is the
figure to trust on a shared machine: other load stretches the wall clock, much less the CPU a process uses.

Run: python -m bench.sasl_bench [--events N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.pipeline_bench import RouterRun, router_run
from envgrid import paths
from envgrid.connectors.settings import ensure_cluster
from envgrid.localcluster.cluster import LocalCluster


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="backlog size per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cluster, alternating")
    args = parser.parse_args(argv)
    secured = ensure_cluster()
    secured_broker = _broker_pid(LocalCluster())
    plaintext_cluster = LocalCluster(var_dir=paths.var_dir() / "bench-plaintext", security="plaintext")
    print("starting a plaintext cluster for comparison ...", flush=True)
    plaintext = plaintext_cluster.acquire()
    runs: dict[str, list[RouterRun]] = {"secured": [], "plaintext": []}
    try:
        clusters = (("secured", secured, secured_broker), ("plaintext", plaintext, _broker_pid(plaintext_cluster)))
        for round_number in range(args.rounds):
            for name, cluster, broker in clusters:
                run = router_run(cluster, f"sasl{name[:3]}{time.strftime('%H%M%S')}r{round_number}", args.events, broker)
                runs[name].append(run)
                print(f"  round {round_number + 1} {name:<9} router {run.events_per_s:>7,.0f}/s   worker "
                      f"{run.worker_cpu_ms:.2f} ms CPU/report   broker {run.broker_cpu_ms:.2f} ms CPU/report", flush=True)
    finally:
        plaintext_cluster.release()
    mechanism = secured.security.mechanism if secured.security.sasl else "none"
    print(f"\nSASL cost ({secured.security.protocol}/{mechanism} + StandardAuthorizer vs PLAINTEXT, "
          f"{args.events:,} reports per run, median of {args.rounds}):")
    print(f"  {'':<28}{'secured':>10}{'plaintext':>11}{'secured/plaintext':>19}")
    for label, field, unit in (("router throughput", "events_per_s", "/s"),
                               ("worker CPU per report", "worker_cpu_ms", " ms"),
                               ("broker CPU per report", "broker_cpu_ms", " ms")):
        with_sasl = statistics.median(getattr(r, field) for r in runs["secured"])
        without = statistics.median(getattr(r, field) for r in runs["plaintext"])
        digits = 0 if field == "events_per_s" else 2
        print(f"  {label:<28}{with_sasl:>8,.{digits}f}{unit:<2}{without:>9,.{digits}f}{unit:<2}"
              f"{with_sasl / without:>17.2f}×")


def _broker_pid(cluster: LocalCluster) -> int:
    status = cluster.status()
    if not status.get("running"):
        raise SystemExit(f"the local cluster in {cluster.var} does not run")
    return int(status["broker"]["pid"])


if __name__ == "__main__":
    main()
