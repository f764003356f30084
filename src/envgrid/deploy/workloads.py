"""What runs on the cluster besides Kafka: the schema registry, the pipeline worker and its autoscaling.

    registry(principals, deployment)   # Apicurio Registry: ConfigMap, Deployment, Service
    worker(catalogue, principals, deployment)   # StatefulSet (RocksDB on a volume per pod), Service, PDB
    autoscaling(catalogue, principals, deployment)   # KEDA: ConfigMap, TriggerAuthentication, ScaledObject

Credentials are never in these manifests: they come from the Secrets that Strimzi's User Operator keeps for
each KafkaUser (the principal's name, key `password`), Strimzi's cluster CA secret, and two Secrets the
operator of the cluster makes (the pseudonym key, the registry's database); see deploy/k8s/README.md.
"""

from __future__ import annotations

from typing import Any

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.principals import Principals
from envgrid.deploy.settings import BUSYBOX_IMAGE, KEDA_API, REGISTRY_IMAGE, Deployment
from envgrid.localcluster.credentials import MECHANISM
from envgrid.localcluster.registry import READ_ONLY_ROLE, ROLE_OF_KIND, auth_properties
from envgrid.streams.groups import case_desk_group, router_group

Manifest = dict[str, Any]

WORKER = "envgrid-worker"
PSEUDONYM_SECRET = "envgrid-pseudonym-key"  # keys: pseudonym.key (≥ 32 bytes of secret), version (e.g. k1)
REGISTRY_DB_SECRET = "envgrid-registry-db"  # keys: url (jdbc:postgresql://...), username, password
_RUN = "/run/envgrid"  # in memory, owner-only: the client properties and the key, written by the init container
_STATE = "/var/lib/envgrid"
_USER = 10001  # the worker image's user (deploy/container/Containerfile)
_REGISTRY_USER = 1001  # the Apicurio image's user
_KEDA_SASL = {"SCRAM-SHA-512": "scram_sha512", "SCRAM-SHA-256": "scram_sha256"}  # KEDA's kafka scaler spelling
_GROUP_READ = 0o440  # mounted Secrets: readable by the pod's fsGroup (the container's user is not their owner)


def client_properties(principal: str, deployment: Deployment) -> dict[str, str]:
    """The worker's client properties file (ENVGRID_KAFKA_CONFIG), `$PASSWORD` standing for the principal's
    SCRAM password, which the init container reads from the KafkaUser's Secret."""
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": MECHANISM,
        "sasl.username": principal,
        "sasl.password": "$PASSWORD",
        "ssl.ca.location": "/etc/envgrid/cluster-ca/ca.crt",
        "basic.auth.user.info": f"{principal}:$PASSWORD",  # the registry knows every principal by its SCRAM password
    }


