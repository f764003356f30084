"""Pipeline benchmark on the real local broker: router throughput and end-to-end latency, each next to a
baseline measured in the same run.

Baseline: a plain confluent-kafka loop doing consume → Avro decode → Avro encode → produce, no routing
(the least any router must do). Router: the faust worker's router (locate, re-key by merge zone, open or
merge, dispatch to every target topic), one worker process. Throughput is over a backlog of N pre-produced
reports; latency is from producing a report at a fixed rate to reading its first dispatched copy.

Run: python -m bench.pipeline_bench [--events N] [--rate R] [--latency-events M]
Aims (issue 4): router ≥ 50% of the baseline and ≥ 10,000 events/s; p99 < 50 ms at 1,000 events/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, Producer

from envgrid.connectors.settings import ensure_cluster
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish
from tests.integration.pipeline_process import WorkerProcess, prepare

REPORTS_ONLY = GeneratorConfig(kind_shares={"PetitionComplaint": 0.78, "PatrolReport": 0.22, "DepartmentNotice": 0.0},
                               broken_share=0.0, duplicate_share=0.0)  # every report opens a case


DEMO_RATE = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="backlog size for throughput")
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s for the latency run")
    parser.add_argument("--latency-events", type=int, default=10_000, help="events in the latency run")
    args = parser.parse_args()
    cluster = ensure_cluster()
    stamp = time.strftime("%H%M%S")

    baseline = _baseline(cluster, f"benchbase{stamp}", args.events)
    router = _router_throughput(cluster, f"benchrouter{stamp}", args.events)
    latency = _latency(cluster, f"benchlat{stamp}", args.rate, args.latency_events)
    sustainable = max(50.0, round(0.5 * router, -1))  # a rate the router keeps up with, for comparison
    latency_sustainable = _latency(cluster, f"benchlow{stamp}", sustainable, min(args.latency_events, int(30 * sustainable)))
    latency_demo = _latency(cluster, f"benchdemo{stamp}", DEMO_RATE, int(30 * DEMO_RATE))

    security = f"{cluster.security.protocol}/{cluster.security.mechanism}" if cluster.security.sasl else "PLAINTEXT"
    print(f"\npipeline benchmark on {cluster.bootstrap_servers}, {security} (one broker, 2 cores shared by broker, "
          f"registry, worker and load generator)")
    print(f"  baseline consume→decode→encode→produce   {baseline:>10,.0f} events/s")
    print(f"  router (one faust worker)                {router:>10,.0f} events/s   = {router / baseline:.0%} of baseline"
          f"   [aim ≥ 50% and ≥ 10,000/s: {'met' if router >= max(0.5 * baseline, 10_000) else 'NOT met'}]")
    p50, p99, sent = latency
    print(f"  end-to-end latency at {args.rate:,.0f} events/s ({sent:,} events): p50 {p50 * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms   [aim p99 < 50 ms: {'met' if p99 < 0.05 else 'NOT met'}]")
    p50, p99, sent = latency_sustainable
    print(f"  end-to-end latency at {sustainable:,.0f} events/s (half the router's throughput, {sent:,} events): "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    p50, p99, sent = latency_demo
    print(f"  end-to-end latency at {DEMO_RATE:,.0f} events/s (the demo's rate, {sent:,} events): "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


def _backlog(cluster, prefix: str, count: int):
    catalogue, codec = prepare(cluster, prefix)
    producer = make_producer(cluster)
    publish(producer, codec, generate(4242, count, REPORTS_ONLY), intake_topics(catalogue))
    return catalogue, codec


def _baseline(cluster, prefix: str, count: int) -> float:
    """consume → decode → encode → produce with plain confluent-kafka, as fast as it goes."""
    catalogue, codec = _backlog(cluster, prefix, count)
    sources = [catalogue.intake("PetitionComplaint"), catalogue.intake("PatrolReport")]
    sink = catalogue.topic("internal.located")
    consumer = Consumer(cluster.kafka_config({"group.id": f"{prefix}-baseline", "auto.offset.reset": "earliest",
                                              "enable.auto.commit": True}))
    producer = Producer(cluster.kafka_config({"linger.ms": 5, "enable.idempotence": True}))
    consumer.subscribe(sources)
    done, started = 0, None
    while done < count:
        for message in consumer.consume(1000, timeout=1.0):
            if message.error():
                continue
            started = started or time.perf_counter()
            event_name, value = codec.decode(message.value(), message.topic())
            producer.produce(sink, codec.encode(event_name, value, sink), message.key())
            done += 1
        producer.poll(0)
    producer.flush()
    elapsed = time.perf_counter() - started
    consumer.close()
    return count / elapsed


def _router_throughput(cluster, prefix: str, count: int) -> float:
    """The faust router over a backlog: from its first consumed record to the last report routed."""
    return router_run(cluster, prefix, count).events_per_s


@dataclass(frozen=True)
class RouterRun:
    events_per_s: float
    worker_cpu_ms: float  # per report
    broker_cpu_ms: float | None  # per report, when the broker's pid was given


def router_run(cluster, prefix: str, count: int, broker_pid: int | None = None) -> RouterRun:
    """The faust router over a backlog: throughput and CPU per report (the worker's, and the broker's JVM
    when its pid is given) from its first consumed record to the last report routed."""
    catalogue, _ = _backlog(cluster, prefix, count)
    located = catalogue.topic("internal.located")
    with tempfile.TemporaryDirectory() as state:
        worker = WorkerProcess(cluster, prefix, Path(state), processors="router").start()
        try:
            worker.wait_for(lambda: worker.consumed(catalogue.intake("PetitionComplaint")) > 0, 300, "router start")
            assert worker.process is not None
            first, worker_cpu = time.perf_counter(), cpu_seconds(worker.process.pid)
            broker_cpu = cpu_seconds(broker_pid) if broker_pid else 0.0
            worker.wait_for(lambda: worker.consumed(located) >= count, 900, "router to finish")
            elapsed = time.perf_counter() - first
            worker_cpu = cpu_seconds(worker.process.pid) - worker_cpu
            broker_ms = 1000 * (cpu_seconds(broker_pid) - broker_cpu) / count if broker_pid else None
        finally:
            worker.stop()
    return RouterRun(count / elapsed, 1000 * worker_cpu / count, broker_ms)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15 of stat


def _latency(cluster, prefix: str, rate: float, count: int) -> tuple[float, float, int]:
    """Produce at `rate`; latency = first dispatched copy read − report produced (same clock, same host)."""
    catalogue, codec = prepare(cluster, prefix)
    dispatch_topics = ([s.name for s in catalogue.by_template("dept.{department}.cases")]
                       + [s.name for s in catalogue.by_template("grid.{grid}.cases")] + [catalogue.topic("triage.cases")])
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as state:
        worker = WorkerProcess(cluster, prefix, Path(state), processors="router").start()
        reader = Consumer(cluster.kafka_config({"group.id": f"{prefix}-reader", "auto.offset.reset": "latest",
                                                "enable.auto.commit": False, "fetch.wait.max.ms": 10}))
        try:
            reader.subscribe(dispatch_topics)
            warmup = list(generate(99, 200, REPORTS_ONLY))
            publish(make_producer(cluster), codec, warmup, intake_topics(catalogue))
            worker.wait_for(lambda: worker.consumed(catalogue.topic("internal.located")) >= 190, 300, "router warm-up")
            while not reader.assignment():
                reader.poll(0.5)
            stop = threading.Event()
            seen: set[str] = set()

            def read() -> None:
                while not stop.is_set():
                    # a short timeout: consume() waits for all 500 or the timeout, and that wait would
                    # count as latency
                    for message in reader.consume(500, timeout=0.005):
                        if message.error():
                            continue
                        _, value = codec.decode(message.value(), message.topic())
                        source = value["source_event_id"]
                        if source in sent_at and source not in seen:
                            seen.add(source)
                            latencies.append(time.time() - sent_at[source])

            thread = threading.Thread(target=read, daemon=True)
            thread.start()
            events = list(generate(7, count, REPORTS_ONLY))

            producer = make_producer(cluster, **{"linger.ms": 0})
            topics = intake_topics(catalogue)
            interval, next_at = 1.0 / rate, time.perf_counter()
            for event in events:
                next_at += interval
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                sent_at[event.truth.event_id] = time.time()
                producer.produce(topics.topic_of(event), codec.encode(event.kind, event.value, topics.topic_of(event)),
                                 event.key.encode())
                producer.poll(0)
            producer.flush()
            deadline = time.time() + 60
            while len(seen) < 0.97 * count and time.time() < deadline:
                time.sleep(0.5)
            stop.set()
            thread.join()
        finally:
            reader.close()
            worker.stop()
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    return statistics.median(latencies), p99, len(latencies)


if __name__ == "__main__":
    main()
