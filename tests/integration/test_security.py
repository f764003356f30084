"""Authentication on the real broker and registry: who is let in, who is refused, and how it shows.

The local cluster runs SASL/SCRAM-SHA-512 with the StandardAuthorizer (see src/envgrid/localcluster/README.md).
A client without credentials or with a wrong password cannot list topics, produce or consume; the pipeline
principal can; a principal with a password but no ACL is let in and refused every topic; the credentials
are readable by their owner only; the registry asks for a password and lets only the pipeline write.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from envgrid.localcluster.cluster import LocalCluster

pytestmark = pytest.mark.integration

SCHEMA = Schema('{"type": "record", "name": "Probe", "namespace": "it.security", "fields": []}', "AVRO")


@pytest.fixture(scope="module")
def secured(cluster):
    if not cluster.security.sasl:
        pytest.skip("the cluster under test does not use SASL")
    return cluster


@pytest.fixture(scope="module")
def local(cluster_is_local) -> LocalCluster:
    if not cluster_is_local:
        pytest.skip("checks the local cluster's own setup")
    return LocalCluster()


def _refused(config: dict, timeout: float = 6.0) -> list[KafkaError]:
    """Ask for metadata; it must fail. Returns the errors librdkafka reported on the way."""
    errors: list[KafkaError] = []
    admin = AdminClient({**config, "error_cb": errors.append, "log_level": 0})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=timeout)
    deadline = time.monotonic() + timeout
    while not errors and time.monotonic() < deadline:
        admin.poll(0.5)  # serves error_cb
    return errors


def _produce(config: dict, topic: str) -> KafkaError | None:
    """Produce one record and return its delivery error (None when it was written)."""
    outcome: list[KafkaError | None] = []
    producer = Producer({**config, "message.timeout.ms": 5000, "log_level": 0, "error_cb": lambda e: None})
    producer.produce(topic, b"probe", on_delivery=lambda error, message: outcome.append(error))
    producer.flush(15)
    return outcome[0] if outcome else KafkaError(KafkaError._MSG_TIMED_OUT)


def _consume_error(config: dict, topic: str, group: str, timeout: float = 15.0) -> KafkaError | None:
    """Subscribe and poll; the first error a consumer reports (None if it read a record)."""
    errors: list[KafkaError] = []
    consumer = Consumer({**config, "group.id": group, "auto.offset.reset": "earliest", "log_level": 0,
                         "error_cb": errors.append})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not errors:
            message = consumer.poll(0.5)
            if message is not None:
                if message.error():
                    return message.error()
                return None
        return errors[0] if errors else KafkaError(KafkaError._TIMED_OUT)
    finally:
        consumer.close()


def test_a_client_without_credentials_is_refused(secured, create_topic, unique_name):
    topic = create_topic(unique_name("secured"))
    plain = {"bootstrap.servers": secured.bootstrap_servers}
    errors = _refused(plain)
    assert {e.code() for e in errors} & {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}, errors
    assert _produce(plain, topic).code() == KafkaError._MSG_TIMED_OUT
    assert _consume_error(plain, topic, unique_name("group"), timeout=8).code() in \
        (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT)


@pytest.mark.parametrize("who", ["wrong password", "unknown user"])
def test_a_wrong_password_is_refused_with_an_authentication_error(secured, create_topic, unique_name, who):
    topic = create_topic(unique_name("secured"))
    wrong = secured.kafka_config({"sasl.password": "not-the-password"} if who == "wrong password"
                                 else {"sasl.username": "nobody-" + unique_name("u")[-8:]})
    errors = _refused(wrong)
    authentication = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert authentication, errors
    assert "Authentication failed" in authentication[0].str() and "SCRAM-SHA-512" in authentication[0].str()
    assert _produce(wrong, topic) is not None
    assert _consume_error(wrong, topic, unique_name("group")).code() == KafkaError._AUTHENTICATION


def test_the_pipeline_principal_lists_produces_and_consumes(secured, create_topic, unique_name):
    topic = create_topic(unique_name("secured"))
    assert topic in AdminClient(secured.kafka_config()).list_topics(timeout=10).topics
    assert _produce(secured.kafka_config(), topic) is None
    assert _consume_error(secured.kafka_config(), topic, unique_name("group"), timeout=30) is None


def test_a_principal_without_acls_is_let_in_and_refused_every_topic(secured, local, create_topic, unique_name):
    topic = create_topic(unique_name("secured"))
    department = local.addresses("dept-epb").kafka_config()
    listed = AdminClient(department).list_topics(timeout=10).topics  # authenticated: metadata answers
    assert topic not in listed, "a topic it may not describe is not even listed"
    assert _produce(department, topic).code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _consume_error(department, topic, unique_name("group")).code() in \
        (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED)


def test_the_controller_listener_wants_a_password_too(secured, local):
    controller = local.status()["broker"]["controller_port"]
    _refused({"bootstrap.servers": f"127.0.0.1:{controller}"})


def test_only_the_pipeline_may_do_everything_and_nobody_is_denied_by_a_deny_rule(secured, local):
    """The local cluster's start-up ACLs are the pipeline's grant; whatever else is there (the demo's or a
    test's `catalogue apply --acls`) names topics one by one, except ops' right to describe everything."""
    admin = AdminClient(local.addresses("admin").kafka_config())
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    acls = {(a.restype.name, a.name, a.principal, a.operation.name, a.permission_type.name)
            for a in admin.describe_acls(everything, request_timeout=10).result()}
    pipeline = {(resource, "*", "User:pipeline", "ALL", "ALLOW") for resource in ("TOPIC", "GROUP", "TRANSACTIONAL_ID")}
    assert pipeline <= acls
    assert {a for a in acls if a[2] == "User:pipeline"} == pipeline
    assert {a[4] for a in acls} == {"ALLOW"}
    wildcards = {a for a in acls if a[1] == "*"} - pipeline
    assert all(a[2] == "User:ops" and a[3] in ("DESCRIBE", "DESCRIBE_CONFIGS") for a in wildcards), wildcards
    assert not [a for a in acls if a[3] == "ALL" and a[2] != "User:pipeline"]


def test_the_credentials_are_readable_by_their_owner_only(local):
    folder = local.credentials_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [*folder.iterdir(), local.var / "kafka" / "server.properties"]
    assert len(files) > 30  # a properties file per principal, the store, the registry's users, the broker's config
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} is {oct(path.stat().st_mode)}"
        assert path.stat().st_uid == os.getuid()


def test_the_registry_wants_a_password_and_lets_only_the_pipeline_write(secured, local, unique_name):
    subject = unique_name("subject") + "-value"
    anonymous = SchemaRegistryClient({"url": secured.schema_registry_url})
    with pytest.raises(SchemaRegistryError) as refused:
        anonymous.get_subjects()
    assert refused.value.http_status_code == 401
    wrong = SchemaRegistryClient({**secured.registry_config(), "basic.auth.user.info": "pipeline:wrong"})
    with pytest.raises(SchemaRegistryError) as refused:
        wrong.get_subjects()
    assert refused.value.http_status_code == 401
    auditor = SchemaRegistryClient(local.addresses("auditor").registry_config())
    with pytest.raises(SchemaRegistryError) as refused:
        auditor.register_schema(subject, SCHEMA)
    assert refused.value.http_status_code == 403
    schema_id = SchemaRegistryClient(secured.registry_config()).register_schema(subject, SCHEMA)
    assert subject in auditor.get_subjects() and auditor.get_schema(schema_id).schema_str  # everyone reads


def test_env_prints_what_a_shell_needs(secured, local, tmp_path):
    """`eval "$(python -m envgrid.localcluster env)"` gives a shell the pipeline principal: its properties file,
    no password in the environment, and a client built from it gets in."""
    script = (f'eval "$({sys.executable} -m envgrid.localcluster env)" && env | grep ^ENVGRID_ | sort && '
              f'{sys.executable} -c "from confluent_kafka.admin import AdminClient; '
              f'from envgrid.connectors.settings import cluster_settings; '
              f'print(len(AdminClient(cluster_settings().kafka_config()).list_topics(timeout=10).brokers))"')
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ENVGRID_") or k == "ENVGRID_VAR_DIR"}
    clean["ENVGRID_VAR_DIR"] = str(local.var)
    result = subprocess.run(["bash", "-c", script], env=clean, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("ENVGRID_"))
    assert exported["ENVGRID_KAFKA_CONFIG"] == str(local.credentials_dir() / "pipeline.properties")
    assert not {"ENVGRID_KAFKA_SASL_PASSWORD", "ENVGRID_SCHEMA_REGISTRY_USER_INFO"} & set(exported)
    assert result.stdout.strip().splitlines()[-1] == "1", "the shell's client reached the broker"