def worker(catalogue: Catalogue, principals: Principals, deployment: Deployment) -> list[Manifest]:
    """The pipeline worker: every replica runs the router (librdkafka, consumer group `<app id>-router`) and the
    case desk and SLA ticker (faust, group `<app id>`); each group shares its partitions among the replicas, and
    the ticker's watermark reads both groups' progress. The case desk's tables live in RocksDB on the pod's own
    volume, so a restarted pod recovers from where it stopped instead of replaying the changelogs; the router
    reloads the incident indexes of its partitions from its compacted changelog."""
    pipeline = principals.only("pipeline").name
    labels = {"app.kubernetes.io/name": WORKER, "app.kubernetes.io/part-of": "envgrid"}
    properties = "\n".join(f"{key}={value}" for key, value in client_properties(pipeline, deployment).items())
    init_script = (
        "set -eu\numask 077\n"
        f'PASSWORD="$(cat /etc/envgrid/kafka-user/password)"\n'
        f"cat > {_RUN}/client.properties <<EOF\n{properties}\nEOF\n"
        f"cp /etc/envgrid/pseudonym/pseudonym.key {_RUN}/pseudonym.key\n"
        f"chmod 600 {_RUN}/pseudonym.key\n"
    )
    env = [
        {"name": "ENVGRID_BOOTSTRAP_SERVERS", "value": deployment.bootstrap},
        {"name": "ENVGRID_SCHEMA_REGISTRY_URL", "value": deployment.registry_url},
        {"name": "ENVGRID_KAFKA_CONFIG", "value": f"{_RUN}/client.properties"},
        {"name": "ENVGRID_TOPIC_PREFIX", "value": deployment.topic_prefix},
        {"name": "ENVGRID_TOPIC_PROFILE", "value": deployment.topic_profile},
        {"name": "ENVGRID_PSEUDONYM_KEY_FILE", "value": f"{_RUN}/pseudonym.key"},
        {"name": "ENVGRID_PSEUDONYM_KEY_VERSION",
         "valueFrom": {"secretKeyRef": {"name": PSEUDONYM_SECRET, "key": "version"}}},
        {"name": "ENVGRID_VAR_DIR", "value": _STATE},
    ]
    command = ["envgrid-worker", "--app-id", deployment.app_id, "--processors", "router,cases,ticker",
               "--datadir", f"{_STATE}/state", "--metrics-port", str(deployment.metrics_port),
               "--metrics-host", "0.0.0.0", "--clock", "wall"]  # scraped and probed from outside the pod
    metrics_port = {"tcpSocket": {"port": "metrics"}}
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(WORKER, deployment, labels),
        "spec": {  # no `replicas`: KEDA's autoscaler owns it (envgrid-worker ScaledObject)
            "serviceName": WORKER,
            "podManagementPolicy": "Parallel",  # faust rebalances anyway; no need to start pods one by one
            "selector": {"matchLabels": labels},
            "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Retain", "whenDeleted": "Retain"},
            "template": {
                "metadata": {"labels": labels, "annotations": {
                    "prometheus.io/scrape": "true", "prometheus.io/port": str(deployment.metrics_port)}},
                "spec": {
                    "terminationGracePeriodSeconds": 60,  # faust flushes its producer and commits before it stops
                    "securityContext": {"runAsNonRoot": True, "runAsUser": _USER, "runAsGroup": _USER,
                                        "fsGroup": _USER, "fsGroupChangePolicy": "OnRootMismatch"},
                    "initContainers": [{
                        # the key is copied, not mounted: fsGroup makes mounted Secrets group-readable, and the
                        # worker refuses a key file that anyone but its owner can read
                        "name": "client-config",
                        "image": deployment.worker_image,
                        "command": ["/bin/sh", "-c", init_script],
                        "securityContext": _restricted(),
                        "volumeMounts": [
                            {"name": "run", "mountPath": _RUN},
                            {"name": "kafka-user", "mountPath": "/etc/envgrid/kafka-user", "readOnly": True},
                            {"name": "pseudonym-key", "mountPath": "/etc/envgrid/pseudonym", "readOnly": True},
                        ],
                    }],
                    "containers": [{
                        "name": "worker",
                        "image": deployment.worker_image,
                        "command": command,
                        "env": env,
                        "ports": [{"name": "metrics", "containerPort": deployment.metrics_port}],
                        "readinessProbe": {**metrics_port, "periodSeconds": 10},
                        "livenessProbe": {**metrics_port, "initialDelaySeconds": 60, "periodSeconds": 20},
                        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"},
                                      "limits": {"memory": "1536Mi"}},
                        "securityContext": _restricted(),
                        "volumeMounts": [
                            {"name": "state", "mountPath": _STATE},
                            {"name": "run", "mountPath": _RUN, "readOnly": True},
                            {"name": "cluster-ca", "mountPath": "/etc/envgrid/cluster-ca", "readOnly": True},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }],
                    "volumes": [
                        {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                        {"name": "tmp", "emptyDir": {}},
                        {"name": "kafka-user", "secret": {"secretName": pipeline, "defaultMode": _GROUP_READ,
                                                          "items": [{"key": "password", "path": "password"}]}},
                        {"name": "cluster-ca", "secret": {"secretName": deployment.cluster_ca_secret,
                                                          "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"name": "pseudonym-key", "secret": {"secretName": PSEUDONYM_SECRET, "defaultMode": _GROUP_READ,
                                                             "items": [{"key": "pseudonym.key",
                                                                        "path": "pseudonym.key"}]}},
                    ],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "state"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": deployment.worker_storage}}},
            }],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(WORKER, deployment, labels),
        "spec": {"clusterIP": "None", "selector": labels,  # headless: the StatefulSet's pods by name, for scraping
                 "ports": [{"name": "metrics", "port": deployment.metrics_port, "targetPort": "metrics"}]},
    }
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(WORKER, deployment, labels),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},  # a drain moves one worker at a time
    }
    return [statefulset, service, budget]


