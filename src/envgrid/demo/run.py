"""The main job (`make demo`): the whole pipeline on a local broker with realistic generated traffic.

Starts (or reuses) the local Kafka broker and schema registry — or uses the external cluster named by
ENVGRID_BOOTSTRAP_SERVERS / ENVGRID_SCHEMA_REGISTRY_URL —, applies the topic catalogue, registers the
schemas, starts a pipeline worker with the department simulator (every department and grid logged in as
itself) on an accelerated clock, the Open311 intake API and the case store sink in PostgreSQL
(envgrid.demo.intake_api), publishes generated Wenzhou traffic (part of the citizens' complaints through the
API), shows the flow live, and prints a summary. Ctrl-C stops everything. On an external cluster the departments' credentials files come from
`--department-credentials DIR`, and their ACLs must be set there.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from envgrid import paths
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.catalogue_apply import apply as apply_catalogue
from envgrid.connectors.pseudonym_key import KEY_ENV, KEY_FILE_ENV, local_key_file
from envgrid.connectors.serde import EventCodec, register_all, registry_client
from envgrid.connectors.settings import (
    ClusterAddresses,
    ClusterSettingsError,
    case_store_settings,
    cluster_settings,
    dsn_for_logs,
)
from envgrid.demo.intake_api import (
    PARTNER,
    ApiSubmitter,
    IntakeServices,
    ServiceLogins,
    in_store,
    start_intake_services,
)
from envgrid.demo.prometheus import LocalPrometheus, PrometheusError
from envgrid.demo.view import FlowView, scrape, total
from envgrid.simulator.generator import generate
from envgrid.simulator.model import GeneratedEvent, GeneratorConfig
from envgrid.simulator.publish import PublishResult, intake_topics, make_producer, publish
from envgrid.streams.clock import AcceleratedClock, clock_arguments
from envgrid.streams.watermark import InputProgress


def log_dir() -> Path:
    """The demo's logs: var/log of the run directory (envgrid.paths.var_dir)."""
    return paths.var_dir() / "log"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C stops the demo whoever started it: a shell without job control starts background commands
        # with SIGINT ignored, and Python then leaves it ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    args.app_id = args.app_id or args.prefix
    console = Console()
    prometheus = None
    if args.prometheus:  # what it needs is checked before anything starts
        try:
            prometheus = LocalPrometheus(paths.var_dir() / "prometheus", port=args.prometheus_port,
                                         log=log_dir() / "prometheus.log")
            prometheus.check()
        except PrometheusError as error:
            console.print(f"[red]envgrid demo: {error}[/]", soft_wrap=True)
            return 2
    local = None
    external = cluster_settings()
    if external is None:
        from envgrid.localcluster.cluster import LocalCluster

        console.print("[bold]envgrid demo[/]: starting the local Kafka broker and schema registry …")
        local = LocalCluster()
        addresses = local.acquire()
    else:
        addresses = external
    worker = None
    services: IntakeServices | None = None
    evaluation: subprocess.Popen[bytes] | None = None
    try:
        who = f" as {addresses.security.username} ({addresses.security.protocol}/{addresses.security.mechanism})" \
            if addresses.security.sasl else " (no authentication)"
        console.print(f"  broker   {addresses.bootstrap_servers}{who}\n  registry {addresses.schema_registry_url}")
        catalogue = Catalogue.load(prefix=args.prefix)
        _prepare(addresses, catalogue, console, local)
        start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC).replace(microsecond=0)
        speedup = args.speedup
        # The clock shows `start` once the worker has had time to join its group, and the traffic begins
        # there: the same seed and start give the same traffic, however long the start-up took.
        clock = AcceleratedClock(start, speedup, time.time() + STARTUP_ALLOWANCE_S)
        worker = _start_worker(addresses, args, clock)
        metrics_port = _metrics_port(worker)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        console.print(f"  worker   pid {worker.pid}, log {log_dir() / 'demo-worker.log'}\n  metrics  {metrics_url}\n"
                      f"  clock    accelerated ×{speedup:,.0f} (1 real second = {speedup / 3600:.1f} simulated hours)")
        if prometheus is not None:
            evaluation, evaluation_port = _start_evaluation_watch(addresses, args)
            prometheus.start([f"127.0.0.1:{metrics_port}"], evaluation_targets=[f"127.0.0.1:{evaluation_port}"])
            console.print(f"  prometheus {prometheus.url}, storage {prometheus.run_dir / 'data'}, log {prometheus.log}\n"
                          f"  dashboard  {prometheus.console_url}\n"
                          f"  evaluation http://127.0.0.1:{evaluation_port}/metrics (python -m envgrid.evaluation watch, "
                          f"as the auditor), log {log_dir() / 'demo-evaluation.log'}")
        if args.api_share > 0:
            services = _start_services(addresses, local, args, clock, console)
        view = FlowView(catalogue, metrics_url, args.count)
        _wait_until_ready(view, catalogue, worker, console)
        submitter = ApiSubmitter(services) if services is not None else None
        try:
            _run(addresses, catalogue, args, clock, view, worker, console, submitter)
            console.print(view.summary(scrape(metrics_url)))
            if submitter is not None:
                _api_summary(submitter, console)
        finally:
            if submitter is not None:
                submitter.close()
        return 0
    except KeyboardInterrupt:
        console.print("\n[yellow]interrupted: stopping …[/]")
        console.file.flush()  # the line says what the demo does next, also when its output goes to a file
        return 130
    finally:
        if prometheus is not None:
            prometheus.stop()
        if evaluation is not None:
            from envgrid.localcluster.proc import stop

            stop(evaluation.pid, "envgrid.evaluation", timeout=20.0, popen=evaluation)
        if services is not None:
            services.stop()
        if worker is not None:
            _stop_worker(worker)
        if local is not None:
            local.release()
        console.print(f"stopped. logs in {log_dir()}")


