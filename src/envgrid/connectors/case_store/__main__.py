"""`python -m envgrid.connectors.case_store run|migrate|roles|status`: the case store in PostgreSQL.

    run       the sink: case.history, case.feedback and case.sla into the store, until SIGTERM or Ctrl-C
    migrate   apply the numbered SQL migrations not applied yet (`run` does it too when it starts)
    roles     one role per department (envgrid_dept_<code>) that reads only its own cases (needs CREATEROLE)
    status    schema version, rows per table, and the sink group's lag

The store is the one ENVGRID_CASE_STORE_DSN names, else the local cluster's PostgreSQL if it runs (`python -m
envgrid.localcluster up --case-store`); the cluster as for every command (see `envgrid.connectors.settings`).
Exit code 2 and one line on stderr when either is missing.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import Any

from envgrid.connectors.settings import ClusterSettingsError, dsn_for_logs, running_case_store, running_cluster

DEFAULT_GROUP = "case-store"  # the case-store principal's groups start with it (config/principals.yaml)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.loglevel.upper()), format="%(asctime)s %(levelname)s %(message)s")
    try:
        dsn = running_case_store()
        if args.command == "run":
            return _run(args, dsn)
    except ClusterSettingsError as error:
        print(f"envgrid case store: {error}", file=sys.stderr)
        return 2
    from .migrate import current_version, migrate
    from .store import CaseStore, connect

    with connect(dsn, autocommit=True) as conn:
        if args.command == "migrate":
            applied = migrate(conn)
            print(f"applied {len(applied)} migration(s): {', '.join(m.path.name for m in applied) or 'none'}; "
                  f"schema version {current_version(conn)}")
        elif args.command == "roles":
            from envgrid.domain.departments import department_codes

            from .roles import ensure_department_roles

            migrate(conn)
            roles = ensure_department_roles(conn, department_codes())
            print(f"{len(roles)} department roles ({roles[0]}, ...), each reading only its own cases; grant one to a "
                  f"login role: GRANT {roles[0]} TO <the department's web system>")
        else:
            print(f"schema version {current_version(conn)}")
            for table, count in CaseStore(conn, apply_migrations=False).counts().items():
                print(f"  {table:<16} {count:>9} rows")
            _print_lag(args)
    return 0


def _run(args: argparse.Namespace, dsn: str) -> int:
    from confluent_kafka import Consumer

    from envgrid.connectors.catalogue import Catalogue
    from envgrid.connectors.serde import EventCodec, registry_client

    from .sink import Progress, Sink, SinkTopics
    from .store import CaseStore, connect

    cluster = running_cluster()
    catalogue = Catalogue.load(prefix=args.topic_prefix)
    topics = SinkTopics.of(catalogue)
    settings = {"group.id": args.group or f"{DEFAULT_GROUP}-{catalogue.prefix}", "enable.auto.commit": False,
                "auto.offset.reset": "earliest", "partition.assignment.strategy": "cooperative-sticky"}
    if args.instance_id:  # static membership: a restarted sink takes its partitions back at once
        settings["group.instance.id"] = args.instance_id
    consumer = Consumer(cluster.kafka_config(settings))
    codec = EventCodec(registry_client(cluster), catalogue.event_type_of, auto_register=False)
    sink = Sink(consumer, codec.decode, lambda: CaseStore(connect(dsn, autocommit=True)), topics, args.batch)
    stop: list[bool] = []

    def _stop(signum: int, _frame: Any) -> None:
        stop.append(True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log = logging.getLogger("envgrid.case_store")
    log.warning("case store: reading %s into %s", ", ".join(topics.all), dsn_for_logs(dsn))
    started, reported = time.monotonic(), [0.0]

    def report(p: Progress) -> None:
        if time.monotonic() - reported[0] > args.report_every:
            reported[0] = time.monotonic()
            log.warning("case store: %d records in %d batches, %d rows changed, %d skipped, %.0f s",
                        p.records, p.batches, p.rows_changed, p.skipped, reported[0] - started)

    try:
        sink.run(lambda: bool(stop), report)
    finally:
        consumer.close()
    return 0


def _print_lag(args: argparse.Namespace) -> None:
    from confluent_kafka import Consumer, TopicPartition

    from envgrid.connectors.catalogue import Catalogue
    from envgrid.connectors.log_ends import LogEnds

    try:
        cluster = running_cluster()
    except ClusterSettingsError as error:
        print(f"  lag: unknown ({error})")
        return
    catalogue = Catalogue.load(prefix=args.topic_prefix)
    group = args.group or f"{DEFAULT_GROUP}-{catalogue.prefix}"
    consumer = Consumer(cluster.kafka_config({"group.id": group, "enable.auto.commit": False}))
    try:
        topics = consumer.list_topics(timeout=10).topics
        partitions = [TopicPartition(topic, p) for name in ("case.history", "case.feedback", "case.sla")
                      for topic in [catalogue.topic(name)] for p in (topics[topic].partitions if topic in topics else ())]
        committed = consumer.committed(partitions, timeout=10)
        ends = LogEnds(cluster.kafka_config()).of(committed, timeout=10)
        behind = 0
        for tp in committed:
            low, high = ends[(tp.topic, tp.partition)]
            behind += high - (tp.offset if tp.offset >= 0 else low)
    finally:
        consumer.close()
    print(f"  group {group}: {behind} records behind on {len(partitions)} partitions")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.connectors.case_store", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["run", "migrate", "roles", "status"])
    parser.add_argument("--topic-prefix", default=None, help="topic prefix (default: $ENVGRID_TOPIC_PREFIX or envgrid)")
    parser.add_argument("--group", default=None, help="consumer group (default: case-store-<topic prefix>)")
    parser.add_argument("--batch", type=int, default=5000, help="records per transaction at most")
    parser.add_argument("--instance-id", default=None,
                        help="static group membership (group.instance.id, e.g. the pod's name): a sink restarted with "
                             "the same id gets its partitions back without waiting for the session timeout")
    parser.add_argument("--report-every", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--loglevel", default="warning")
    return parser


if __name__ == "__main__":
    sys.exit(main())
