"""`python -m envgrid.streams.worker`: one pipeline worker process (faust), with its metrics endpoint.

Cluster addresses come from ENVGRID_BOOTSTRAP_SERVERS / ENVGRID_SCHEMA_REGISTRY_URL (or the local
cluster); topic names from the catalogue (ENVGRID_TOPIC_PREFIX); the complainant token's key from
ENVGRID_PSEUDONYM_KEY_FILE and ENVGRID_PSEUDONYM_KEY_VERSION (without one the worker does not start; on the
local cluster it makes var/pseudonym.key). Several workers with the same app id share the work by
partition; they must share the key too.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from envgrid import paths
from envgrid.connectors.pseudonym_key import PseudonymKeyError, required_pseudonym_key
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.connectors.settings import ClusterSettingsError, cluster_settings, running_cluster
from envgrid.domain.privacy import Pseudonymiser
from envgrid.streams import metrics
from envgrid.streams.app import Runtime, WorkerConfig, build_runtime, declare_changelog_topics
from envgrid.streams.clock import add_clock_arguments
from envgrid.streams.router_loop import RouterLoop, run_in_thread

LOG_LEVELS = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
              "debug": logging.DEBUG}

PROCESSORS = ("router", "cases", "ticker")
Installer = Callable[[Runtime, argparse.Namespace], None]


def main(argv: list[str] | None = None, extra_processors: Mapping[str, Installer] | None = None,
         parser: argparse.ArgumentParser | None = None) -> int:
    """Run a worker. `extra_processors` (name -> installer) and `parser` let another command (the demo's
    worker, with its department simulator) run the same worker with more in it: this package never
    imports the simulator."""
    extra = dict(extra_processors or {})
    args = (parser or build_parser(tuple(extra))).parse_args(argv)
    try:
        addresses = running_cluster()
    except ClusterSettingsError as error:
        print(f"envgrid worker: {error}", file=sys.stderr)
        return 2
    try:  # the local development cluster makes its own key under the run state directory; nothing else does
        key = required_pseudonym_key(local_dir=paths.var_dir() if cluster_settings() is None else None)
    except PseudonymKeyError as error:
        print(f"envgrid worker: {error}", file=sys.stderr)
        return 2
    config = WorkerConfig(
        cluster=addresses,
        app_id=args.app_id,
        topic_prefix=args.topic_prefix,
        datadir=Path(args.datadir),
        processors=frozenset(args.processors.split(",")),
        clock=args.clock,
        speedup=args.speedup,
        clock_start=args.clock_start,
        clock_origin=args.clock_origin,
        tick_interval_s=args.tick_interval,
        clock_until=args.clock_until,
        metrics_port=args.metrics_port,
        store=args.store,
    )
    known = (*PROCESSORS, *extra)
    unknown = config.processors - set(known)
    if unknown:
        print(f"unknown processors {sorted(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    runtime = build_runtime(config, Pseudonymiser(key))
    router = router_loop(runtime) if "router" in config.processors else None
    faust_processors = config.processors - {"router"}
    if faust_processors:
        install(runtime)
        for name, installer in extra.items():
            if name in config.processors:
                installer(runtime, args)
        declare_changelog_topics(runtime)
    if router is not None:
        router.declare_changelog(runtime.catalogue)
    metrics.export_known_labels()
    port = metrics.serve_metrics(config.metrics_port, args.metrics_host)
    logging.getLogger("envgrid").warning("metrics at http://%s:%s/metrics", args.metrics_host, port)
    if args.port_file:
        Path(args.port_file).write_text(str(port))
    if not faust_processors:
        assert router is not None
        return _route_in_foreground(router, args.loglevel)
    if router is not None:
        _route_beside_faust(runtime, router)
    worker_argv = ["worker", "--loglevel", args.loglevel, "--without-web"]
    sys.argv = [sys.argv[0], *worker_argv]
    runtime.app.main()
    return 0


def router_loop(runtime: Runtime) -> RouterLoop:
    """The router, with a schema-registry client of its own (it runs in a thread of its own)."""
    config = runtime.config
    codec = EventCodec(registry_client(config.cluster), runtime.catalogue.event_type_of, auto_register=True)
    return RouterLoop(config.cluster, runtime.catalogue, codec, runtime.pseudonymiser, config.app_id)


def _route_in_foreground(router: RouterLoop, loglevel: str) -> int:
    """A router-only worker: no faust at all; SIGTERM or Ctrl-C finishes the batch in hand and stops."""
    logging.basicConfig(level=LOG_LEVELS[loglevel], format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    router.run(stop)
    return 0


def _route_beside_faust(runtime: Runtime, router: RouterLoop) -> None:
    """The router in a thread of a worker that also runs the case desk (or the ticker) in faust: it starts
    with faust's worker and stops before it; if the router fails, the worker stops."""
    stop = threading.Event()

    def stop_worker(error: BaseException) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    @runtime.app.task
    async def start_router() -> None:
        run_in_thread(router, stop, stop_worker)

    @runtime.app.on_before_shutdown.connect  # type: ignore[arg-type]  # faust's stubs want a `signal` keyword
    async def stop_router(app: object, **kwargs: object) -> None:
        stop.set()


def install(runtime: Runtime) -> None:
    """The faust processors: the case desk and the SLA ticker (the router runs on librdkafka)."""
    from envgrid.streams.agents import install_cases
    from envgrid.streams.ticker import install_ticker
    from envgrid.streams.worker_lag import install_lag_gauge

    @runtime.app.task
    async def quiet_client_logs() -> None:
        # faust's logging setup leaves aiokafka's per-record debug logging enabled: ~10% of a router's CPU
        for name in ("aiokafka", "kafka"):
            logging.getLogger(name).setLevel(logging.WARNING)

    install_lag_gauge(runtime)
    processors = runtime.config.processors
    if "cases" in processors:
        install_cases(runtime)
    if "ticker" in processors:
        install_ticker(runtime)


def build_parser(extra_processors: tuple[str, ...] = (), prog: str = "python -m envgrid.streams.worker",
            description: str | None = __doc__) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--app-id", default="envgrid", help="faust app id = consumer group (default envgrid)")
    parser.add_argument("--topic-prefix", default=None, help="topic prefix (default $ENVGRID_TOPIC_PREFIX or envgrid)")
    parser.add_argument("--datadir", default=str(paths.var_dir() / "faust"), help="table state directory")
    parser.add_argument("--processors", default="router,cases,ticker",
                        help=f"comma-separated, from {', '.join((*PROCESSORS, *extra_processors))}")
    add_clock_arguments(parser)
    parser.add_argument("--tick-interval", type=float, default=2.0, help="seconds between SLA ticks")
    parser.add_argument("--clock-until", default=None,
                        help="ISO instant the SLA clock stops at (a demo's or replay's end); the department "
                             "simulator sends nothing after it")
    parser.add_argument("--metrics-port", type=int, default=9464, help="Prometheus endpoint port (0 = any free)")
    parser.add_argument("--metrics-host", default="127.0.0.1",
                        help="address the metrics endpoint listens on (default loopback; 0.0.0.0 in a container, "
                             "to be scraped and probed from outside it)")
    parser.add_argument("--port-file", default=None, help="write the metrics port here once serving")
    parser.add_argument("--store", default="rocksdb://", choices=["rocksdb://", "memory://"],
                        help="table store: rocksdb (on disk, default) or memory (changelog only; for experiments)")
    parser.add_argument("--loglevel", default="warn", choices=["crit", "error", "warn", "info", "debug"])
    return parser


if __name__ == "__main__":
    sys.exit(main())
