"""`make bench`: every benchmark, each printing its figures next to a baseline measured in the same run."""

import sys

from bench import (
    audit_bench,
    case_desk_bench,
    case_store_bench,
    faust_case_desk_bench,
    open311_bench,
    pipeline_bench,
    router_memory_bench,
    routing_bench,
    sasl_bench,
    sla_burst_bench,
)


def main() -> None:
    print("== routing domain (pure, one core) ==", flush=True)
    sys.argv = [sys.argv[0]]
    routing_bench.main()
    print("\n== SLA deadline burst (in memory) ==", flush=True)
    sla_burst_bench.main([])
    print("\n== router per report, in memory (decode, stages 1 and 2, encoding) ==", flush=True)
    router_memory_bench.main([])
    print("\n== case desk (in memory): notices per CPU-second ==", flush=True)
    case_desk_bench.main([])
    print("\n== case desk in faust on the local broker: CPU per case command, and at rest ==", flush=True)
    faust_case_desk_bench.main([])
    print("\n== pipeline on the local broker ==", flush=True)
    pipeline_bench.main()
    print("\n== what SASL costs (secured vs plaintext local cluster) ==", flush=True)
    sasl_bench.main([])
    print("\n== case store: the sink vs a plain COPY (local broker and PostgreSQL) ==", flush=True)
    case_store_bench.main([])
    print("\n== Open311 gateway under Locust (local broker, loopback HTTP) ==", flush=True)
    open311_bench.main([])
    print("\n== audit: its read of case.history vs plain confluent-kafka reads (local broker) ==", flush=True)
    audit_bench.main([])


if __name__ == "__main__":
    main()
