"""What one Kubernetes deployment of envgrid is made of: names, images and the versions they were checked against.

The generated manifests (`envgrid.deploy.manifests`) read every name from here, so the Kafka cluster's name,
the namespace or an image is changed in one place and every manifest that refers to it follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from envgrid.localcluster.fetch import REGISTRY_VERSION

#: Strimzi 1.x serves `kafka.strimzi.io/v1` only (v1beta2 was removed in 1.0); its CRDs are generated for the
#: offline check from `io.strimzi:api` with Strimzi's own `crd-generator` (envgrid.deploy.validate).
STRIMZI_VERSION = "1.2.0"
STRIMZI_API = "kafka.strimzi.io/v1"
#: Strimzi 1.2 runs Kafka 4.2 and 4.3, not the 4.1.1 of the local cluster: clients and the wire protocol are
#: the same (KRaft, SCRAM, the StandardAuthorizer); the local broker is what the tests run against.
KAFKA_VERSION = "4.2.0"
KEDA_VERSION = "2.21.0"
KEDA_API = "keda.sh/v1alpha1"
#: the Kubernetes API the core manifests are checked against (its OpenAPI v3 spec, from k8s.io/kubernetes)
KUBERNETES_VERSION = "1.36.3"
REGISTRY_IMAGE = f"quay.io/apicurio/apicurio-registry:{REGISTRY_VERSION}"
BUSYBOX_IMAGE = "docker.io/library/busybox:1.37"


@dataclass(frozen=True)
class Deployment:
    """One deployment; the defaults are what `deploy/k8s/` is generated with."""

    namespace: str = "envgrid"
    cluster: str = "envgrid"  # the Strimzi Kafka resource: services envgrid-kafka-bootstrap, secrets envgrid-cluster-ca-cert
    topic_prefix: str = "envgrid"  # ENVGRID_TOPIC_PREFIX of every worker
    topic_profile: str = "production"  # replication 3, min.insync.replicas 2 (config/topics.yaml)
    app_id: str = "envgrid"  # the faust app id: the worker's consumer group, which KEDA watches
    worker_image: str = "envgrid:0.1.0"  # built from deploy/container/Containerfile; kustomize `images` renames it
    brokers: int = 3  # KafkaNodePool replicas, each broker and controller
    broker_storage: str = "100Gi"
    worker_storage: str = "10Gi"  # RocksDB tables of one worker
    listener_port: int = 9093  # SASL_SSL, SCRAM-SHA-512
    metrics_port: int = 9464
    registry_port: int = 8080
    registry_management_port: int = 9000  # Quarkus management interface: /health/*
    registry_replicas: int = 2  # PostgreSQL storage is shared, so the registry scales out
    lag_threshold: int = 2000  # records behind per worker before KEDA adds one (~3-6 s of one router's work)

    @property
    def bootstrap(self) -> str:
        return f"{self.cluster}-kafka-bootstrap.{self.namespace}.svc:{self.listener_port}"

    @property
    def cluster_ca_secret(self) -> str:
        """Strimzi's secret with the CA certificate (`ca.crt`) that signs the brokers' certificates."""
        return f"{self.cluster}-cluster-ca-cert"

    @property
    def registry_service(self) -> str:
        return "envgrid-registry"

    @property
    def registry_url(self) -> str:
        return f"http://{self.registry_service}.{self.namespace}.svc:{self.registry_port}/apis/ccompat/v7"
