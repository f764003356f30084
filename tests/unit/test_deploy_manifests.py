"""deploy/k8s/ is what the catalogue and the principals give: regenerated, it is byte for byte the same, and what
it says about topics, users and the worker agrees with the code that reads the same data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from envgrid.connectors.acls import Acl, plan_acls
from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.principals import load_principals
from envgrid.connectors.pseudonym_key import read_key_file
from envgrid.connectors.settings import FILE_KEYS, client_security, read_client_properties
from envgrid.deploy import manifests, workloads
from envgrid.deploy.settings import Deployment
from envgrid.deploy.strimzi import ManifestError, object_name
from envgrid.localcluster.registry import auth_properties

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
SYSTEMD = REPO_ROOT / "deploy" / "systemd"


def _resources(name: str) -> list[dict]:
    return list(yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")))


def _production() -> Catalogue:
    return Catalogue.load(profile="production", env={})


def test_committed_manifests_are_what_the_catalogue_gives_now() -> None:
    stale = manifests.differences(K8S)
    assert not stale, (f"deploy/k8s/{', '.join(stale)} differ from config/topics.yaml and config/principals.yaml: "
                       f"run `python -m envgrid.deploy.manifests write` and commit the result")


def test_check_names_changed_missing_and_stale_files(tmp_path: Path) -> None:
    assert manifests.write(tmp_path) == list(manifests.render())
    assert manifests.differences(tmp_path) == []
    (tmp_path / "worker.yaml").write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / "kafka-users.yaml").unlink()
    (tmp_path / "old.yaml").write_text(manifests.HEADER + "kind: Gone\n", encoding="utf-8")
    (tmp_path / "mine.yaml").write_text("kind: NotGenerated\n", encoding="utf-8")  # not ours: left alone
    assert sorted(manifests.differences(tmp_path)) == ["kafka-users.yaml", "old.yaml", "worker.yaml"]
    assert manifests.main(["check", "--out", str(tmp_path)]) == 1
    manifests.write(tmp_path)
    assert manifests.main(["check", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "old.yaml").exists() and (tmp_path / "mine.yaml").exists()


def test_every_catalogue_topic_is_a_kafkatopic_with_its_settings() -> None:
    topics = {t["spec"]["topicName"]: t for t in _resources("kafka-topics.yaml")}
    catalogue = _production()
    assert set(topics) == set(catalogue.names())
    for spec in catalogue.topics:
        topic = topics[spec.name]["spec"]
        assert (topic["partitions"], topic["replicas"], topic["config"]) == \
            (spec.partitions, 3, dict(spec.configs)), spec.name
        assert topic["config"]["min.insync.replicas"] == "2"


def test_every_principal_is_a_kafkauser_with_exactly_its_planned_acls() -> None:
    users = {u["metadata"]["name"]: u for u in _resources("kafka-users.yaml")}
    principals = load_principals()
    assert list(users) == list(principals.names())
    back = {Acl(f"User:{name}", {"topic": "TOPIC", "group": "GROUP", "transactionalId": "TRANSACTIONAL_ID"}[
                rule["resource"]["type"]], {"literal": "LITERAL", "prefix": "PREFIXED"}[rule["resource"]["patternType"]],
                rule["resource"]["name"], {"DescribeConfigs": "DESCRIBE_CONFIGS"}.get(operation, operation.upper()))
            for name, user in users.items() for rule in user["spec"].get("authorization", {}).get("acls", [])
            for operation in rule["operations"]}
    assert back == set(plan_acls(_production(), principals))
    for name, user in users.items():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert ("authorization" in user["spec"]) == (principals[name].kind != "super-user")
    (kafka, pool) = _resources("kafka-cluster.yaml")
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple", "superUsers": [principals.only("super-user").name]}
    assert pool["spec"]["roles"] == ["controller", "broker"] and pool["spec"]["replicas"] == 3


def test_a_name_kubernetes_cannot_take_is_refused_with_where_to_change_it() -> None:
    assert object_name("envgrid.dept.epb.cases", "topic") == "envgrid.dept.epb.cases"
    with pytest.raises(ManifestError, match=r"principal Ops_Team: 'Ops_Team' is not a valid Kubernetes object name.*principals.yaml"):
        object_name("Ops_Team", "principal Ops_Team")


def test_the_worker_init_writes_what_the_worker_reads(tmp_path: Path) -> None:
    """The init container's script, run for real (paths moved under tmp_path): the properties file passes the
    worker's own reader, and the key file its owner-only check."""
    (statefulset, _service, _budget) = _resources("worker.yaml")
    pod = statefulset["spec"]["template"]["spec"]
    script = pod["initContainers"][0]["command"][2]
    for directory in ("run/envgrid", "etc/envgrid/kafka-user", "etc/envgrid/pseudonym"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "etc/envgrid/kafka-user/password").write_text("s3cretPassw0rd")
    (tmp_path / "etc/envgrid/pseudonym/pseudonym.key").write_text("k" * 64)
    (tmp_path / "etc/envgrid/pseudonym/pseudonym.key").chmod(0o440)
    moved = script.replace("/run/envgrid", f"{tmp_path}/run/envgrid").replace("/etc/envgrid", f"{tmp_path}/etc/envgrid")
    subprocess.run(["/bin/sh", "-c", moved], check=True, timeout=30)
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    properties = read_client_properties(tmp_path / env["ENVGRID_KAFKA_CONFIG"].lstrip("/"))
    assert set(properties) <= set(FILE_KEYS)
    security = client_security({"ENVGRID_KAFKA_CONFIG": str(tmp_path / env["ENVGRID_KAFKA_CONFIG"].lstrip("/"))})
    assert (security.protocol, security.mechanism, security.username, security.password) == \
        ("SASL_SSL", "SCRAM-SHA-512", "pipeline", "s3cretPassw0rd")
    assert properties["basic.auth.user.info"] == "pipeline:s3cretPassw0rd"
    assert read_key_file(tmp_path / env["ENVGRID_PSEUDONYM_KEY_FILE"].lstrip("/")) == b"k" * 64
    assert env["ENVGRID_TOPIC_PROFILE"] == "production"