def _prepare(addresses: ClusterAddresses, catalogue: Catalogue, console: Console, local: Any) -> None:
    from confluent_kafka.admin import AdminClient

    statuses = apply_catalogue(AdminClient(addresses.kafka_config()), catalogue)
    created = sum(1 for s in statuses if s.status == "created")
    console.print(f"  topics   {len(statuses)} in the catalogue, {created} created")
    admin = local.addresses("admin") if local is not None and addresses.security.sasl else None
    if admin is not None:  # on the local secured cluster the demo holds the super user's credentials
        from envgrid.connectors.acls import apply_acls
        from envgrid.connectors.principals import load_principals

        report = apply_acls(AdminClient(admin.kafka_config()), catalogue, load_principals())
        console.print(f"  ACLs     {len(report.planned)} for {len(load_principals())} principals, "
                      f"{len(report.created)} created (departments and grids read only their own topics)")
    ids = register_all(registry_client(addresses))
    console.print(f"  schemas  {len(ids)} registered (BACKWARD_TRANSITIVE)")


STARTUP_ALLOWANCE_S = 30.0  # real seconds from starting the worker to the clock showing the demo's start


def horizon_of(start: datetime, args: argparse.Namespace) -> datetime:
    """Where the demo's SLA clock stops: the last report's time plus the settling time, in simulated time.
    Deadlines up to it are judged, whatever the machine's load: a slower run takes longer, not fewer."""
    return start + timedelta(seconds=(args.count / args.rate + args.settle) * args.speedup)


