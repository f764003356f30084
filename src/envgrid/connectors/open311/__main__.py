"""`python -m envgrid.connectors.open311 serve|new-key`: the Open311 GeoReport v2 intake.

    serve     the HTTP service (uvicorn) on --host/--port: complaints to the complaint intake topic, statuses from
              the case store, Prometheus metrics on /metrics
    new-key   a new API key for a partner: prints the key (give it to the partner) and its entry for the keys file

The cluster is the environment's (see `envgrid.connectors.settings`), or with `--principal` the local cluster as
that principal (intake-gateway may write the intake topics and nothing else). The case store is the one
ENVGRID_CASE_STORE_DSN names, else the local cluster's PostgreSQL if it runs. Exit code 2 and one line on stderr when
either, or the keys file, is missing.
"""

from __future__ import annotations

import argparse
import logging
import sys

from envgrid.connectors.settings import ClusterSettingsError, running_case_store, running_cluster
from envgrid.domain.config_errors import ConfigError
from envgrid.localcluster.addresses import ClusterAddresses
from envgrid.streams.clock import add_clock_arguments, clock_for

from .keys import KEYS_FILE_ENV, digest_of, load_keys, new_key


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "new-key":
        key = new_key()
        print(f"key (give it to {args.name}, it is shown once): {key}")
        print(f"keys file entry:\n  - {{name: {args.name}, channel: {args.channel}, sha256: {digest_of(key)}}}")
        return 0
    logging.basicConfig(level=getattr(logging, args.loglevel.upper()), format="%(asctime)s %(levelname)s %(message)s")
    try:
        keys = load_keys(args.keys)
        cluster = _cluster(args.principal)
        dsn = args.case_store_dsn or running_case_store()
    except (ClusterSettingsError, ConfigError) as error:
        print(f"envgrid open311: {error}", file=sys.stderr)
        return 2
    import uvicorn

    from .gateway import build

    clock = clock_for(args.clock, args.speedup, args.clock_start, args.clock_origin)
    assert clock is not None  # the parser offers no manual clock
    gateway = build(cluster, keys, dsn, topic_prefix=args.topic_prefix, produce_timeout_s=args.produce_timeout,
                    clock=clock.now)
    logging.info("open311: %d API keys; complaints to %s; %s clock", len(keys), gateway.topic, clock.name)
    try:
        uvicorn.run(gateway.app, host=args.host, port=args.port, log_level=args.loglevel.lower())
    finally:
        gateway.close()
    return 0


def _cluster(principal: str | None) -> ClusterAddresses:
    if principal is None:
        return running_cluster()
    from envgrid.localcluster.cluster import LocalCluster

    addresses = LocalCluster().addresses(principal)
    if addresses is None:
        raise ClusterSettingsError("--principal needs the local cluster running (`python -m envgrid.localcluster up`)")
    return addresses


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envgrid.connectors.open311", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8311)
    serve.add_argument("--keys", help=f"the API keys file (default: ${KEYS_FILE_ENV})")
    serve.add_argument("--topic-prefix", help="the catalogue's topic prefix (default: $ENVGRID_TOPIC_PREFIX or envgrid)")
    serve.add_argument("--principal", help="on the local cluster, connect as this principal (e.g. intake-gateway)")
    serve.add_argument("--case-store-dsn", help="the case store's PostgreSQL (default: $ENVGRID_CASE_STORE_DSN)")
    serve.add_argument("--produce-timeout", type=float, default=10.0,
                       help="seconds to wait for the broker's acknowledgement before answering 503")
    serve.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    add_clock_arguments(serve, ("wall", "accelerated"), purpose="the clock that stamps received_at")
    key = commands.add_parser("new-key", help="make an API key and its keys file entry")
    key.add_argument("name", help="the partner or channel the key is for, e.g. wenzhou-web")
    key.add_argument("--channel", default="WEB", help="the complaints' Channel (schemas/types/Channel.avsc)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
