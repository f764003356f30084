"""Pipeline benchmark on the real local broker: throughput, CPU per report, latency and scale-out, each next
to a baseline measured in the same run.

Baseline (passthrough): a plain confluent-kafka loop doing consume → Avro decode → Avro encode → produce, no
routing (the least any router must do). Router: the worker's router (librdkafka batch loop: locate, re-key by
merge zone, open or merge, dispatch to every target topic) over a backlog of N reports, one process. Pipeline:
the router and the case desk (faust) each in a process of its own, from the first report read to the case desk
having taken in every case command. Latency: reports produced at a quarter of the router's measured capacity
(and at the demo's rate), from producing a report to reading its first dispatched copy. Scale-out: 1, 2 and
3 router processes in one group on the same backlog.

Run: python -m bench.pipeline_bench [--events N] [--latency-events M] [--scale K]
Aims (issue 10): router ≥ 0.5× the passthrough; pipeline ≥ 0.25×; latency p99 < 100 ms at a quarter of the
router's capacity.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, Producer

from envgrid.connectors.settings import ensure_cluster
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratorConfig
from envgrid.simulator.publish import intake_topics, make_producer, publish
from tests.integration.pipeline_process import WorkerProcess, prepare, topics_deleted_after

REPORTS_ONLY = GeneratorConfig(kind_shares={"PetitionComplaint": 0.78, "PatrolReport": 0.22, "DepartmentNotice": 0.0},
                               broken_share=0.0, duplicate_share=0.0)  # every report opens a case


DEMO_RATE = 50.0
ROUTER_AIM, PIPELINE_AIM, LATENCY_AIM_S = 0.5, 0.25, 0.1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="backlog size for throughput")
    parser.add_argument("--latency-events", type=int, default=6_000, help="most events in a latency run")
    parser.add_argument("--scale", type=int, default=3, help="most router processes in the scale-out runs")
    args = parser.parse_args(argv)
    cluster = ensure_cluster()
    stamp = time.strftime("%H%M%S")

    baseline = _baseline(cluster, f"benchbase{stamp}", args.events)
    router = router_run(cluster, f"benchrouter{stamp}", args.events)
    pipeline = pipeline_run(cluster, f"benchpipe{stamp}", args.events)
    quarter = max(50.0, round(0.25 * router.events_per_s, -1))
    latency = _latency(cluster, f"benchlat{stamp}", quarter, min(args.latency_events, int(30 * quarter)))
    latency_demo = _latency(cluster, f"benchdemo{stamp}", DEMO_RATE, int(30 * DEMO_RATE))
    latency_desk = _latency(cluster, f"benchdesk{stamp}", DEMO_RATE, int(30 * DEMO_RATE), case_desk=True)
    scale = [router_run(cluster, f"benchscale{k}{stamp}", args.events, workers=k) for k in range(1, args.scale + 1)]

    security = f"{cluster.security.protocol}/{cluster.security.mechanism}" if cluster.security.sasl else "PLAINTEXT"
    print(f"\npipeline benchmark on {cluster.bootstrap_servers}, {security}: one broker; {os.cpu_count()} cores shared "
          f"by the broker, the registry, the workers and the load generator; {args.events:,} reports per backlog")
    print(f"  {'run':<44}{'events/s':>10}{'× passthrough':>15}{'CPU ms/report':>15}   aim")
    print(f"  {'passthrough (consume→decode→encode→produce)':<44}{baseline:>10,.0f}{1:>15.2f}{'':>15}")
    _row("router (one process)", router.events_per_s, baseline, router.worker_cpu_ms,
         f"≥ {ROUTER_AIM}×: {_met(router.events_per_s >= ROUTER_AIM * baseline)}")
    _row("router + case desk (a process each)", pipeline.events_per_s, baseline, pipeline.worker_cpu_ms,
         f"≥ {PIPELINE_AIM}×: {_met(pipeline.events_per_s >= PIPELINE_AIM * baseline)}")
    p50, p99, sent = latency
    print(f"  routing latency at {quarter:,.0f} events/s (a quarter of the router's capacity, {sent:,} events): "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms   [aim p99 < {LATENCY_AIM_S * 1000:.0f} ms: "
          f"{_met(p99 < LATENCY_AIM_S)}]")
    p50, p99, sent = latency_demo
    print(f"  routing latency at {DEMO_RATE:,.0f} events/s (the demo's rate, {sent:,} events): "
          f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    p50, p99, sent = latency_desk
    print(f"  report → case opened by the case desk (router and case desk in one worker, as in the demo) at "
          f"{DEMO_RATE:,.0f} events/s ({sent:,} events): p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"  scale-out on {os.cpu_count()} cores (router processes in one group, same backlog):")
    for k, run in enumerate(scale, start=1):
        print(f"    {k} router process{'es' if k > 1 else '  '} {run.events_per_s:>10,.0f} events/s   "
              f"= {run.events_per_s / scale[0].events_per_s:.2f}× one   CPU {run.worker_cpu_ms:.2f} ms/report")


def _row(name: str, events_per_s: float, baseline: float, cpu_ms: float, aim: str) -> None:
    print(f"  {name:<44}{events_per_s:>10,.0f}{events_per_s / baseline:>15.2f}{cpu_ms:>15.2f}   {aim}")


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def dropping_topics(run):
    """A run on `prefix`'s topics deletes them when it ends, so that later runs meet a broker of the same size."""
    @functools.wraps(run)
    def wrapped(cluster, prefix: str, *args, **kwargs):
        with topics_deleted_after(cluster, prefix):
            return run(cluster, prefix, *args, **kwargs)
    return wrapped


