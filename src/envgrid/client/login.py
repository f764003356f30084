"""Logging in: where the cluster is and which credentials file to use, and which principal is a unit.

    addresses = addresses_for("var/credentials/dept-epb.properties")   # the local cluster if it runs, else the env
    unit_principal("dept-epb", load_principals()).binding               # ("department", "epb")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from envgrid.client.errors import Reason, Refused
from envgrid.connectors.principals import Principal, Principals
from envgrid.connectors.settings import ClusterSettingsError, client_security, cluster_settings
from envgrid.localcluster.addresses import (
    BOOTSTRAP_ENV,
    KAFKA_CONFIG_ENV,
    REGISTRY_ENV,
    SECURITY_ENVS,
    ClusterAddresses,
)

UNIT_KINDS = ("department", "grid")


def addresses_for(config_file: Path | str | None, env: Mapping[str, str] | None = None) -> ClusterAddresses:
    """Where the cluster is and how to log in: the credentials file `config_file` (over any security setting of
    the environment; none: $ENVGRID_KAFKA_CONFIG and the other variables), at $ENVGRID_BOOTSTRAP_SERVERS and
    $ENVGRID_SCHEMA_REGISTRY_URL, else at the local cluster if it runs (it is never started here)."""
    env = dict(os.environ if env is None else env)
    if config_file is not None:
        env = {k: v for k, v in env.items() if k not in SECURITY_ENVS}
        env[KAFKA_CONFIG_ENV] = str(Path(config_file).resolve())
    if env.get(BOOTSTRAP_ENV, "").strip() or env.get(REGISTRY_ENV, "").strip():
        external = cluster_settings(env)
        assert external is not None  # cluster_settings raises for half a configuration
        return external
    from envgrid.localcluster.cluster import LocalCluster

    local = LocalCluster().addresses()
    if local is None:
        raise ClusterSettingsError(f"No cluster configured: set {BOOTSTRAP_ENV} and {REGISTRY_ENV}, or start the local "
                                   f"cluster (`python -m envgrid.localcluster up`); this command starts none")
    security = client_security(env) if config_file is not None or env.get(KAFKA_CONFIG_ENV) else local.security
    return replace(local, security=security)


def unit_principal(name: str | None, principals: Principals) -> Principal:
    if not name:
        raise Refused(Reason.NOT_A_UNIT, "no principal to act as: log in with a unit's credentials file (--config "
                                         "var/credentials/dept-<code>.properties), or name the principal (--principal) "
                                         "on a cluster without authentication")
    try:
        principal = principals[name]
    except KeyError:
        raise Refused(Reason.NOT_A_UNIT, f"{name!r} is not a principal of {principals.source}") from None
    if principal.kind not in UNIT_KINDS or principal.binding is None:
        raise Refused(Reason.NOT_A_UNIT, f"logged in as {name} (a principal of kind {principal.kind}): log in as a department "
                                         f"(dept-<code>) or a grid (grid-<code>) with its credentials file")
    return principal
