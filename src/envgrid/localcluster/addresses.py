"""Where clients find the cluster (stdlib only, safe to import from anywhere)."""

from __future__ import annotations

from dataclasses import dataclass

BOOTSTRAP_ENV = "ENVGRID_BOOTSTRAP_SERVERS"
REGISTRY_ENV = "ENVGRID_SCHEMA_REGISTRY_URL"


@dataclass(frozen=True)
class ClusterAddresses:
    bootstrap_servers: str  # e.g. "127.0.0.1:40123"
    schema_registry_url: str  # Confluent-compatible API, e.g. "http://127.0.0.1:40124/apis/ccompat/v7"

    def exports(self) -> str:
        """Shell lines a user can paste to point every tool at this cluster."""
        return (f"export {BOOTSTRAP_ENV}={self.bootstrap_servers}\n"
                f"export {REGISTRY_ENV}={self.schema_registry_url}")
