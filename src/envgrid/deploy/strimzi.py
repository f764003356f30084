"""Strimzi resources: the broker cluster, and a KafkaTopic and a KafkaUser for every catalogue topic and principal.

    topics(catalogue, deployment)               # KafkaTopic per topic of config/topics.yaml
    users(catalogue, principals, deployment)    # KafkaUser per principal, ACLs from envgrid.connectors.acls

Topics and ACLs are not derived here: a KafkaTopic carries the partitions, replication factor and configs of
its `TopicSpec`, and a KafkaUser's ACLs are `plan_acls` (what `catalogue plan` shows and `apply --acls` sets),
only spelled the way Strimzi's User Operator takes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from envgrid.connectors.acls import Acl, plan_acls
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.principals import Principals
from envgrid.deploy.settings import KAFKA_VERSION, STRIMZI_API, Deployment

Manifest = dict[str, Any]

_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")  # a Kubernetes object name (RFC 1123 subdomain)
_RESOURCE = {"TOPIC": "topic", "GROUP": "group", "TRANSACTIONAL_ID": "transactionalId", "CLUSTER": "cluster"}
_PATTERN = {"LITERAL": "literal", "PREFIXED": "prefix"}
_OPERATION = {"READ": "Read", "WRITE": "Write", "DESCRIBE": "Describe", "DESCRIBE_CONFIGS": "DescribeConfigs",
              "ALL": "All", "CREATE": "Create", "DELETE": "Delete", "ALTER": "Alter", "ALTER_CONFIGS": "AlterConfigs",
              "IDEMPOTENT_WRITE": "IdempotentWrite", "CLUSTER_ACTION": "ClusterAction"}


class ManifestError(ValueError):
    """A name or value that cannot become a Kubernetes resource; the message says which and why."""


def kafka_cluster(deployment: Deployment, super_user: str) -> list[Manifest]:
    """The `Kafka` and its `KafkaNodePool`: KRaft, every node broker and controller, SCRAM-SHA-512 over TLS,
    Kafka's StandardAuthorizer with `super_user` (config/principals.yaml's super-user) as the only super user."""
    kafka = {
        "apiVersion": STRIMZI_API,
        "kind": "Kafka",
        "metadata": {"name": deployment.cluster, "namespace": deployment.namespace},
        "spec": {
            "kafka": {
                "version": KAFKA_VERSION,
                "listeners": [{
                    "name": "scram",
                    "port": deployment.listener_port,
                    "type": "internal",
                    "tls": True,
                    "authentication": {"type": "scram-sha-512"},
                }],
                "authorization": {"type": "simple", "superUsers": [super_user]},
                "config": {
                    "auto.create.topics.enable": False,  # topics come from the catalogue only
                    "default.replication.factor": 3,
                    "min.insync.replicas": 2,
                    "offsets.topic.replication.factor": 3,
                    "transaction.state.log.replication.factor": 3,
                    "transaction.state.log.min.isr": 2,
                },
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }
    pool = {
        "apiVersion": STRIMZI_API,
        "kind": "KafkaNodePool",
        "metadata": {"name": "dual-role", "namespace": deployment.namespace,
                     "labels": {"strimzi.io/cluster": deployment.cluster}},
        "spec": {
            "replicas": deployment.brokers,
            "roles": ["controller", "broker"],
            "storage": {"type": "jbod", "volumes": [{
                "id": 0, "type": "persistent-claim", "size": deployment.broker_storage, "deleteClaim": False,
                "kraftMetadata": "shared",
            }]},
        },
    }
    return [kafka, pool]


def topics(catalogue: Catalogue, deployment: Deployment) -> list[Manifest]:
    """A KafkaTopic per catalogue topic, named after it; `topicName` says the Kafka name explicitly."""
    return [{
        "apiVersion": STRIMZI_API,
        "kind": "KafkaTopic",
        "metadata": {"name": object_name(spec.name, f"topic {spec.name}"), "namespace": deployment.namespace,
                     "labels": {"strimzi.io/cluster": deployment.cluster}},
        "spec": {
            "topicName": spec.name,
            "partitions": spec.partitions,
            "replicas": spec.replication_factor,
            "config": dict(sorted(spec.configs.items())),
        },
    } for spec in catalogue.topics]


def users(catalogue: Catalogue, principals: Principals, deployment: Deployment) -> list[Manifest]:
    """A KafkaUser per principal with a SCRAM-SHA-512 credential (the User Operator keeps its password in a
    Secret of the principal's name). The super user gets no ACLs (super.users lets it do everything); every
    other one gets exactly its ACLs of `plan_acls`."""
    by_principal: dict[str, list[Acl]] = {}
    for acl in plan_acls(catalogue, principals):
        by_principal.setdefault(acl.principal, []).append(acl)
    manifests = []
    for principal in principals:
        spec: dict[str, Any] = {"authentication": {"type": "scram-sha-512"}}
        if principal.kind != "super-user":
            spec["authorization"] = {"type": "simple", "acls": strimzi_acls(by_principal.get(principal.kafka_principal, []))}
        manifests.append({
            "apiVersion": STRIMZI_API,
            "kind": "KafkaUser",
            "metadata": {"name": object_name(principal.name, f"principal {principal.name}"),
                         "namespace": deployment.namespace,
                         "labels": {"strimzi.io/cluster": deployment.cluster, "envgrid/principal-kind": principal.kind},
                         "annotations": {"envgrid/purpose": principal.purpose}},
            "spec": spec,
        })
    return manifests


def strimzi_acls(acls: Iterable[Acl]) -> list[Manifest]:
    """ACLs as KafkaUser rules: the operations on one resource (type, name, pattern) grouped into one rule."""
    rules: dict[tuple[str, str, str], list[str]] = {}
    for acl in acls:
        try:
            key = (_RESOURCE[acl.resource], acl.name, _PATTERN[acl.pattern])
            operation = _OPERATION[acl.operation]
        except KeyError as error:
            raise ManifestError(f"ACL {acl}: Strimzi has no spelling for {error.args[0]!r}") from None
        rules.setdefault(key, []).append(operation)
    return [{"resource": {"type": kind, "name": name, "patternType": pattern},
             "operations": sorted(set(operations)), "host": "*"}
            for (kind, name, pattern), operations in sorted(rules.items())]


def object_name(name: str, what: str) -> str:
    """`name` as a Kubernetes object name, or an error saying why it cannot be one."""
    if not _DNS_NAME.match(name):
        raise ManifestError(f"{what}: {name!r} is not a valid Kubernetes object name (lower-case letters, digits, "
                            f"'-' and '.', at most 253): rename it in config/topics.yaml or config/principals.yaml")
    return name
