"""The pipeline principal's ACLs, set by the local cluster when it starts.

Kafka's StandardAuthorizer refuses everything without an ACL (allow.everyone.if.no.acl.found=false) to all
but the super user. The pipeline's grant in config/principals.yaml is `all: true`: ALL on every topic,
consumer group and transactional id (the same three ACLs `envgrid.connectors.acls.plan_acls` plans for it),
so the worker, the demo, the simulator, the benchmarks and the tests work under any topic prefix. Every
other principal's ACLs name one deployment's topics; `python -m envgrid.connectors.catalogue apply --acls`
sets them for a prefix, as the super user (the demo does this for its own prefix).
"""

from __future__ import annotations

from typing import Any

RESOURCES = ("TOPIC", "GROUP", "TRANSACTIONAL_ID")


def bootstrap_acls(pipeline: str) -> list[Any]:
    """ALLOW User:<pipeline> ALL on the literal wildcard `*` of each resource type, from any host."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    return [AclBinding(ResourceType[resource], "*", ResourcePatternType.LITERAL, f"User:{pipeline}", "*",
                       AclOperation.ALL, AclPermissionType.ALLOW) for resource in RESOURCES]


def create_bootstrap_acls(admin: Any, pipeline: str, timeout: float = 30.0) -> list[Any]:
    """Create the set (idempotent: an ACL that exists is left as it is); returns the bindings."""
    from .errors import LocalClusterError

    bindings = bootstrap_acls(pipeline)
    for binding, future in admin.create_acls(bindings, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except Exception as error:
            raise LocalClusterError(f"Creating the bootstrap ACL {binding} failed: {error}") from error
    return bindings