def autoscaling(catalogue: Catalogue, principals: Principals, deployment: Deployment) -> list[Manifest]:
    """KEDA scales the worker on the lag of its two consumer groups (router and case desk; the larger need wins),
    read as the `ops` principal (it describes every topic and group: config/principals.yaml). Never below one (the SLA ticker must run even when nothing arrives),
    never above the partitions of the busiest input (a worker more would get nothing to do)."""
    ops = principals.only("ops").name
    name = f"{WORKER}-lag"
    labels = {"app.kubernetes.io/part-of": "envgrid"}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, deployment, labels),
        "data": {"username": ops, "sasl": _KEDA_SASL[MECHANISM], "tls": "enable"},
    }
    authentication = {
        "apiVersion": KEDA_API,
        "kind": "TriggerAuthentication",
        "metadata": _meta(name, deployment, labels),
        "spec": {
            "configMapTargetRef": [{"parameter": key, "name": name, "key": key} for key in ("username", "sasl", "tls")],
            "secretTargetRef": [
                {"parameter": "password", "name": ops, "key": "password"},
                {"parameter": "ca", "name": deployment.cluster_ca_secret, "key": "ca.crt"},
            ],
        },
    }
    scaled = {
        "apiVersion": KEDA_API,
        "kind": "ScaledObject",
        "metadata": _meta(WORKER, deployment, labels),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": WORKER},
            "minReplicaCount": 1,
            "maxReplicaCount": max_workers(catalogue),
            "pollingInterval": 30,
            "cooldownPeriod": 300,
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                # every change of the worker count is a rebalance of every partition: add quickly, remove slowly
                "scaleUp": {"stabilizationWindowSeconds": 60, "policies": [
                    {"type": "Pods", "value": 2, "periodSeconds": 120}]},
                "scaleDown": {"stabilizationWindowSeconds": 900, "policies": [
                    {"type": "Pods", "value": 1, "periodSeconds": 600}]},
            }}},
            "triggers": [{
                "type": "kafka",
                "name": f"{stage}-lag",
                "metadata": {"bootstrapServers": deployment.bootstrap, "consumerGroup": group,
                             "lagThreshold": str(deployment.lag_threshold), "offsetResetPolicy": "earliest"},
                "authenticationRef": {"name": name},
            } for stage, group in (("router", router_group(deployment.app_id)),
                                   ("case-desk", case_desk_group(deployment.app_id)))],
        },
    }
    return [config, authentication, scaled]


def max_workers(catalogue: Catalogue) -> int:
    """Partitions of the worker's widest input topic: one stage's partitions are shared among the workers."""
    inputs = ("intake.petition-complaints", "intake.patrol-reports", "internal.located", "internal.case-commands")
    return max(catalogue.spec(catalogue.topic(name)).partitions for name in inputs)


