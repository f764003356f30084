"""TEMPORARY — the bootstrap ACL set: what the pipeline principal may do until ACLs are generated.

The local cluster runs Kafka's StandardAuthorizer, which refuses everything without an ACL
(allow.everyone.if.no.acl.found=false) to all but the super user. Until the ACLs generated from the topic
catalogue and config/principals.yaml (issue 9, ACL part) replace this module, the pipeline principal — the
worker, the demo, the simulator, the benchmarks and the tests — gets ALL on every topic, consumer group
and transactional id; every other principal gets nothing. The set is created through the Admin API, as the
super user, each time the local cluster starts.
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
