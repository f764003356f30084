"""Cluster settings: the ONE reader of ENVGRID_BOOTSTRAP_SERVERS and ENVGRID_SCHEMA_REGISTRY_URL.

Both set  -> an external cluster; nothing local is ever started.
Neither   -> the local cluster of `envgrid.localcluster`: `running_cluster()` (the worker and the operator
             commands) uses it only if it already runs; `ensure_cluster()` (the demo, the simulator, the
             benchmarks) starts it when needed. A production worker never starts a cluster of its own.
Only one  -> an error: half an external cluster is almost certainly a mistake.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from envgrid.localcluster.addresses import BOOTSTRAP_ENV, REGISTRY_ENV, ClusterAddresses

__all__ = ["ClusterAddresses", "ClusterSettingsError", "cluster_settings", "ensure_cluster", "running_cluster"]


class ClusterSettingsError(ValueError):
    pass


def cluster_settings(env: Mapping[str, str] | None = None) -> ClusterAddresses | None:
    """The external cluster named by the environment, or None when a local one should be used."""
    env = os.environ if env is None else env
    bootstrap = env.get(BOOTSTRAP_ENV, "").strip()
    registry = env.get(REGISTRY_ENV, "").strip().rstrip("/")
    if bootstrap and registry:
        return ClusterAddresses(bootstrap, registry)
    if bootstrap or registry:
        missing = REGISTRY_ENV if bootstrap else BOOTSTRAP_ENV
        raise ClusterSettingsError(
            f"{BOOTSTRAP_ENV if bootstrap else REGISTRY_ENV} is set but {missing} is not. Set both to use "
            f"an external cluster, or unset both to use the local one (python -m envgrid.localcluster up).")
    return None


def ensure_cluster(env: Mapping[str, str] | None = None) -> ClusterAddresses:
    """External addresses if configured, else the local cluster's (started or reused)."""
    external = cluster_settings(env)
    if external is not None:
        return external
    from envgrid.localcluster.cluster import LocalCluster  # only here: importing settings never starts Java

    return LocalCluster().up()


def running_cluster(env: Mapping[str, str] | None = None) -> ClusterAddresses:
    """External addresses if configured, else a local cluster that already runs; never starts one."""
    external = cluster_settings(env)
    if external is not None:
        return external
    from envgrid.localcluster.cluster import LocalCluster

    local = LocalCluster().addresses()
    if local is None:
        raise ClusterSettingsError(
            f"No cluster configured: set {BOOTSTRAP_ENV} and {REGISTRY_ENV} to the Kafka bootstrap servers "
            f"and the schema registry's Confluent-compatible URL. For local work, start the local cluster "
            f"first (`python -m envgrid.localcluster up`); this command does not start one by itself.")
    return local