def _start_services(addresses: ClusterAddresses, local: Any, args: argparse.Namespace, clock: AcceleratedClock,
                    console: Console) -> IntakeServices | None:
    """The Open311 gateway and the case store sink, or None (said why) when there is no PostgreSQL to keep
    cases in: on an external cluster, ENVGRID_CASE_STORE_DSN names it."""
    from envgrid.demo.intake_api import demo_database

    try:
        configured = case_store_settings()  # the environment's DSN; None: the local cluster's PostgreSQL
    except ClusterSettingsError as error:
        console.print(f"  api      off, and no case store: {error}", soft_wrap=True)
        return None
    with console.status("starting PostgreSQL, the case store sink and the Open311 API …"):
        dsn = configured or demo_database(local.case_store_up())
        secured = local is not None and addresses.security.sasl
        logins = ServiceLogins(gateway=local.addresses("intake-gateway") if secured else addresses,
                               sink=local.addresses("case-store") if secured else addresses)
        services = start_intake_services(logins, dsn, args.prefix, clock, args.api_port, paths.var_dir(), log_dir())
    console.print(f"  api      {services.url}/open311/v2 (Open311 GeoReport v2, as "
                  f"{logins.gateway.security.username or 'the environment'}), log {services.logs['open311 gateway']}\n"
                  f"  openapi  {services.docs_url} (and {services.url}/openapi.json)\n"
                  f"  api key  {services.key} (partner {PARTNER}, this run only; its sha256 in "
                  f"{paths.var_dir() / 'open311-keys.yaml'})\n"
                  f"  store    {dsn_for_logs(dsn)} (sink as {logins.sink.security.username or 'the environment'}), "
                  f"log {services.logs['case store sink']}\n"
                  f"  through the API: {args.api_share:.0%} of the valid citizens' complaints")
    return services


def _api_summary(submitter: ApiSubmitter, console: Console, timeout: float = 120.0) -> None:
    """What went through the API, and the statuses it answers for it from the case store once the sink caught up."""
    done = submitter.done
    deadline = time.monotonic() + timeout
    statuses = submitter.statuses(done.accepted)
    while len(in_store(statuses)) < len(done.accepted) and time.monotonic() < deadline:
        time.sleep(2)
        statuses = submitter.statuses(done.accepted)
    known = in_store(statuses)
    closed = sum(1 for s in known if s["status"] == "closed")
    console.print(f"\n[bold underline]Open311 API[/]\n  {len(done.accepted)} service requests accepted (201), "
                  f"{sum(done.refused.values())} refused, {done.retried} retried after 503\n"
                  f"  statuses from the case store: {len(known)} of {len(done.accepted)} known, {closed} closed, "
                  f"{len(known) - closed} open")
    for reason, count in done.refused.most_common(5):
        console.print(f"  refused ×{count}: {reason}", soft_wrap=True)
    if known:
        example = known[-1]
        console.print(f"  e.g. GET {submitter.services.url}/open311/v2/requests/{example['service_request_id']}.json → "
                      f"{example['status']}: {example['status_notes']} (requested {example['requested_datetime']}, "
                      f"expected {example['expected_datetime']})", soft_wrap=True)