def registry(principals: Principals, deployment: Deployment) -> list[Manifest]:
    """Apicurio Registry on PostgreSQL (its production storage; the database is the operator's, named by the
    envgrid-registry-db Secret), asking every request for a user and password like the local registry
    (envgrid.localcluster.registry): each principal with its SCRAM password, `admin` administers, `pipeline`
    writes, everyone else reads. The init container writes those users from the KafkaUser Secrets."""
    name = deployment.registry_service
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "envgrid"}
    settings = {**auth_properties({}), "quarkus.http.port": str(deployment.registry_port),
                "quarkus.management.port": str(deployment.registry_management_port),
                "apicurio.storage.kind": "sql", "apicurio.storage.sql.kind": "postgresql"}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, deployment, labels),
        "data": {"registry.properties": "".join(f"{key}={value}\n" for key, value in sorted(settings.items()))},
    }
    users_script = "set -eu\numask 077\n: > /run/registry/users.properties\n" + "".join(
        f"printf 'quarkus.security.users.embedded.users.{p.name}=%s\\nquarkus.security.users.embedded.roles."
        f"{p.name}={ROLE_OF_KIND.get(p.kind, READ_ONLY_ROLE)}\\n' \"$(cat /etc/registry/users/{p.name})\" "
        f">> /run/registry/users.properties\n"
        for p in principals)
    database = [{"name": f"APICURIO_DATASOURCE_{key.upper()}",
                 "valueFrom": {"secretKeyRef": {"name": REGISTRY_DB_SECRET, "key": key}}}
                for key in ("url", "username", "password")]
    health = deployment.registry_management_port
    deployment_manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, deployment, labels),
        "spec": {
            "replicas": deployment.registry_replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": _REGISTRY_USER, "runAsGroup": _REGISTRY_USER,
                                        "fsGroup": _REGISTRY_USER},
                    "initContainers": [{
                        "name": "users",
                        "image": BUSYBOX_IMAGE,
                        "command": ["/bin/sh", "-c", users_script],
                        "securityContext": _restricted(),
                        "volumeMounts": [{"name": "users", "mountPath": "/run/registry"},
                                         {"name": "kafka-users", "mountPath": "/etc/registry/users", "readOnly": True}],
                    }],
                    "containers": [{
                        "name": "registry",
                        "image": REGISTRY_IMAGE,
                        "env": [{"name": "QUARKUS_CONFIG_LOCATIONS",
                                 "value": "/etc/registry/config/registry.properties,/run/registry/users.properties"},
                                *database],
                        "ports": [{"name": "http", "containerPort": deployment.registry_port},
                                  {"name": "management", "containerPort": health}],
                        "readinessProbe": {"httpGet": {"path": "/health/ready", "port": "management"},
                                           "periodSeconds": 10},
                        "livenessProbe": {"httpGet": {"path": "/health/live", "port": "management"},
                                          "initialDelaySeconds": 60, "periodSeconds": 20},
                        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
                        "securityContext": _restricted(),
                        "volumeMounts": [{"name": "users", "mountPath": "/run/registry", "readOnly": True},
                                         {"name": "config", "mountPath": "/etc/registry/config", "readOnly": True},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [
                        {"name": "users", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                        {"name": "tmp", "emptyDir": {}},
                        {"name": "config", "configMap": {"name": name}},
                        {"name": "kafka-users", "projected": {"defaultMode": _GROUP_READ, "sources": [
                            {"secret": {"name": p.name, "items": [{"key": "password", "path": p.name}]}}
                            for p in principals]}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, deployment, labels),
        "spec": {"selector": labels, "ports": [{"name": "http", "port": deployment.registry_port, "targetPort": "http"}]},
    }
    return [config, deployment_manifest, service]


def _meta(name: str, deployment: Deployment, labels: dict[str, str]) -> Manifest:
    return {"name": name, "namespace": deployment.namespace, "labels": dict(labels)}


def _restricted() -> Manifest:
    """The `restricted` Pod Security Standard of a container."""
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
