"""The local cluster's credentials: one generated password per principal, readable by the owner only.

    <var>/credentials/                 mode 0700
        credentials.json               mode 0600  {"mechanism": ..., "passwords": {principal: password}}
        <principal>.properties         mode 0600  a client properties file (ENVGRID_KAFKA_CONFIG, or Java
                                                   tools' --command-config): SASL and the registry's user
        registry-users.properties      mode 0600  the registry's users and roles (Quarkus embedded users)

Passwords stay across restarts of the local cluster (a pasted `eval "$(... env)"` keeps working); delete
the directory to get new ones. A principal added to config/principals.yaml gets one at the next start.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from .addresses import ClientSecurity

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"  # loopback only; see README: no TLS
DIR_NAME = "credentials"
STORE_NAME = "credentials.json"
REGISTRY_USERS = "registry-users.properties"  # written by the registry's start (registry.start)


def directory(var: Path) -> Path:
    return var / DIR_NAME


def ensure(var: Path, principals: Iterable[str]) -> dict[str, str]:
    """principal -> password for every principal: kept ones, plus new ones for principals without one.
    (Re)writes the store and every principal's properties file, owner-only."""
    folder = directory(var)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    passwords = read(var)
    wanted = list(dict.fromkeys(principals))
    for name in wanted:
        passwords.setdefault(name, secrets.token_urlsafe(24))  # 192 bits; [A-Za-z0-9_-]: safe in every file
    passwords = {name: passwords[name] for name in wanted}
    write_private(folder / STORE_NAME, json.dumps({"mechanism": MECHANISM, "passwords": passwords}, indent=2) + "\n")
    for stale in folder.glob("*.properties"):  # a principal no longer in config/principals.yaml
        if stale.stem not in passwords and stale.name != REGISTRY_USERS:
            stale.unlink()
    for name, password in passwords.items():
        write_private(properties_file(var, name), security(var, name, password).properties(
            f"envgrid local cluster: the credentials of principal `{name}` (User:{name}), SASL/{MECHANISM} on\n"
            f"127.0.0.1 (no TLS), and its schema registry user. export ENVGRID_KAFKA_CONFIG={properties_file(var, name)}"))
    return passwords


def read(var: Path) -> dict[str, str]:
    """principal -> password as stored ({} when there is no store yet)."""
    try:
        stored = json.loads((directory(var) / STORE_NAME).read_text())
        return {str(k): str(v) for k, v in stored.get("passwords", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def properties_file(var: Path, principal: str) -> Path:
    return directory(var) / f"{principal}.properties"


def security(var: Path, principal: str, password: str | None = None) -> ClientSecurity:
    """How `principal` connects to the local cluster (its password from the store unless given)."""
    password = password if password is not None else read(var).get(principal)
    if password is None:
        raise KeyError(f"no credentials for principal {principal!r} in {directory(var) / STORE_NAME}")
    return ClientSecurity(PROTOCOL, MECHANISM, principal, password, registry_user_info=f"{principal}:{password}",
                          config_file=str(properties_file(var, principal)))


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` so that only the owner can read it, at no moment readable by others."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    tmp.replace(path)
