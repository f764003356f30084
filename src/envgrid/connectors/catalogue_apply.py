"""Make a cluster match the topic catalogue: create what is missing, report drift, never change or delete.

Idempotent and safe on any cluster: existing topics are only compared (partition count, replication
factor, the configs the catalogue sets); fixing drift (adding partitions re-shuffles keys; changing
retention may drop data) is a deliberate human decision, so it is reported, not done.

    python -m envgrid.connectors.catalogue list                 # the catalogue, no cluster needed
    python -m envgrid.connectors.catalogue plan                 # what apply would do
    python -m envgrid.connectors.catalogue apply [--dry-run]    # create missing topics; exit 0 even with drift
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from envgrid.connectors.catalogue import Catalogue, CatalogueError, TopicSpec

MISSING, CREATED, UNCHANGED, DRIFT, FAILED = "missing", "created", "unchanged", "drift", "failed"


@dataclass
class TopicStatus:
    """Where one catalogue topic stands on the cluster."""

    spec: TopicSpec
    status: str  # missing | created | unchanged | drift | failed
    details: list[str] = field(default_factory=list)  # drift findings or the creation error


def plan(admin: Any, catalogue: Catalogue, timeout: float = 30.0) -> list[TopicStatus]:
    """Compare the cluster with the catalogue; changes nothing."""
    metadata = admin.list_topics(timeout=timeout).topics
    existing = [spec for spec in catalogue.topics if spec.name in metadata]
    configs = _describe_configs(admin, [spec.name for spec in existing], timeout)
    result = []
    for spec in catalogue.topics:
        if spec.name not in metadata:
            result.append(TopicStatus(spec, MISSING))
            continue
        drift = _drift(spec, metadata[spec.name], configs.get(spec.name, {}))
        result.append(TopicStatus(spec, DRIFT if drift else UNCHANGED, drift))
    return result


def apply(admin: Any, catalogue: Catalogue, *, dry_run: bool = False, timeout: float = 30.0) -> list[TopicStatus]:
    """Create every missing topic with its configs (unless dry_run); report the rest as `plan` does."""
    statuses = plan(admin, catalogue, timeout)
    missing = [s for s in statuses if s.status == MISSING]
    if dry_run or not missing:
        return statuses
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    new_topics = [
        NewTopic(s.spec.name, num_partitions=s.spec.partitions, replication_factor=s.spec.replication_factor,
                 config=dict(s.spec.configs))
        for s in missing
    ]
    futures = admin.create_topics(new_topics, operation_timeout=timeout, request_timeout=timeout)
    for status in missing:
        try:
            futures[status.spec.name].result(timeout=timeout)
            status.status = CREATED
        except KafkaException as error:  # wrapping a KafkaError
            kafka_error = error.args[0] if error.args else None
            if getattr(kafka_error, "code", lambda: None)() == KafkaError.TOPIC_ALREADY_EXISTS:
                status.status, status.details = UNCHANGED, ["created concurrently by someone else; re-run plan to compare"]
            else:
                status.status, status.details = FAILED, [str(error)]
    _wait_visible(admin, [s.spec.name for s in missing if s.status == CREATED], timeout)
    return statuses


def summary(statuses: Sequence[TopicStatus]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status.status] = counts.get(status.status, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envgrid.connectors.catalogue", description="envgrid topic catalogue")
    parser.add_argument("command", choices=["list", "plan", "apply", "acls"],
                        help="acls: the ACLs generated from the catalogue and config/principals.yaml (no cluster)")
    parser.add_argument("--acls", action="store_true",
                        help="plan/apply: the ACLs too (needs the super user's credentials, e.g. "
                             "ENVGRID_KAFKA_CONFIG=<var>/credentials/admin.properties)")
    parser.add_argument("--dry-run", action="store_true", help="apply: only show what would change")
    parser.add_argument("--prefix", help="topic name prefix (default ENVGRID_TOPIC_PREFIX or envgrid)")
    parser.add_argument("--profile", help="replication profile: local or production (default ENVGRID_TOPIC_PROFILE)")
    parser.add_argument("--bootstrap-servers", help="default: envgrid.connectors.settings (ENVGRID_BOOTSTRAP_SERVERS or "
                        "local); given, it is reached with the security settings of the environment (ENVGRID_KAFKA_*)")
    args = parser.parse_args(argv)
    try:
        catalogue = Catalogue.load(prefix=args.prefix, profile=args.profile)
    except CatalogueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "list":
        _print_catalogue(catalogue)
        return 0
    if args.command == "acls":
        from envgrid.connectors.acls import access_table, plan_acls
        from envgrid.connectors.principals import load_principals

        principals = load_principals()
        acls = plan_acls(catalogue, principals)
        print(access_table(catalogue, principals))
        print(f"\n{len(acls)} ACLs for {len(principals)} principals on {catalogue.prefix}.*:")
        for acl in acls:
            print(f"  {acl}")
        return 0
    from confluent_kafka.admin import AdminClient

    from envgrid.connectors.settings import ClusterAddresses, ClusterSettingsError, client_security, running_cluster

    try:
        cluster = ClusterAddresses(args.bootstrap_servers, "", client_security()) if args.bootstrap_servers \
            else running_cluster()
    except ClusterSettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    bootstrap = cluster.bootstrap_servers
    admin = AdminClient(cluster.kafka_config())
    dry_run = args.command == "plan" or args.dry_run
    statuses = apply(admin, catalogue, dry_run=dry_run)
    _print_statuses(statuses, f"{'plan' if dry_run else 'apply'}: {catalogue.prefix}.* on {bootstrap}")
    failed = any(s.status == FAILED for s in statuses)
    if args.acls:
        failed = _acls(admin, catalogue, dry_run) or failed
    return 1 if failed else 0


def _acls(admin: Any, catalogue: Catalogue, dry_run: bool) -> bool:
    """Plan or apply the ACLs; True when that failed (the message says why)."""
    from confluent_kafka import KafkaException

    from envgrid.connectors.acls import apply_acls
    from envgrid.connectors.principals import load_principals

    try:
        report = apply_acls(admin, catalogue, load_principals(), dry_run=dry_run)
    except KafkaException as error:
        print(f"ACLs: {error.args[0]} (reading and setting ACLs needs the super user's credentials)", file=sys.stderr)
        return True
    verb = "would create" if dry_run else "created"
    print(f"ACLs: {len(report.planned)} planned, {len(report.existing)} in place, {verb} "
          f"{len(report.missing if dry_run else report.created)}, drift {len(report.drift)}")
    for acl in (report.missing if dry_run else report.created):
        print(f"  + {acl}")
    for acl in report.drift:
        print(f"  ~ {acl}  (not in the plan; left as it is)")
    return False


# --- helpers -------------------------------------------------------------------------------------


def _describe_configs(admin: Any, names: list[str], timeout: float) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    from confluent_kafka.admin import ConfigResource, ResourceType

    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in names],
                                     request_timeout=timeout)
    return {
        resource.name: {key: entry.value for key, entry in future.result(timeout=timeout).items()}
        for resource, future in futures.items()
    }


def _drift(spec: TopicSpec, topic_metadata: Any, configs: dict[str, str]) -> list[str]:
    found = []
    partitions = len(topic_metadata.partitions)
    if partitions != spec.partitions:
        found.append(f"partitions {partitions}, catalogue says {spec.partitions}")
    replicas = {len(p.replicas) for p in topic_metadata.partitions.values()}
    if replicas and replicas != {spec.replication_factor}:
        found.append(f"replication factor {'/'.join(map(str, sorted(replicas)))}, catalogue says {spec.replication_factor}")
    for key, wanted in spec.configs.items():
        actual = configs.get(key)
        if actual != wanted:
            found.append(f"{key}={actual}, catalogue says {wanted}")
    return found


def _wait_visible(admin: Any, names: list[str], timeout: float) -> None:
    """Wait until created topics show in metadata with leaders, so a re-run sees them at once."""
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        topics = admin.list_topics(timeout=timeout).topics
        pending = {n for n in pending if n not in topics or topics[n].error is not None
                   or any(p.leader < 0 for p in topics[n].partitions.values())}
        if pending:
            time.sleep(0.1)


def _retention_text(spec: TopicSpec) -> str:
    if spec.configs.get("cleanup.policy") == "compact":
        return "compact"
    days = int(spec.configs["retention.ms"]) // (24 * 3600 * 1000)
    return f"{days} d ({spec.retention})"


def _print_catalogue(catalogue: Catalogue) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"topic catalogue: prefix {catalogue.prefix}, profile {catalogue.profile}", show_lines=False)
    for column in ("topic", "schema", "part.", "RF", "min ISR", "retention", "key"):
        table.add_column(column, overflow="fold")
    for spec in catalogue.topics:
        table.add_row(spec.name, spec.schema, str(spec.partitions), str(spec.replication_factor),
                      spec.configs["min.insync.replicas"], _retention_text(spec), spec.key)
    Console(width=200).print(table)


def _print_statuses(statuses: Sequence[TopicStatus], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    colours = {MISSING: "yellow", CREATED: "green", UNCHANGED: "dim", DRIFT: "red", FAILED: "bold red"}
    table = Table(title=title)
    for column in ("topic", "schema", "part.", "RF", "retention", "status", "details"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        table.add_row(s.spec.name, s.spec.schema, str(s.spec.partitions), str(s.spec.replication_factor),
                      _retention_text(s.spec), f"[{colours[s.status]}]{s.status}[/]", "; ".join(s.details))
    console = Console(width=200)
    console.print(table)
    console.print(", ".join(f"{count} {status}" for status, count in sorted(summary(statuses).items())))
