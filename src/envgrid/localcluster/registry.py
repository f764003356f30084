"""Apicurio Registry 3.x (Quarkus fast-jar) with in-memory H2 storage on loopback.

Clients talk to its Confluent-compatible API: http://127.0.0.1:<port>/apis/ccompat/v7. Secured, it asks
for HTTP basic authentication against Quarkus' embedded users (one per principal, same password as its
SCRAM credential) and authorizes by role: the super user administers, the pipeline writes, everyone else
reads. No OIDC provider is needed for that; see the README.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .credentials import write_private
from .errors import RegistryNotReady
from .proc import HOST, alive, log_tail, spawn

MARKER = "quarkus-run.jar"
CCOMPAT = "/apis/ccompat/v7"
JVM_OPTS = ("-Xmx384m", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true")


def url(port: int) -> str:
    return f"http://{HOST}:{port}{CCOMPAT}"


def properties(port: int, management_port: int) -> dict[str, str]:
    return {
        "quarkus.http.host": HOST,
        "quarkus.http.port": str(port),
        "quarkus.management.host": HOST,  # /health/* lives on the management port
        "quarkus.management.port": str(management_port),
        "apicurio.storage.kind": "sql",  # the 3.x default: H2 in memory, gone when it stops
        "apicurio.storage.sql.kind": "h2",
        "apicurio.datasource.jdbc.initial-size": "2",
        "apicurio.datasource.jdbc.min-size": "2",
        "apicurio.datasource.jdbc.max-size": "20",
        "quarkus.otel.sdk.disabled": "true",  # no telemetry export
        # let tests and tools delete subjects through ccompat
        "apicurio.rest.deletion.group.enabled": "true",
        "apicurio.rest.deletion.artifact.enabled": "true",
        "apicurio.rest.deletion.artifact-version.enabled": "true",
    }


#: Apicurio's role of a principal kind (config/principals.yaml); every other kind reads only
ROLE_OF_KIND = {"super-user": "sr-admin", "pipeline": "sr-developer"}
READ_ONLY_ROLE = "sr-readonly"


def auth_properties(users: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Basic authentication and role-based authorization for `users` (name -> (password, role)).
    Apicurio 3.3 puts its "basic" mechanism first in its authentication chain when quarkus.http.auth.basic
    is on (Quarkus warns that the property is fixed at build time; Apicurio reads it at run time), and
    Quarkus' embedded users (enabled in Apicurio's build) give each user a password and roles."""
    props = {
        "quarkus.http.auth.basic": "true",
        "quarkus.security.users.embedded.plain-text": "true",
        "apicurio.auth.role-based-authorization": "true",
        "apicurio.auth.role-source": "token",  # the roles of the authenticated identity, here the embedded user's
        "apicurio.auth.anonymous-read-access.enabled": "false",
    }
    for name, (password, role) in users.items():
        props[f"quarkus.security.users.embedded.users.{name}"] = password
        props[f"quarkus.security.users.embedded.roles.{name}"] = role
    return props


def start(java: str, home: Path, var: Path, port: int, management_port: int,
          users: dict[str, tuple[str, str]] | None = None, users_file: Path | None = None) -> subprocess.Popen:
    """Start the registry (does not wait for it). With `users`, their passwords go to `users_file` (owner-only),
    read through quarkus.config.locations: never on the command line."""
    props = [f"-D{k}={v}" for k, v in properties(port, management_port).items()]
    if users:
        assert users_file is not None
        write_private(users_file, "".join(f"{k}={v}\n" for k, v in auth_properties(users).items()))
        props.append(f"-Dquarkus.config.locations={users_file}")
    return spawn([java, *JVM_OPTS, *props, "-jar", str(home / MARKER)],
                 var / "log" / "registry.log", cwd=home)


def basic_auth(user_info: str | None) -> dict[str, str]:
    """The Authorization header for "user:password" ({} for none)."""
    return {"Authorization": "Basic " + base64.b64encode(user_info.encode()).decode()} if user_info else {}


def _get(u: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        request = urllib.request.Request(u, headers=headers or {})  # noqa: S310 - an http:// URL built here
        with urllib.request.urlopen(request, timeout=2) as r:  # noqa: S310 - an http:// URL built here
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (OSError, ValueError):
        return 0, b""


def answers(port: int, management_port: int, user_info: str | None = None) -> bool:
    status, body = _get(f"http://{HOST}:{management_port}/health/ready")
    if status != 200 or json.loads(body or b"{}").get("status") != "UP":
        return False
    return _get(url(port) + "/subjects", basic_auth(user_info))[0] == 200


def wait_ready(port: int, management_port: int, pid: int, log_file: Path, timeout: float,
               user_info: str | None = None) -> float:
    """Block until /health/ready is UP and ccompat lists subjects (as `user_info`, "user:password", on a
    secured registry); return the seconds it took."""
    t0 = time.monotonic()
    while True:
        if not alive(pid, MARKER):
            raise RegistryNotReady(url(port), timeout, log_file,
                                   f" (the JVM, pid {pid}, exited; last lines:\n{log_tail(log_file)}\n)")
        if answers(port, management_port, user_info):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise RegistryNotReady(url(port), timeout, log_file)
        time.sleep(0.2)
