"""A quorum of Kafka nodes on loopback (`LocalCluster(nodes=3)`): every node a broker and a controller.

Each node has its own node.id, client and controller ports, storage (`<var>/kafka-<id>/`) and logs
(`<var>/log/kafka-<id>.log`, console `kafka-<id>.out`). The voters are fixed in every node's config
(`controller.quorum.voters`, a static quorum: Kafka 4.1's StorageTool formats it without
`--initial-controllers`, which is for the dynamic quorum of KIP-853). All nodes format with one cluster id
and the super user's SCRAM credential. Internal topics and topics made without a replication factor get
REPLICATION copies and MIN_INSYNC in-sync replicas, so with acks=all one node may be down.

Pure layout here; starting, killing and restarting is `LocalCluster`'s (cluster.py), through `start_node`
and `restart_node`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import broker
from .proc import HOST, check_port_free, free_ports

REPLICATION = 3  # copies of every partition on a quorum
MIN_INSYNC = 2  # acks=all succeeds with one node down
NODE_COUNTS = (1, 3)  # one node, or a quorum that survives one node down
#: the catalogue's profile (config/topics.yaml) with the same replication: clients of a quorum apply it
TOPIC_PROFILE_ENV, TOPIC_PROFILE = "ENVGRID_TOPIC_PROFILE", "production"


@dataclass(frozen=True)
class Node:
    node_id: int
    port: int  # clients (and the other brokers)
    controller_port: int  # the KRaft quorum

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


def layout(ports: Sequence[int]) -> list[Node]:
    """Nodes 1..n from 2n distinct ports: (client, controller) per node, in order."""
    if len(ports) % 2 or len(set(ports)) != len(ports):
        raise ValueError(f"a quorum needs two distinct ports per node, not {list(ports)}")
    return [Node(i + 1, ports[2 * i], ports[2 * i + 1]) for i in range(len(ports) // 2)]


def voters(nodes: Sequence[Node]) -> str:
    return ",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in nodes)


def bootstrap_servers(nodes: Sequence[Node]) -> str:
    return ",".join(n.address for n in nodes)


def home(var: Path, node_id: int) -> Path:
    return var / f"kafka-{node_id}"


def log_file(var: Path, node_id: int) -> Path:
    return var / "log" / f"kafka-{node_id}.log"


def log_names(count: int) -> tuple[str, ...]:
    return tuple(name for i in range(1, count + 1) for name in (f"kafka-{i}.log", f"kafka-{i}.out"))


def server_properties(node: Node, nodes: Sequence[Node], data_dir: Path, super_user: broker.Login | None) -> str:
    return broker.server_properties(node.port, node.controller_port, data_dir, super_user, node_id=node.node_id,
                                    voters=voters(nodes), replication=min(REPLICATION, len(nodes)),
                                    min_insync=min(MIN_INSYNC, len(nodes)))


def node_state(var: Path, node: Node) -> dict:
    """A node's entry in cluster.json (its pid is added once it runs)."""
    log = log_file(var, node.node_id)
    return {"node_id": node.node_id, "port": node.port, "controller_port": node.controller_port, "pid": None,
            "bootstrap_servers": node.address, "log": str(log), "stdout": str(broker.console_of(log))}


def start_node(java: str, libs: Path, var: Path, node: Node, nodes: Sequence[Node], cid: str,
               super_user: broker.Login | None) -> tuple[subprocess.Popen, float]:
    """Fresh config and storage for `node` of cluster `cid`, then start it (does not wait)."""
    path, log = home(var, node.node_id), log_file(var, node.node_id)
    config = server_properties(node, nodes, path / "data", super_user)
    format_s = broker.format_storage(java, libs, var, path, log, config, cid, super_user)
    return broker.launch(java, libs, var, path, log), format_s


def restart_node(java: str, libs: Path, var: Path, node_id: int) -> subprocess.Popen:
    """Start a node again on its storage and config as they are (after a kill): no formatting."""
    return broker.launch(java, libs, var, home(var, node_id), log_file(var, node_id))


def pick_ports(count: int, kafka_port: int | None = None, registry_port: int | None = None) -> list[int]:
    """Client and controller port of each of `count` nodes, then the registry's and its management port,
    all distinct. A fixed Kafka port is node 1's; node i takes kafka_port + i - 1."""
    fixed = [check_port_free(kafka_port + i, f"Kafka node {i + 1}") for i in range(count)] if kafka_port else []
    registry_fixed = check_port_free(registry_port, "schema registry") if registry_port else None
    taken = {*fixed, registry_fixed}
    chosen = iter([p for p in free_ports(2 * count + 6) if p not in taken])
    clients = fixed or [next(chosen) for _ in range(count)]
    ports = [p for port in clients for p in (port, next(chosen))]
    return [*ports, registry_fixed or next(chosen), next(chosen)]


# -- cluster.json: a quorum's nodes are listed under "brokers", a single node is "broker" ----------------
def nodes_of(st: dict) -> list[dict]:
    """The Kafka nodes of a state: its quorum's, else its one broker."""
    return st["brokers"] if "brokers" in st else [st["broker"]]


def bootstrap_of(st: dict) -> str:
    return ",".join(node["bootstrap_servers"] for node in nodes_of(st))


def pid_files(st: dict) -> dict[str, dict]:
    """pid file name -> state entry: broker (or broker-<id> per node) and registry."""
    nodes = {f"broker-{n['node_id']}": n for n in st["brokers"]} if "brokers" in st else {"broker": st["broker"]}
    return {**nodes, "registry": st["registry"]}