def test_the_worker_keeps_its_tables_on_its_volume_and_serves_metrics_to_the_pod_network() -> None:
    (statefulset, service, _budget) = _resources("worker.yaml")
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    datadir = command[command.index("--datadir") + 1]
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == claim["metadata"]["name"]]
    assert datadir.startswith(mount["mountPath"] + "/")
    assert command[command.index("--metrics-host") + 1] == "0.0.0.0"
    port = int(command[command.index("--metrics-port") + 1])
    assert container["ports"] == [{"name": "metrics", "containerPort": port}]
    assert service["spec"]["ports"][0]["port"] == port
    assert "replicas" not in statefulset["spec"]  # KEDA owns it


def test_the_worker_commands_are_ones_the_worker_takes() -> None:
    """Every flag of the StatefulSet's and the systemd unit's command is one the worker's parser knows."""
    from envgrid.streams.worker import build_parser

    (statefulset, *_rest) = _resources("worker.yaml")
    command = statefulset["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[0] == "envgrid-worker"
    assert build_parser().parse_args(command[1:]).metrics_host == "0.0.0.0"
    unit = (SYSTEMD / "envgrid-worker@.service").read_text(encoding="utf-8")
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    arguments = exec_start.replace("%i", "9464").split()[1:]
    assert build_parser().parse_args(arguments).metrics_port == 9464


def test_keda_watches_the_workers_group_and_never_outgrows_the_partitions() -> None:
    (config, authentication, scaled) = _resources("worker-autoscaling.yaml")
    (statefulset, *_rest) = _resources("worker.yaml")
    command = statefulset["spec"]["template"]["spec"]["containers"][0]["command"]
    (router, case_desk) = scaled["spec"]["triggers"]
    app_id = command[command.index("--app-id") + 1]
    assert (router["metadata"]["consumerGroup"], case_desk["metadata"]["consumerGroup"]) == (f"{app_id}-router", app_id)
    assert scaled["spec"]["scaleTargetRef"]["name"] == statefulset["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == 1
    catalogue = _production()
    assert scaled["spec"]["maxReplicaCount"] == workloads.max_workers(catalogue) == 12
    assert config["data"] == {"username": "ops", "sasl": "scram_sha512", "tls": "enable"}
    assert load_principals()["ops"].grants.describe_all  # lag needs describing every group and topic
    assert {t["authenticationRef"]["name"] for t in (router, case_desk)} == {authentication["metadata"]["name"]}


def test_the_registry_knows_every_principal_with_the_local_registrys_roles() -> None:
    (config, deployment, _service) = _resources("registry.yaml")
    script = deployment["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
    for principal in load_principals():
        assert f"users.{principal.name}=%s" in script and f"/etc/registry/users/{principal.name})" in script
    assert "roles.admin=sr-admin" in script and "roles.pipeline=sr-developer" in script
    assert "roles.ops=sr-readonly" in script
    settings = dict(line.split("=", 1) for line in config["data"]["registry.properties"].splitlines())
    assert auth_properties({}).items() <= settings.items()


def test_the_single_host_registry_example_sets_authentication_like_the_local_registry() -> None:
    lines = (SYSTEMD / "registry.properties.example").read_text(encoding="utf-8").splitlines()
    settings = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert auth_properties({}).items() <= settings.items()


def test_generation_takes_another_deployment() -> None:
    texts = manifests.render(Deployment(namespace="city", cluster="kafka", topic_prefix="wz"))
    assert "topicName: wz.case.history" in texts["kafka-topics.yaml"]
    assert "kafka-kafka-bootstrap.city.svc:9093" in texts["worker.yaml"]
    assert manifests.kinds(texts)["KafkaTopic"] == len(_production().topics)
