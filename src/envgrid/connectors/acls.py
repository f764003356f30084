"""Kafka ACLs generated from data: the topic catalogue (config/topics.yaml) and the principals with their
grants (config/principals.yaml). One source of truth for who may read and write what.

    acls = plan_acls(catalogue, load_principals())   # every ACL the deployment needs
    print(access_table(catalogue, load_principals()))  # the README's "who can read and write what"

A grant names catalogue topic templates; a `{department}` or `{grid}` in one is the principal's own code
when its name has one (dept-epb reads dept.epb.cases only), else every expansion (the auditor reads every
unit's notices). Reading gives READ and DESCRIBE on the topic, writing WRITE and DESCRIBE; `groups` gives
READ and DESCRIBE on the consumer groups with that prefix. Everything is ALLOW; Kafka's StandardAuthorizer
denies whatever no ACL allows. `apply_acls` creates what is missing and reports drift (ACLs of these
principals, or on these topics, that the plan does not have): it never deletes one by itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from envgrid.connectors.catalogue import Catalogue, CatalogueError
from envgrid.connectors.principals import Principal, Principals


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule: `principal` may do `operation` on the resource, from any host."""

    principal: str  # User:<name>
    resource: str  # TOPIC | GROUP | TRANSACTIONAL_ID | CLUSTER
    pattern: str  # LITERAL | PREFIXED
    name: str
    operation: str  # READ | WRITE | DESCRIBE | DESCRIBE_CONFIGS | ALL

    def __str__(self) -> str:
        pattern = "" if self.pattern == "LITERAL" else f" ({self.pattern.lower()})"
        return f"{self.principal} {self.operation} {self.resource} {self.name}{pattern}"


def plan_acls(catalogue: Catalogue, principals: Principals) -> list[Acl]:
    """Every ACL the deployment needs, sorted; an unknown topic template in a grant is an error."""
    acls: set[Acl] = set()
    for principal in principals:
        acls.update(_acls_of(catalogue, principal))
    return sorted(acls)


def _acls_of(catalogue: Catalogue, principal: Principal) -> Iterable[Acl]:
    who, grants = principal.kafka_principal, principal.grants
    if grants.all:
        for resource in ("TOPIC", "GROUP", "TRANSACTIONAL_ID"):
            yield Acl(who, resource, "LITERAL", "*", "ALL")
        return
    for topic in topics_of(catalogue, principal, grants.read):
        yield Acl(who, "TOPIC", "LITERAL", topic, "READ")
        yield Acl(who, "TOPIC", "LITERAL", topic, "DESCRIBE")
    for topic in topics_of(catalogue, principal, grants.write):
        yield Acl(who, "TOPIC", "LITERAL", topic, "WRITE")
        yield Acl(who, "TOPIC", "LITERAL", topic, "DESCRIBE")
    if grants.groups:
        prefix = _bind(grants.groups, principal)
        yield Acl(who, "GROUP", "PREFIXED", prefix, "READ")
        yield Acl(who, "GROUP", "PREFIXED", prefix, "DESCRIBE")
    if grants.describe_all:
        yield Acl(who, "TOPIC", "LITERAL", "*", "DESCRIBE")
        yield Acl(who, "TOPIC", "LITERAL", "*", "DESCRIBE_CONFIGS")
        yield Acl(who, "GROUP", "LITERAL", "*", "DESCRIBE")


def topics_of(catalogue: Catalogue, principal: Principal, templates: Sequence[str]) -> list[str]:
    """Full topic names of `templates` for this principal (its own code bound where it has one)."""
    names: list[str] = []
    for template in templates:
        specs = catalogue.by_template(template)
        if not specs:
            raise CatalogueError(f"principal {principal.name}: no topic template {template!r} in the catalogue")
        bound = principal.binding
        for spec in specs:
            if spec.owner is not None and bound is not None and spec.owner[0] == bound[0] and spec.owner[1] != bound[1]:
                continue  # another unit's topic
            names.append(spec.name)
    return names


