"""Where clients find the cluster and how they authenticate (stdlib only, safe to import from anywhere).

`ClusterAddresses.kafka_config()` is the librdkafka configuration every Kafka client of envgrid starts
from, `registry_config()` the schema registry client's, `env()` the variables that hand both to a child
process. Security uses the standard client keys (`security.protocol`, `sasl.mechanism`, `sasl.username`,
`sasl.password`); `envgrid.connectors.settings` reads them from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BOOTSTRAP_ENV = "ENVGRID_BOOTSTRAP_SERVERS"
REGISTRY_ENV = "ENVGRID_SCHEMA_REGISTRY_URL"
KAFKA_CONFIG_ENV = "ENVGRID_KAFKA_CONFIG"  # a properties file with the keys below
SECURITY_PROTOCOL_ENV = "ENVGRID_KAFKA_SECURITY_PROTOCOL"
SASL_MECHANISM_ENV = "ENVGRID_KAFKA_SASL_MECHANISM"
SASL_USERNAME_ENV = "ENVGRID_KAFKA_SASL_USERNAME"
SASL_PASSWORD_ENV = "ENVGRID_KAFKA_SASL_PASSWORD"
REGISTRY_USER_INFO_ENV = "ENVGRID_SCHEMA_REGISTRY_USER_INFO"  # "user:password", HTTP basic auth

#: variable -> the client key it sets (after the file of KAFKA_CONFIG_ENV, which they override)
SECURITY_ENV_KEYS = {
    SECURITY_PROTOCOL_ENV: "security.protocol",
    SASL_MECHANISM_ENV: "sasl.mechanism",
    SASL_USERNAME_ENV: "sasl.username",
    SASL_PASSWORD_ENV: "sasl.password",
    REGISTRY_USER_INFO_ENV: "basic.auth.user.info",
}
SECURITY_ENVS = (KAFKA_CONFIG_ENV, *SECURITY_ENV_KEYS)

PLAINTEXT = "PLAINTEXT"
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


@dataclass(frozen=True)
class ClientSecurity:
    """How a client authenticates to Kafka (and, optionally, to the schema registry). Validated by
    `envgrid.connectors.settings`; the default is an unauthenticated PLAINTEXT client."""

    protocol: str = PLAINTEXT  # security.protocol: PLAINTEXT, SASL_PLAINTEXT or SASL_SSL
    mechanism: str | None = None  # sasl.mechanism, e.g. SCRAM-SHA-512
    username: str | None = None  # sasl.username
    password: str | None = field(default=None, repr=False)  # sasl.password
    ca_location: str | None = None  # ssl.ca.location (SASL_SSL only; default: the system's CAs)
    registry_user_info: str | None = field(default=None, repr=False)  # "user:password" for the registry
    config_file: str | None = None  # the properties file all of this came from, if it did

    @property
    def sasl(self) -> bool:
        return self.protocol in SASL_PROTOCOLS

    def librdkafka(self) -> dict[str, str]:
        if not self.sasl:
            return {}
        assert self.mechanism and self.username and self.password is not None  # checked by settings
        conf = {"security.protocol": self.protocol, "sasl.mechanism": self.mechanism,
                "sasl.username": self.username, "sasl.password": self.password}
        if self.ca_location:
            conf["ssl.ca.location"] = self.ca_location
        return conf

    def env(self) -> dict[str, str]:
        """Variables that give a child process these settings: the file's path when they came from one
        (no secret in the environment), else one variable per setting."""
        if self.config_file:
            return {KAFKA_CONFIG_ENV: self.config_file}
        values = {SECURITY_PROTOCOL_ENV: self.protocol if self.sasl else None, SASL_MECHANISM_ENV: self.mechanism,
                  SASL_USERNAME_ENV: self.username, SASL_PASSWORD_ENV: self.password,
                  REGISTRY_USER_INFO_ENV: self.registry_user_info}
        return {name: value for name, value in values.items() if value is not None}

    def properties(self, comment: str = "") -> str:
        """A client properties file with these settings, readable by envgrid (ENVGRID_KAFKA_CONFIG), by
        librdkafka tools and by Java tools (`kafka-topics.sh --command-config`): the Java client reads
        `sasl.jaas.config`, librdkafka `sasl.username`/`sasl.password`."""
        lines = [f"# {line}" for line in comment.splitlines()]
        conf = self.librdkafka() or {"security.protocol": self.protocol}
        lines += [f"{key}={value}" for key, value in conf.items()]
        if self.sasl:
            module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if self.mechanism == "PLAIN"
                      else "org.apache.kafka.common.security.scram.ScramLoginModule")
            lines.append(f'sasl.jaas.config={module} required username="{self.username}" password="{self.password}";')
        if self.registry_user_info:
            lines += ["basic.auth.credentials.source=USER_INFO", f"basic.auth.user.info={self.registry_user_info}"]
        for line in lines:
            if "\\" in line or "\n" in line:
                raise ValueError("a client setting contains a backslash or a line break; choose another value")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ClusterAddresses:
    bootstrap_servers: str  # e.g. "127.0.0.1:40123"
    schema_registry_url: str  # Confluent-compatible API, e.g. "http://127.0.0.1:40124/apis/ccompat/v7"
    security: ClientSecurity = field(default_factory=ClientSecurity)

    def kafka_config(self, client: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The librdkafka configuration of one client (Producer, Consumer, AdminClient): the cluster's
        address and security settings, then the client's own settings, which win."""
        return {"bootstrap.servers": self.bootstrap_servers, **self.security.librdkafka(), **(client or {})}

    def registry_config(self) -> dict[str, Any]:
        """The schema registry client's configuration (confluent_kafka.schema_registry)."""
        conf: dict[str, Any] = {"url": self.schema_registry_url}
        if self.security.registry_user_info:
            conf["basic.auth.user.info"] = self.security.registry_user_info
        return conf

    def env(self) -> dict[str, str]:
        """Environment variables that point a child process (worker, tool) at this cluster, as this client."""
        return {BOOTSTRAP_ENV: self.bootstrap_servers, REGISTRY_ENV: self.schema_registry_url, **self.security.env()}

    def child_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` (e.g. os.environ) with this cluster's variables in place of any cluster or security
        variable it held: a child process connects as this client, whatever the parent's environment said."""
        ours = {BOOTSTRAP_ENV, REGISTRY_ENV, *SECURITY_ENVS}
        return {**{k: v for k, v in base.items() if k not in ours}, **self.env()}

    def exports(self) -> str:
        """Shell lines a user can paste (or `eval`) to point every tool at this cluster."""
        return "\n".join(f"export {name}={_shell_quote(value)}" for name, value in self.env().items())


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)
