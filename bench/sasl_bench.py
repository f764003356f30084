"""What SASL/SCRAM and the ACL authoriser cost: router throughput on the secured local cluster next to the
same measurement on a plaintext cluster (no authentication, no authoriser), both in this run.

The secured cluster is the usual one (`envgrid.localcluster`, SASL/SCRAM-SHA-512, StandardAuthorizer); the
plaintext one is a second local cluster in its own state directory, started for this benchmark and stopped
after it. Each is measured `--rounds` times, alternating, so that drift of the shared machine falls on both:
the plain confluent-kafka loop (consume → decode → encode → produce) and the faust router over a backlog,
as in `bench.pipeline_bench`.

Run: python -m bench.sasl_bench [--events N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.pipeline_bench import _baseline, _router_throughput
from envgrid import paths
from envgrid.connectors.settings import ensure_cluster
from envgrid.localcluster.cluster import LocalCluster


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="backlog size per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="measurements per cluster, alternating")
    args = parser.parse_args(argv)
    secured = ensure_cluster()
    plaintext_cluster = LocalCluster(var_dir=paths.var_dir() / "bench-plaintext", security="plaintext")
    print("starting a plaintext cluster for comparison ...", flush=True)
    plaintext = plaintext_cluster.acquire()
    results: dict[str, dict[str, list[float]]] = {"secured": {"baseline": [], "router": []},
                                                   "plaintext": {"baseline": [], "router": []}}
    try:
        for round_number in range(args.rounds):
            for name, cluster in (("secured", secured), ("plaintext", plaintext)):
                stamp = f"{time.strftime('%H%M%S')}r{round_number}"
                results[name]["baseline"].append(_baseline(cluster, f"sasl{name[:3]}base{stamp}", args.events))
                results[name]["router"].append(_router_throughput(cluster, f"sasl{name[:3]}router{stamp}", args.events))
                print(f"  round {round_number + 1} {name:<9} baseline {results[name]['baseline'][-1]:>9,.0f}/s  "
                      f"router {results[name]['router'][-1]:>9,.0f}/s", flush=True)
    finally:
        plaintext_cluster.release()
    mechanism = secured.security.mechanism if secured.security.sasl else "none"
    print(f"\nSASL cost ({secured.security.protocol}/{mechanism} + StandardAuthorizer vs PLAINTEXT, "
          f"{args.events:,} events, median of {args.rounds}):")
    for what in ("baseline", "router"):
        with_sasl = statistics.median(results["secured"][what])
        without = statistics.median(results["plaintext"][what])
        print(f"  {what:<9} secured {with_sasl:>9,.0f}/s   plaintext {without:>9,.0f}/s   "
              f"secured = {with_sasl / without:.0%} of plaintext")


if __name__ == "__main__":
    main()
