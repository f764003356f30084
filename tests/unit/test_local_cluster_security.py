"""The local cluster's security, without starting it: no listener without a password, the authorizer on,
credentials owner-only, passwords off command lines, and plaintext only when asked for."""

from __future__ import annotations

import stat

import pytest

from envgrid.connectors.settings import client_security
from envgrid.localcluster import bootstrap_acls, broker, credentials, registry
from envgrid.localcluster.cluster import LocalCluster


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_the_secured_broker_has_no_unauthenticated_listener(tmp_path):
    props = _properties(broker.server_properties(9092, 9093, tmp_path, ("admin", "pw")))
    assert props["listeners"] == "CLIENT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    protocols = dict(pair.split(":") for pair in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "every listener asks for a password"
    assert props["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["super.users"] == "User:admin" and props["allow.everyone.if.no.acl.found"] == "false"
    assert all(address.split("//")[1].startswith("127.0.0.1:") for address in props["listeners"].split(","))


def test_plaintext_is_what_no_super_user_means(tmp_path):
    props = _properties(broker.server_properties(9092, 9093, tmp_path))
    assert props["listeners"].startswith("PLAINTEXT://") and "authorizer.class.name" not in props
    assert LocalCluster(var_dir=tmp_path).security == "sasl", "secured is the default"
    with pytest.raises(ValueError, match="security must be one of sasl, plaintext"):
        LocalCluster(var_dir=tmp_path, security="none")


def test_credentials_are_owner_only_stable_and_readable_as_client_settings(tmp_path):
    first = credentials.ensure(tmp_path, ["admin", "pipeline"])
    folder = credentials.directory(tmp_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    again = credentials.ensure(tmp_path, ["admin", "pipeline", "auditor"])
    assert {k: again[k] for k in first} == first and again["auditor"] not in first.values()
    security = client_security({"ENVGRID_KAFKA_CONFIG": str(credentials.properties_file(tmp_path, "auditor"))})
    assert (security.protocol, security.mechanism, security.username, security.password) == \
        ("SASL_PLAINTEXT", "SCRAM-SHA-512", "auditor", again["auditor"])
    assert security.registry_user_info == f"auditor:{again['auditor']}"
    credentials.ensure(tmp_path, ["admin", "pipeline"])  # auditor left principals.yaml
    assert not credentials.properties_file(tmp_path, "auditor").exists() and "auditor" not in credentials.read(tmp_path)


def test_the_registry_knows_every_principal_by_role_with_passwords_in_a_file(tmp_path, monkeypatch):
    spawned = []
    monkeypatch.setattr(registry, "spawn", lambda argv, log, cwd: spawned.append(argv))
    users = {"admin": ("a-pw", "sr-admin"), "pipeline": ("p-pw", "sr-developer"), "auditor": ("x-pw", "sr-readonly")}
    registry.start("java", tmp_path, tmp_path, 8081, 8082, users, tmp_path / "users.properties")
    assert not any("pw" in arg for arg in spawned[0]), "no password on the command line"
    assert f"-Dquarkus.config.locations={tmp_path / 'users.properties'}" in spawned[0]
    props = _properties((tmp_path / "users.properties").read_text())
    assert stat.S_IMODE((tmp_path / "users.properties").stat().st_mode) == 0o600
    assert props["quarkus.security.users.embedded.roles.pipeline"] == "sr-developer"
    assert props["quarkus.security.users.embedded.users.auditor"] == "x-pw"
    assert props["apicurio.auth.role-based-authorization"] == "true"
    assert props["apicurio.auth.anonymous-read-access.enabled"] == "false"


def test_the_bootstrap_acls_grant_the_pipeline_alone():
    bindings = bootstrap_acls.bootstrap_acls("pipeline")
    assert {b.restype.name for b in bindings} == {"TOPIC", "GROUP", "TRANSACTIONAL_ID"}
    assert {(b.principal, b.name, b.operation.name, b.permission_type.name) for b in bindings} == \
        {("User:pipeline", "*", "ALL", "ALLOW")}