def _bind(template: str, principal: Principal) -> str:
    if principal.binding is None:
        return template
    return template.replace("{" + principal.binding[0] + "}", principal.binding[1])


# --- the README's table --------------------------------------------------------------------------


def access_table(catalogue: Catalogue, principals: Principals) -> str:
    """Markdown: each principal entry of the file (a template stands for its expansions), what it may read
    and write, by catalogue template."""
    rows = ["| principal | reads | writes | consumer groups |", "|---|---|---|---|"]
    seen: set[str] = set()
    for principal in principals:
        if principal.template in seen:
            continue
        seen.add(principal.template)
        grants = principal.grants
        if principal.kind == "super-user":
            rows.append(f"| `{principal.template}` | (super user: sets the cluster up) | | |")
            continue
        if grants.all:
            rows.append(f"| `{principal.template}` | every topic | every topic | any |")
            continue
        reads = ", ".join(f"`{t}`" for t in grants.read) or "—"
        if grants.describe_all:
            reads += " (and describes every topic and group)"
        writes = ", ".join(f"`{t}`" for t in grants.write) or "—"
        groups = f"`{grants.groups}*`" if grants.groups else "—"
        rows.append(f"| `{principal.template}` | {reads} | {writes} | {groups} |")
    return "\n".join(rows)


# --- plan and apply on a cluster -----------------------------------------------------------------


@dataclass
class AclReport:
    planned: list[Acl]
    existing: list[Acl] = field(default_factory=list)
    created: list[Acl] = field(default_factory=list)
    drift: list[Acl] = field(default_factory=list)  # there, but not planned (left alone)

    @property
    def missing(self) -> list[Acl]:
        have = set(self.existing) | set(self.created)
        return [acl for acl in self.planned if acl not in have]


def existing_acls(admin: Any, timeout: float = 30.0) -> list[Acl]:
    """Every ALLOW ACL on the cluster, as Acl values (needs DESCRIBE on the cluster: the super user)."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    anything: Any = None  # the filter's wildcard, as documented (its type hints say str)
    wanted = AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything, AclOperation.ANY,
                              AclPermissionType.ANY)
    found = admin.describe_acls(wanted, request_timeout=timeout).result(timeout)
    return sorted(Acl(b.principal, b.restype.name, b.resource_pattern_type.name, b.name, b.operation.name)
                  for b in found if b.permission_type.name == "ALLOW")


def plan_against(planned: list[Acl], existing: list[Acl], principals: Principals, catalogue: Catalogue) -> AclReport:
    ours = {p.kafka_principal for p in principals}
    topics = set(catalogue.names())
    planned_set = set(planned)
    drift = [acl for acl in existing if acl not in planned_set
             and (acl.principal in ours or (acl.resource == "TOPIC" and acl.name in topics))]
    return AclReport(planned, [acl for acl in existing if acl in planned_set], [], drift)


def apply_acls(admin: Any, catalogue: Catalogue, principals: Principals, dry_run: bool = False,
               timeout: float = 30.0) -> AclReport:
    """Create every planned ACL that is missing (idempotent); report drift, delete nothing."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    report = plan_against(plan_acls(catalogue, principals), existing_acls(admin, timeout), principals, catalogue)
    missing = report.missing
    if dry_run or not missing:
        return report
    bindings = {AclBinding(ResourceType[acl.resource], acl.name, ResourcePatternType[acl.pattern], acl.principal, "*",
                           AclOperation[acl.operation], AclPermissionType.ALLOW): acl for acl in missing}
    for binding, future in admin.create_acls(list(bindings), request_timeout=timeout).items():
        future.result(timeout)
        report.created.append(bindings[binding])
    _wait_visible(admin, set(report.created), timeout)
    return report


def _wait_visible(admin: Any, created: set[Acl], timeout: float) -> None:
    """Until the broker describes every created ACL (they reach it through the controller's metadata), so a
    run right after sees them in place."""
    deadline = time.monotonic() + timeout
    while created - set(existing_acls(admin, timeout)) and time.monotonic() < deadline:
        time.sleep(0.2)
