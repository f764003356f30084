"""Cluster settings: the ONE reader of the variables naming the cluster and how to authenticate to it.

Addresses:
  ENVGRID_BOOTSTRAP_SERVERS and ENVGRID_SCHEMA_REGISTRY_URL
    both set  -> an external cluster; nothing local is ever started.
    neither   -> the local cluster of `envgrid.localcluster`: `running_cluster()` (the worker and the operator
                 commands) uses it only if it already runs; `ensure_cluster()` (the demo, the simulator, the
                 benchmarks) starts it when needed. A production worker never starts a cluster of its own.
                 The local cluster brings its own credentials (the `pipeline` principal's).
    only one  -> an error: half an external cluster is almost certainly a mistake.

Security of an external cluster, with the standard client keys:
  ENVGRID_KAFKA_CONFIG=<file>   a properties file with `security.protocol`, `sasl.mechanism`, `sasl.username`,
                                `sasl.password` (and optionally `ssl.ca.location`, `sasl.jaas.config` for
                                Java tools, `basic.auth.user.info` for the registry) — what
                                `python -m envgrid.localcluster env` points at;
  ENVGRID_KAFKA_SECURITY_PROTOCOL, ENVGRID_KAFKA_SASL_MECHANISM, ENVGRID_KAFKA_SASL_USERNAME,
  ENVGRID_KAFKA_SASL_PASSWORD, ENVGRID_SCHEMA_REGISTRY_USER_INFO (user:password)
                                one setting each; they override the file's.
  None of them: PLAINTEXT, no authentication. Half a SASL configuration is an error naming what is missing.

The case store's PostgreSQL (`envgrid.connectors.case_store`):
  ENVGRID_CASE_STORE_DSN        a libpq connection string or URI (`postgresql://user@host:5432/envgrid`; a password
                                is best kept in libpq's ~/.pgpass or a `passfile=`, not in the DSN)
    set    -> that database; nothing local is started.
    unset  -> with the local cluster, its PostgreSQL (`python -m envgrid.localcluster up --case-store`):
              `running_case_store()` (the sink) uses it only if it runs; `ensure_case_store()` (tests, benchmarks)
              starts it. With an external Kafka cluster the DSN must be set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from envgrid.localcluster.addresses import (
    BOOTSTRAP_ENV,
    KAFKA_CONFIG_ENV,
    PLAINTEXT,
    REGISTRY_ENV,
    SASL_MECHANISMS,
    SASL_PROTOCOLS,
    SECURITY_ENV_KEYS,
    SECURITY_ENVS,
    SECURITY_PROTOCOL_ENV,
    ClientSecurity,
    ClusterAddresses,
)

__all__ = ["CASE_STORE_DSN_ENV", "ClientSecurity", "ClusterAddresses", "ClusterSettingsError", "case_store_settings", "dsn_for_logs",
           "client_security", "cluster_settings", "ensure_case_store", "ensure_cluster", "read_client_properties",
           "running_case_store", "running_cluster"]

CASE_STORE_DSN_ENV = "ENVGRID_CASE_STORE_DSN"

#: keys a client properties file may hold; anything else is refused rather than silently ignored
FILE_KEYS = ("security.protocol", "sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.location",
             "sasl.jaas.config", "basic.auth.credentials.source", "basic.auth.user.info")
_ALIASES = {"sasl.mechanisms": "sasl.mechanism"}  # librdkafka's older spelling
_JAAS_FIELD = re.compile(r'\b(username|password)\s*=\s*"([^"]*)"')


class ClusterSettingsError(ValueError):
    pass


def cluster_settings(env: Mapping[str, str] | None = None) -> ClusterAddresses | None:
    """The external cluster named by the environment, or None when a local one should be used."""
    env = os.environ if env is None else env
    bootstrap = env.get(BOOTSTRAP_ENV, "").strip()
    registry = env.get(REGISTRY_ENV, "").strip().rstrip("/")
    if bootstrap and registry:
        return ClusterAddresses(bootstrap, registry, client_security(env))
    if bootstrap or registry:
        missing = REGISTRY_ENV if bootstrap else BOOTSTRAP_ENV
        raise ClusterSettingsError(
            f"{BOOTSTRAP_ENV if bootstrap else REGISTRY_ENV} is set but {missing} is not. Set both to use "
            f"an external cluster, or unset both to use the local one (python -m envgrid.localcluster up).")
    stray = [name for name in SECURITY_ENVS if env.get(name, "").strip()]
    if stray:
        raise ClusterSettingsError(
            f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set but {BOOTSTRAP_ENV} and {REGISTRY_ENV} are "
            f"not: security settings are for an external cluster. Set both addresses too, or unset them to use "
            f"the local cluster, which brings its own credentials (`eval \"$(python -m envgrid.localcluster env)\"` "
            f"sets all of them).")
    return None


def client_security(env: Mapping[str, str] | None = None) -> ClientSecurity:
    """Security settings from ENVGRID_KAFKA_CONFIG's file, then the single variables, checked whole."""
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    origin: dict[str, str] = {}
    config_file = env.get(KAFKA_CONFIG_ENV, "").strip()
    if config_file:
        for key, value in read_client_properties(Path(config_file)).items():
            values[key], origin[key] = value, f"{key} in {config_file} ({KAFKA_CONFIG_ENV})"
    overridden = False
    for name, key in SECURITY_ENV_KEYS.items():
        if env.get(name, "").strip():
            values[key], origin[key] = env[name].strip(), name
            overridden = True
    security = _security_from(values, origin)
    if config_file and not overridden:
        security = replace(security, config_file=str(Path(config_file).resolve()))
    return security


