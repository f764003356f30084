"""python -m envgrid.localcluster up|down|status|env|fetch"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from envgrid.connectors.settings import CASE_STORE_DSN_ENV

from . import postgres, quorum
from .addresses import ClusterAddresses
from .cluster import LocalCluster
from .errors import LocalClusterError


def _status(cluster: LocalCluster) -> int:
    st = cluster.status()
    if "registry" not in st:
        print(f"No local cluster recorded ({st['state_file']}). Start one: python -m envgrid.localcluster up")
        return 1
    r, nodes = st["registry"], quorum.nodes_of(st)
    print(f"local cluster: {'running' if st['running'] else 'NOT running (stale state; run `down` or `up`)'}"
          f", owner={st.get('owner')}, sessions={st['sessions'] or 'none'}, kafka nodes={len(nodes)}")
    for b in nodes:
        name = f"kafka-{b['node_id']}" if "node_id" in b else "kafka"
        print(f"  {name:<9} {'up  ' if b['alive'] else 'DOWN'} pid {b['pid']}  {b['bootstrap_servers']}"
              f" (controller :{b['controller_port']})  log {b['log']}")
    if len(nodes) > 1:
        print(f"  topics    replication {quorum.REPLICATION}, min.insync.replicas {quorum.MIN_INSYNC} "
              f"(catalogue: export {quorum.TOPIC_PROFILE_ENV}={quorum.TOPIC_PROFILE})")
    print(f"  registry  {'up  ' if r['alive'] else 'DOWN'} pid {r['pid']}  {r['url']}"
          f" (health :{r['management_port']}/health/ready)  log {r['log']}")
    if "postgres" in st:
        pg = st["postgres"]
        print(f"  postgres  {'up  ' if postgres.running_dsn(st) else 'DOWN'} pid {pg['pid']}  127.0.0.1:{pg['port']} (the case "
              f"store; data {pg['data']})  log {pg['log']}")
    if st.get("security") == "sasl":
        print(f"  security  SASL_PLAINTEXT/SCRAM-SHA-512 on loopback, StandardAuthorizer, super user "
              f"{st['super_user']}; registry: basic auth + roles; {st['principals']} principals' credentials "
              f"in {st['credentials']} (owner-only)")
    else:
        print("  security  NONE: plaintext, no authentication (started with --plaintext)")
    return 0 if st["running"] else 1


def _exports(cluster: LocalCluster, addrs: ClusterAddresses) -> str:
    """The addresses' export lines, and on a quorum the topic profile that gives replication 3."""
    extra = "".join(f"\nexport {name}={value}" for name, value in cluster.topic_env().items())
    dsn = postgres.running_dsn(cluster.status())
    if dsn:
        extra += f"\nexport {CASE_STORE_DSN_ENV}={shlex.quote(dsn)}"
    return addrs.exports() + extra


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m envgrid.localcluster",
                                description="Local Kafka 4 (KRaft) + Apicurio Registry 3 on 127.0.0.1")
    p.add_argument("command", choices=["up", "down", "status", "env", "fetch"])
    p.add_argument("--kafka-port", type=int, help="fixed broker port (default: a free one)")
    p.add_argument("--registry-port", type=int, help="fixed registry port (default: a free one)")
    p.add_argument("--var-dir", help="runtime directory (default: $ENVGRID_VAR_DIR, else ./var of the working directory)")
    p.add_argument("--nodes", type=int, default=1, choices=quorum.NODE_COUNTS,
                   help="up: Kafka nodes, each a broker and a controller (3: replication 3, min.insync.replicas 2)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each to answer")
    p.add_argument("--principal", default=None,
                   help="up/env: print the settings of this principal (config/principals.yaml; default: pipeline)")
    p.add_argument("--case-store", action="store_true",
                   help="up: also start PostgreSQL for the case store (python -m envgrid.connectors.case_store)")
    p.add_argument("--plaintext", action="store_true",
                   help="up: start WITHOUT any authentication (to measure what SASL costs); never the default")
    a = p.parse_args(argv)
    cluster = LocalCluster(var_dir=a.var_dir, kafka_port=a.kafka_port, registry_port=a.registry_port,
                           broker_timeout=a.timeout, registry_timeout=a.timeout,
                           security="plaintext" if a.plaintext else "sasl", nodes=a.nodes)
    try:
        if a.command == "up":
            addrs = cluster.up()
            if a.case_store:
                cluster.case_store_up(owner="cli")
            st = cluster.status()
            how = "already running, reused" if cluster.reused else (
                f"started: kafka answered in {max(n.get('ready_s') or 0 for n in quorum.nodes_of(st))} s, "
                f"registry in {st['registry'].get('ready_s')} s")
            print(f"# envgrid local cluster {how}; logs in {cluster.var / 'log'}", file=sys.stderr)
            wanted = {"broker": a.kafka_port, "registry": a.registry_port}
            for part, port in wanted.items():
                running = quorum.nodes_of(st)[0] if part == "broker" else st[part]
                if port and running["port"] != port:
                    print(f"# note: the running {part} uses port {running['port']}, not {port}; "
                          "run `down` first to change ports", file=sys.stderr)
            if a.principal:
                addrs = cluster.addresses(a.principal) or addrs
            print(_exports(cluster, addrs))
        elif a.command == "env":
            addrs = cluster.addresses(a.principal)
            if addrs is None:
                print("# no local cluster running; start one: python -m envgrid.localcluster up", file=sys.stderr)
                return 1
            print(_exports(cluster, addrs))
        elif a.command == "fetch":
            from . import fetch
            from .java import find_java, find_registry_java

            find_java()
            find_registry_java()
            started = time.monotonic()
            libs, home = fetch.kafka_libs(), fetch.registry_home()
            print(f"# jars ready in {time.monotonic() - started:.1f} s: {libs} and {home}", file=sys.stderr)
        elif a.command == "down":
            st = cluster.down()
            print("stopped the local cluster" if st else "no local cluster was recorded; nothing to stop")
        else:
            return _status(cluster)
    except LocalClusterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