def _start_evaluation_watch(addresses: ClusterAddresses, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m envgrid.evaluation watch` on a free port, as the auditor: the evaluation indicators (评价) of the
    demo's cases as gauges for Prometheus, folded from case.history and case.sla as they are written."""
    from envgrid.localcluster.proc import free_port

    port = free_port()
    command = [sys.executable, "-m", "envgrid.evaluation", "watch", "--metrics-port", str(port), "--every", "5",
               "--topic-prefix", args.prefix]
    if args.department_credentials:  # an external cluster: the auditor's credentials file is with the departments'
        command += ["--config", str(Path(args.department_credentials) / "auditor.properties")]
    log = open(log_dir() / "demo-evaluation.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=addresses.child_env(os.environ),
                               start_new_session=True)
    return process, port


def _start_worker(addresses: ClusterAddresses, args: argparse.Namespace,
                  clock: AcceleratedClock) -> subprocess.Popen[bytes]:
    log_dir().mkdir(parents=True, exist_ok=True)
    env = addresses.child_env(os.environ)
    if not (env.get(KEY_FILE_ENV) or env.get(KEY_ENV)):  # the demo's own pseudonym key: var/pseudonym.key, 0600
        env[KEY_FILE_ENV] = str(local_key_file(paths.var_dir()))
    command = [sys.executable, "-m", "envgrid.demo.worker", "--app-id", args.app_id, "--topic-prefix", args.prefix,
               "--processors", "router,cases,ticker,departments", *clock_arguments(clock),
               "--tick-interval", "1", "--clock-until", horizon_of(clock.start, args).isoformat(),
               "--metrics-port", str(args.metrics_port), "--port-file", str(_port_file())]
    _port_file().unlink(missing_ok=True)
    if args.department_credentials:
        command += ["--department-credentials", args.department_credentials]
    log = open(log_dir() / "demo-worker.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _port_file() -> Path:
    return paths.var_dir() / "demo-worker.port"


def _metrics_port(worker: subprocess.Popen[bytes], timeout: float = 120) -> int:
    """The port the worker serves its metrics on, once it does (it writes it to its --port-file)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(_port_file().read_text())
        except (OSError, ValueError):
            pass
        if worker.poll() is not None:
            raise RuntimeError(f"the worker stopped (exit {worker.returncode}); see {log_dir() / 'demo-worker.log'}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not serve its metrics within {timeout:.0f}s; see {log_dir() / 'demo-worker.log'}")
        time.sleep(0.2)


def _run(addresses: ClusterAddresses, catalogue: Catalogue, args: argparse.Namespace, clock: AcceleratedClock,
         view: FlowView, worker: subprocess.Popen[bytes], console: Console, submitter: ApiSubmitter | None) -> None:
    # on average `rate` reports per real second; busier by day than at night, as the generator makes them
    config = GeneratorConfig(start=clock.start, mean_interarrival_s=args.speedup / args.rate,
                             kind_shares={"PetitionComplaint": 0.78, "PatrolReport": 0.22, "DepartmentNotice": 0.0})
    codec = EventCodec(registry_client(addresses), catalogue.event_type_of)
    producer = make_producer(addresses)
    with Live(view.render(None, 0), console=console, refresh_per_second=2) as live:
        def progress(count: int, _result: PublishResult) -> None:
            through_api = len(submitter.done.accepted) if submitter is not None else 0
            live.update(view.render(scrape(view.metrics_url), count + through_api))
            if worker.poll() is not None:
                raise RuntimeError(f"the worker stopped (exit {worker.returncode}); see {log_dir() / 'demo-worker.log'}")
            if submitter is not None:
                submitter.services.check()

        events: Iterable[GeneratedEvent] = _in_step_with(clock, generate(args.seed, args.count, config))
        if submitter is not None:
            events = submitter.split(events, args.api_share)
        publish(producer, codec, events, intake_topics(catalogue), progress=progress,
                progress_every=max(1, int(args.rate)))
        # Settle until the SLA clock has judged every deadline up to the horizon and the case desk has
        # taken in its last ticks: under load this takes longer, and the verdicts are the same.
        horizon = horizon_of(clock.start, args).timestamp()
        done = InputProgress(addresses, args.app_id,
                             [catalogue.topic("internal.sla-ticks"), catalogue.topic("internal.case-commands")],
                             codec.decode)
        give_up = time.monotonic() + args.settle * 20 + 600
        try:
            while True:
                samples = scrape(view.metrics_url)
                left = max(0.0, (horizon - total(samples, "envgrid_sla_clock_seconds")) / args.speedup)
                live.update(view.render(samples, args.count, settling=left))
                if left == 0 and done.caught_up():
                    break
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker stopped (exit {worker.returncode}); see {log_dir() / 'demo-worker.log'}")
                if time.monotonic() > give_up:
                    raise TimeoutError("the SLA clock did not reach the demo's horizon in time; see the worker log")
                time.sleep(0.5)
        finally:
            done.close()


def _in_step_with(clock: AcceleratedClock, events: Iterable[GeneratedEvent]) -> Iterator[GeneratedEvent]:
    """Each report when the worker's accelerated clock reaches its received time. Published at a constant
    real rate instead, report times would drift hours from the worker's clock over a simulated day (the
    generator makes fewer reports at night), and departments answering on that clock would seem late."""
    for event in events:
        received_at = (event.value or {}).get("received_at")
        if received_at is not None:
            wait = (received_at - clock.now()).total_seconds() / clock.speedup
            if wait > 0:
                time.sleep(wait)
        yield event


def _wait_until_ready(view: FlowView, catalogue: Catalogue, worker: subprocess.Popen[bytes], console: Console,
                      timeout: float = 180) -> None:
    """Until the case desk consumes clock ticks: then every agent has its partitions."""
    ticks = catalogue.topic("internal.sla-ticks")
    deadline = time.monotonic() + timeout
    with console.status("waiting for the worker to join its consumer group …"):
        while total(scrape(view.metrics_url), "envgrid_events_consumed_total", topic=ticks) == 0:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker stopped (exit {worker.returncode}); see {log_dir() / 'demo-worker.log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker did not start consuming within {timeout:.0f}s; see {log_dir() / 'demo-worker.log'}")
            time.sleep(0.5)


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM its process group, then SIGKILL after 20 s (the local cluster's own `stop`): the demo's state
    is in Kafka, and a worker that takes longer to say goodbye to 31 department groups has nothing left to save."""
    from envgrid.localcluster.proc import stop

    stop(worker.pid, "envgrid.demo.worker", timeout=20.0, popen=worker)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="envgrid-demo", description=__doc__,
                                     epilog='In a checkout, `make demo ARGS="..."` and `python -m envgrid.demo` take the '
                                            "same options.")
    parser.add_argument("--count", type=int, default=4000, help="generated reports to publish (default 4000)")
    parser.add_argument("--rate", type=float, default=50.0, help="reports per real second on average, more by day than at night (default 50)")
    parser.add_argument("--speedup", type=float, default=1800.0,
                        help="accelerated SLA clock: simulated seconds per real second (default 1800: 1 s = 30 min)")
    parser.add_argument("--seed", type=int, default=2016, help="generator seed (same seed, same traffic)")
    parser.add_argument("--start", default=None,
                        help="ISO instant the simulated clock starts at (default: now); with the same seed and "
                             "start, two runs get the same traffic and give the same verdicts")
    parser.add_argument("--settle", type=float, default=45.0,
                        help="real seconds of simulated time after the last report up to which deadlines are judged")
    parser.add_argument("--prefix", default=f"demo{int(time.time())}", help="topic prefix (default: a fresh one)")
    parser.add_argument("--app-id", default=None, help="worker group id (default: the prefix)")
    parser.add_argument("--metrics-port", type=int, default=9464, help="worker metrics port (default 9464; 0 = any free)")
    parser.add_argument("--prometheus", action="store_true",
                        help="also run Prometheus (Debian's package) on 127.0.0.1, scraping the worker and the "
                             "evaluation watch (python -m envgrid.evaluation watch, started with it), with the alert "
                             "rules and the throughput dashboard of deploy/observability; stopped with the demo")
    parser.add_argument("--prometheus-port", type=int, default=9090,
                        help="port of --prometheus (default 9090; 0 = any free)")
    parser.add_argument("--api-share", type=float, default=0.2,
                        help="share of the valid citizens' complaints submitted through the Open311 API instead of "
                             "straight onto the intake topic (default 0.2; 0 = no API and no case store)")
    parser.add_argument("--api-port", type=int, default=8311, help="the Open311 API's port (default 8311; 0 = any free)")
    parser.add_argument("--department-credentials", default=None, metavar="DIR",
                        help="where the departments' and grids' credentials files are, <principal>.properties: the "
                             "department simulator logs in as each (default: the local cluster's <var>/credentials)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
