"""The Open311 gateway under load on loopback, against the real (local) broker and registry.

`python -m bench.open311_bench [--users 20] [--seconds 30]`: the gateway runs as users run it (`python -m
envgrid.connectors.open311 serve`, as the intake-gateway principal on the local secured cluster); Locust, headless in
its own process, posts service requests as fast as `--users` users can (no think time), each with its own
Idempotency-Key. Printed: requests/s and the HTTP p50/p99 as Locust saw them (every answer waited for the broker's
acknowledgement), the gateway's own produce-to-acknowledgement p99 (its histogram, as a bucket bound), the
records on the intake topic against the 201 answers (nothing dropped, nothing doubled), and the machine's load.
The gateway, Locust, the broker and the registry share the machine's cores: the figures are a floor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from envgrid.connectors.settings import ensure_cluster
from tests.integration.open311_process import KEY, GatewayProcess
from tests.integration.pipeline_process import grant_units, prepare

LOCUSTFILE = Path(__file__).resolve().parent / "open311_locustfile.py"
NO_CASE_STORE = "postgresql://127.0.0.1:1/none"  # only POSTs here: the status source is never asked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent Locust users")
    parser.add_argument("--seconds", type=int, default=30, help="how long the load runs")
    args = parser.parse_args(argv)
    cluster = ensure_cluster()
    prefix = f"benchopen311{time.strftime('%H%M%S')}"
    catalogue, _codec = prepare(cluster, prefix)
    grant_units(prefix)
    topic = catalogue.intake("PetitionComplaint")
    with tempfile.TemporaryDirectory() as workdir:
        gateway = GatewayProcess(cluster, prefix, NO_CASE_STORE, Path(workdir)).start()
        try:
            load_before = os.getloadavg()
            stats = _locust(gateway.url, args.users, args.seconds, Path(workdir))
            load_after = os.getloadavg()
            metrics = httpx.get(f"{gateway.url}/metrics/", timeout=10).text
            produce_p99 = _histogram_p99(metrics, "envgrid_open311_produce_seconds")
            accepted = _accepted(metrics)
        finally:
            gateway.stop()
    records = _records(cluster, topic)
    print(f"open311 POST requests.json, {args.users} users, {args.seconds} s, loopback, {os.cpu_count()} cores:")
    print(f"  {stats['rps']:,.0f} requests/s; HTTP p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms "
          f"(each answer after the broker's acknowledgement)")
    print(f"  produce -> broker acknowledgement p99 <= {produce_p99 * 1000:.0f} ms (the gateway's histogram bucket)")
    print(f"  {stats['count']:,} requests answered to Locust, {stats['failures']:,} failed; {records:,} records on {topic} "
          f"for {accepted:,} answered 201 by the gateway ({'none lost, none doubled' if records == accepted else 'MISMATCH'})")
    print(f"  load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min)")


def _locust(url: str, users: int, seconds: int, workdir: Path) -> dict[str, float]:
    """Locust's final statistics (its --json-file): requests/s over the run, p50 and p99 from its histogram (ms)."""
    report = workdir / "locust"
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url, "-u", str(users),
               "-r", str(users), "-t", f"{seconds}s", "--only-summary", "--json-file", str(report),
               "--loglevel", "WARNING"]
    subprocess.run(command, env={**os.environ, "OPEN311_BENCH_KEY": KEY}, check=False, stdout=subprocess.DEVNULL,
                   timeout=seconds + 120)
    [stats] = json.loads(Path(f"{report}.json").read_text(encoding="utf-8"))
    times = sorted((float(ms), count) for ms, count in stats["response_times"].items())
    elapsed = stats["last_request_timestamp"] - stats["start_time"]
    return {"rps": stats["num_requests"] / elapsed if elapsed > 0 else 0.0, "p50": _percentile(times, 0.50),
            "p99": _percentile(times, 0.99), "count": stats["num_requests"], "failures": stats["num_failures"]}


def _percentile(times: list[tuple[float, int]], fraction: float) -> float:
    total, seen = sum(count for _ms, count in times), 0
    for ms, count in times:
        seen += count
        if seen >= fraction * total:
            return ms
    return float("nan")


def _histogram_p99(text: str, name: str) -> float:
    """The smallest bucket bound under which at least 99% of the observations fell."""
    buckets, total = [], 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name == f"{name}_count":
                total = sample.value
    for bound, count in sorted(buckets):
        if total and count >= 0.99 * total:
            return bound
    return float("nan")


def _accepted(text: str) -> int:
    """The gateway's 201 answers (its request counter): Locust may drop a request in flight when it stops."""
    return int(sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                   if sample.name == "envgrid_open311_requests_total" and sample.labels.get("status") == "201"))


def _records(cluster, topic: str) -> int:
    consumer = Consumer(cluster.kafka_config({"group.id": f"bench-open311-{time.time_ns()}"}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(high - low for low, high in (consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                                                for p in partitions))
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