def read_client_properties(path: Path) -> dict[str, str]:
    """The settings of a Java-style client properties file (`key=value`, `key: value`, `#`/`!` comments,
    trailing-backslash continuations), limited to FILE_KEYS."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ClusterSettingsError(f"{KAFKA_CONFIG_ENV}={path}: cannot read it ({error.strerror or error}). "
                                   f"Point it at a client properties file, or unset it.") from None
    values: dict[str, str] = {}
    for number, line in _logical_lines(text):
        match = re.match(r"([^=:\s]+)\s*[=:\s]\s*(.*)$", line)
        if not match:
            raise ClusterSettingsError(f"{path}, line {number}: expected key=value, found {line[:40]!r}")
        key, value = _ALIASES.get(match.group(1), match.group(1)), match.group(2).strip()
        if key not in FILE_KEYS:
            hint = f" (set {BOOTSTRAP_ENV} instead)" if key == "bootstrap.servers" else ""
            raise ClusterSettingsError(f"{path}, line {number}: {key} is not a setting envgrid reads{hint}; "
                                       f"it reads {', '.join(FILE_KEYS)}")
        values[key] = value
    return values


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


def case_store_settings(env: Mapping[str, str] | None = None) -> str | None:
    """The case store's DSN named by the environment, or None when the local one should be used; an external
    Kafka cluster without a DSN is an error (nothing local is started next to an external cluster)."""
    env = os.environ if env is None else env
    dsn = env.get(CASE_STORE_DSN_ENV, "").strip()
    if dsn:
        return dsn
    if cluster_settings(env) is not None:
        raise ClusterSettingsError(
            f"{BOOTSTRAP_ENV} names an external cluster but {CASE_STORE_DSN_ENV} is not set: set it to the case "
            f"store's PostgreSQL (a libpq DSN or postgresql:// URI).")
    return None


def dsn_for_logs(dsn: str) -> str:
    """The DSN without a password it may hold (for logs and screens)."""
    return re.sub(r"(password=)\S+|(://[^:/@]+:)[^@]+@", lambda m: (m.group(1) or m.group(2)) + "***" +
                  ("" if m.group(1) else "@"), dsn)


def running_case_store(env: Mapping[str, str] | None = None) -> str:
    """The configured DSN, else the local cluster's PostgreSQL if it runs; never starts one."""
    configured = case_store_settings(env)
    if configured is not None:
        return configured
    from envgrid.localcluster import postgres
    from envgrid.localcluster.cluster import LocalCluster

    local = postgres.running_dsn(LocalCluster().status())
    if local is None:
        raise ClusterSettingsError(
            f"No case store configured: set {CASE_STORE_DSN_ENV} to its PostgreSQL (a libpq DSN or postgresql:// "
            f"URI). For local work, start the local one first (`python -m envgrid.localcluster up --case-store`); "
            f"this command does not start one by itself.")
    return local


