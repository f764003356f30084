"""What asking for log ends costs: envgrid.connectors.log_ends (the Admin API's ListOffsets, earliest and latest of
every partition at once) next to the watermark query it replaced (Consumer.get_watermark_offsets, uncached: one
query per partition), for one topic of 6 partitions on the local cluster, both in this run.

Each is measured warm (the client made once, as the SLA ticker and the router keep theirs) and cold (a new client
per question, as the command-line tools make theirs: connection and SASL login included), `--rounds` times,
alternating. Wall time per question (all 6 partitions) and the CPU time this process spent on it.

Run: python -m bench.log_ends_bench [--rounds R]   (uses ENVGRID_BOOTSTRAP_SERVERS..., else the local cluster,
started for the run and stopped after it if it was not running)
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from envgrid.connectors.log_ends import LogEnds
from envgrid.connectors.settings import cluster_settings

PARTITIONS = 6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50, help="questions per way, warm (cold: a fifth)")
    args = parser.parse_args(argv)
    local = None
    cluster = cluster_settings()
    if cluster is None:
        from envgrid.localcluster.cluster import LocalCluster

        local = LocalCluster()
        cluster = local.acquire()
    try:
        measure(cluster, args.rounds)
    finally:
        if local is not None:
            local.release()


def measure(cluster, rounds: int) -> None:
    admin = AdminClient(cluster.kafka_config())
    topic = f"bench.log-ends.{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=30)
    time.sleep(1)
    producer = Producer(cluster.kafka_config())
    for i in range(600):
        producer.produce(topic, value=b"x" * 100, partition=i % PARTITIONS)
    assert producer.flush(30) == 0
    partitions = [(topic, p) for p in range(PARTITIONS)]

    def consumer() -> Consumer:
        return Consumer(cluster.kafka_config({"group.id": f"bench-{uuid.uuid4().hex[:6]}"}))

    def query(client: Consumer) -> dict:
        return {tp: client.get_watermark_offsets(TopicPartition(*tp), timeout=10) for tp in partitions}

    warm_consumer, warm_ends = consumer(), LogEnds(cluster.kafka_config())
    try:
        assert query(warm_consumer) == warm_ends.of(partitions), "the two ways disagree"

        def cold_query() -> dict:
            client = consumer()
            try:
                return query(client)
            finally:
                client.close()

        ways: dict[str, Callable[[], object]] = {
            "watermark query, warm": lambda: query(warm_consumer),
            "log_ends, warm": lambda: warm_ends.of(partitions),
            "watermark query, cold": cold_query,
            "log_ends, cold": lambda: LogEnds(cluster.kafka_config()).of(partitions),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for round_number in range(rounds):
            for name, ask in ways.items():
                if "cold" in name and round_number % 5:
                    continue
                wall, cpu = time.perf_counter(), time.process_time()
                ask()
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    finally:
        warm_consumer.close()
        admin.delete_topics([topic])
    print(f"log ends of one topic, {PARTITIONS} partitions ({cluster.bootstrap_servers}, "
          f"{'SASL ' + cluster.security.mechanism if cluster.security.sasl else 'plaintext'}):")
    print(f"  {'':<24}{'n':>4}{'median ms':>11}{'p90 ms':>9}{'max ms':>9}{'CPU ms':>9}")
    for name, found in times.items():
        walls = sorted(w * 1000 for w, _ in found)
        cpus = [c * 1000 for _, c in found]
        print(f"  {name:<24}{len(found):>4}{statistics.median(walls):>11.1f}{walls[int(0.9 * (len(walls) - 1))]:>9.1f}"
              f"{walls[-1]:>9.1f}{statistics.median(cpus):>9.2f}")


if __name__ == "__main__":
    main()