def backlog(cluster, prefix: str, count: int):
    catalogue, codec = prepare(cluster, prefix)
    producer = make_producer(cluster)
    publish(producer, codec, generate(4242, count, REPORTS_ONLY), intake_topics(catalogue))
    return catalogue, codec


@dropping_topics
def _baseline(cluster, prefix: str, count: int) -> float:
    """consume → decode → encode → produce with plain confluent-kafka, as fast as it goes."""
    catalogue, codec = backlog(cluster, prefix, count)
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


@dataclass(frozen=True)
class RouterRun:
    events_per_s: float
    worker_cpu_ms: float  # per report, every worker process of the run together
    broker_cpu_ms: float | None  # per report, when the broker's pid was given


@dropping_topics
def router_run(cluster, prefix: str, count: int, broker_pid: int | None = None, workers: int = 1) -> RouterRun:
    """Router processes (one group) over a backlog: throughput and CPU per report (the workers', and the broker's
    JVM when its pid is given) from the first record read to the last report routed."""
    catalogue, _ = backlog(cluster, prefix, count)
    located = catalogue.topic("internal.located")
    complaints = catalogue.intake("PetitionComplaint")
    with tempfile.TemporaryDirectory() as state, ExitStack() as running:
        processes = []
        for k in range(workers):
            log = Path(state) / f"router-{k}.log"
            process = WorkerProcess(cluster, prefix, Path(state) / f"w{k}", processors="router", log=log).start()
            running.callback(process.stop)
            processes.append(process)
        first = processes[0]
        first.wait_for(lambda: sum(p.consumed(complaints) for p in processes) > 0, 300, "router start")
        started, cpu = time.perf_counter(), _cpu(processes)
        broker_cpu = cpu_seconds(broker_pid) if broker_pid else 0.0
        first.wait_for(lambda: sum(p.consumed(located) for p in processes) >= count, 900, "the routers to finish")
        elapsed, cpu = time.perf_counter() - started, _cpu(processes) - cpu
        broker_ms = 1000 * (cpu_seconds(broker_pid) - broker_cpu) / count if broker_pid else None
    return RouterRun(count / elapsed, 1000 * cpu / count, broker_ms)


@dropping_topics
def pipeline_run(cluster, prefix: str, count: int) -> RouterRun:
    """A router process and a case-desk process over a backlog: from the first report read until the case desk
    has taken in a case command for every report (each opens a case)."""
    catalogue, _ = backlog(cluster, prefix, count)
    commands = catalogue.topic("internal.case-commands")
    with tempfile.TemporaryDirectory() as state, ExitStack() as running:
        desk = WorkerProcess(cluster, prefix, Path(state) / "desk", processors="cases", log=Path(state) / "desk.log")
        running.callback(desk.stop)
        desk.start()
        desk.wait_for(lambda: desk.metrics() != {}, 300, "the case desk to serve metrics")
        time.sleep(5)  # faust has joined its group and recovered its (empty) tables
        router = WorkerProcess(cluster, prefix, Path(state) / "router", processors="router",
                               log=Path(state) / "router.log").start()
        running.callback(router.stop)
        processes = [router, desk]
        router.wait_for(lambda: router.consumed(catalogue.intake("PetitionComplaint")) > 0, 300, "router start")
        started, cpu = time.perf_counter(), _cpu(processes)
        desk.wait_for(lambda: desk.consumed(commands) >= count, 900, "the case desk to take in every case")
        elapsed, cpu = time.perf_counter() - started, _cpu(processes) - cpu
    return RouterRun(count / elapsed, 1000 * cpu / count, None)


def _cpu(processes: list[WorkerProcess]) -> float:
    return sum(cpu_seconds(p.process.pid) for p in processes if p.process is not None)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15 of stat


@dropping_topics
def _latency(cluster, prefix: str, rate: float, count: int, case_desk: bool = False) -> tuple[float, float, int]:
    """Produce at `rate`; latency = first dispatched copy read − report produced (same clock, same host). With
    `case_desk`, the worker runs the router and the case desk as the demo's does, and latency ends at the case's
    `created` history entry (the case desk has opened it)."""
    catalogue, codec = prepare(cluster, prefix)
    if case_desk:
        read_topics, warmed = [catalogue.topic("case.history")], catalogue.topic("internal.case-commands")
    else:
        read_topics = ([s.name for s in catalogue.by_template("dept.{department}.cases")]
                       + [s.name for s in catalogue.by_template("grid.{grid}.cases")] + [catalogue.topic("triage.cases")])
        warmed = catalogue.topic("internal.located")
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as state:
        worker = WorkerProcess(cluster, prefix, Path(state), processors="router,cases" if case_desk else "router",
                               log=Path(state) / "worker.log").start()
        reader = Consumer(cluster.kafka_config({"group.id": f"{prefix}-reader", "auto.offset.reset": "latest",
                                                "enable.auto.commit": False, "fetch.wait.max.ms": 10}))
        try:
            reader.subscribe(read_topics)
            warmup = list(generate(99, 200, REPORTS_ONLY))
            publish(make_producer(cluster), codec, warmup, intake_topics(catalogue))
            worker.wait_for(lambda: worker.consumed(warmed) >= 190, 300, "worker warm-up")
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
                        source = (value.get("details") or {}).get("source_event_id") if case_desk \
                            else value["source_event_id"]
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