def ensure_case_store(env: Mapping[str, str] | None = None) -> str:
    """The configured DSN, else the local cluster's PostgreSQL (started, with the cluster, when needed)."""
    configured = case_store_settings(env)
    if configured is not None:
        return configured
    from envgrid.localcluster.cluster import LocalCluster

    return LocalCluster().case_store_up(owner="cli")  # as ensure_cluster: left running, `down` stops it


# --- helpers -------------------------------------------------------------------------------------


def _security_from(values: dict[str, str], origin: dict[str, str]) -> ClientSecurity:
    if "sasl.jaas.config" in values:  # a Java tool's file: take what librdkafka's keys leave unsaid
        for field_name, value in _JAAS_FIELD.findall(values["sasl.jaas.config"]):
            key = f"sasl.{field_name}"
            if key not in values:
                values[key], origin[key] = value, origin["sasl.jaas.config"]
    protocol = values.get("security.protocol", "").upper()
    sasl_keys = [key for key in ("sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.location")
                 if key in values]
    if not protocol:
        if sasl_keys:
            raise ClusterSettingsError(
                f"{', '.join(origin[k] for k in sasl_keys)} set, but no security.protocol: set "
                f"{SECURITY_PROTOCOL_ENV} (or security.protocol in the file) to SASL_SSL, or SASL_PLAINTEXT on a "
                f"trusted network such as loopback.")
        protocol = PLAINTEXT
    if protocol != PLAINTEXT and protocol not in SASL_PROTOCOLS:
        raise ClusterSettingsError(f"{origin['security.protocol']} is {values['security.protocol']!r}; envgrid "
                                   f"supports {', '.join((PLAINTEXT, *SASL_PROTOCOLS))}.")
    if protocol == PLAINTEXT and sasl_keys:
        raise ClusterSettingsError(
            f"{', '.join(origin[k] for k in sasl_keys)} set, but security.protocol is PLAINTEXT, which sends no "
            f"credentials: set it to SASL_SSL or SASL_PLAINTEXT, or remove the SASL settings.")
    if protocol in SASL_PROTOCOLS:
        missing = [key for key in ("sasl.mechanism", "sasl.username", "sasl.password") if not values.get(key)]
        if missing:
            raise ClusterSettingsError(
                f"security.protocol is {protocol} ({origin['security.protocol']}) but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing: give all of sasl.mechanism, sasl.username and "
                f"sasl.password (ENVGRID_KAFKA_SASL_MECHANISM, _USERNAME, _PASSWORD, or in {KAFKA_CONFIG_ENV}'s file).")
        mechanism = values["sasl.mechanism"].upper()
        if mechanism not in SASL_MECHANISMS:
            raise ClusterSettingsError(f"{origin['sasl.mechanism']} is {values['sasl.mechanism']!r}; envgrid "
                                       f"supports {', '.join(SASL_MECHANISMS)}.")
        values["sasl.mechanism"] = mechanism
    if "ssl.ca.location" in values and protocol != "SASL_SSL":
        raise ClusterSettingsError(f"{origin['ssl.ca.location']} set, but security.protocol is {protocol}: "
                                   f"a CA is only used with SASL_SSL.")
    source = values.get("basic.auth.credentials.source", "USER_INFO").upper()
    if source != "USER_INFO":
        raise ClusterSettingsError(f"{origin['basic.auth.credentials.source']} is {source!r}; envgrid reads the "
                                   f"registry's credentials from basic.auth.user.info (USER_INFO) only.")
    user_info = values.get("basic.auth.user.info")
    if user_info is not None and ":" not in user_info:
        raise ClusterSettingsError(f"{origin['basic.auth.user.info']} must be user:password.")
    return ClientSecurity(protocol, values.get("sasl.mechanism"), values.get("sasl.username"),
                          values.get("sasl.password"), values.get("ssl.ca.location"), user_info)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every setting, continuations joined, comments and blanks left out."""
    result: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if not pending and (not line or line[0] in "#!"):
            continue
        if not pending:
            start = number
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:  # an odd number of backslashes continues the line
            pending += line[:-1]
            continue
        result.append((start, pending + line))
        pending = ""
    if pending:
        result.append((start, pending))
    return result
