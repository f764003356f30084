"""`python -m envgrid.audit`: replay what happened to cases, and check their history was not tampered with.

    python -m envgrid.audit --case WZ-0123456789ABCDEF
    python -m envgrid.audit --grid 330302 --since 2025-01-01T00:00+08:00 --until 2026-01-01T00:00+08:00
    python -m envgrid.audit --department epb --since 2026-11-01 --redecide --json

Selects one case, or every case of a grid (any level) or a department, optionally in a window of record time
(when case.history recorded the entry; found with offsets_for_times). Prints each case's timeline (revisions,
routing decision with its provenance, feedback, SLA warnings and breaches), verifies its hash chain and
revisions, and with --redecide routes each case's original report again. Connects as the environment says
(`envgrid.connectors.settings`), e.g. as principal `auditor`. Exit code 0: all intact (and every decision
reproduced); 1: a chain break or a decision not reproduced; 2: a setting or topic is missing.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime

from rich.console import Console

from envgrid.audit.reader import Window
from envgrid.audit.render import as_csv, as_json, print_table
from envgrid.audit.run import Report, Selection, Topics, audit, chain_bodies

DEFAULT_GROUP = "auditor"  # the auditor principal's groups start with it (config/principals.yaml)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from confluent_kafka import Consumer

    from envgrid.connectors.catalogue import Catalogue
    from envgrid.connectors.log_ends import LogEnds
    from envgrid.connectors.serde import EventCodec, registry_client
    from envgrid.connectors.settings import ClusterSettingsError, running_cluster

    try:
        cluster = running_cluster()
        window = Window(_ms(args.since), _ms(args.until))
    except (ClusterSettingsError, ValueError) as error:
        print(f"envgrid audit: {error}", file=sys.stderr)
        return 2
    catalogue = Catalogue.load(prefix=args.topic_prefix)
    history = args.history_topic or catalogue.topic("case.history")
    topics = Topics(history, catalogue.topic("case.feedback"), catalogue.topic("case.sla"),
                    (catalogue.topic("intake.petition-complaints"), catalogue.topic("intake.patrol-reports")))
    codec = EventCodec(registry_client(cluster), auto_register=False)
    consumer = Consumer(cluster.kafka_config({
        "group.id": f"{DEFAULT_GROUP}-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "enable.partition.eof": True}))
    routing = None
    if args.redecide:
        from envgrid.domain.routing.context import load_routing_context

        routing = load_routing_context()
    try:
        report = audit(consumer, codec.decode, topics, Selection(args.case, args.grid, args.department, window),
                       routing, args.registry_version, args.rules_version, ends=LogEnds(cluster.kafka_config()),
                       chain_body=chain_bodies(codec))
    except (LookupError, TimeoutError) as error:
        print(f"envgrid audit: {error}", file=sys.stderr)
        return 2
    finally:
        consumer.close()
    if args.json:
        print(as_json(report))
    elif args.csv:
        print(as_csv(report), end="")
    else:
        print_table(report, Console(width=args.width))
    return 1 if _failed(report) else 0


def _failed(report: Report) -> bool:
    as_recorded = report.redecided[0] if report.redecided else None
    return bool(report.breaks) or bool(as_recorded and as_recorded.differences)


def _ms(text: str | None) -> int | None:
    """ISO 8601 to epoch milliseconds; a time without an offset is UTC."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.audit", description=(__doc__ or "").split("\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--case", help="one case id")
    which.add_argument("--grid", help="every case whose grid chain holds this grid code (any level)")
    which.add_argument("--department", help="every case this department leads, assists or acted on")
    parser.add_argument("--since", help="window start, ISO 8601 record time (inclusive; no offset: UTC)")
    parser.add_argument("--until", help="window end, ISO 8601 record time (exclusive)")
    parser.add_argument("--redecide", action="store_true", help="route each case's original report again")
    parser.add_argument("--registry-version", help="re-decide under this registry version (default: the newest)")
    parser.add_argument("--rules-version", help="re-decide under this rules version (default: the newest)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON on stdout")
    output.add_argument("--csv", action="store_true", help="CSV on stdout, one line per timeline row")
    parser.add_argument("--topic-prefix", default="envgrid", help="the catalogue's topic prefix")
    parser.add_argument("--history-topic", help="audit this topic instead of case.history (e.g. a copy)")
    parser.add_argument("--width", type=int, default=None, help="table width (default: the terminal's)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
