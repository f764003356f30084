"""The 3-node local cluster's configuration, without starting it: one config per node, distinct ports, the
same voters everywhere, replication 3 and min.insync.replicas 2, the single node's security."""

from __future__ import annotations

import pytest

from envgrid.localcluster import broker, quorum
from envgrid.localcluster.cluster import LocalCluster
from envgrid.localcluster.proc import free_ports


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def _configs(tmp_path, super_user=("admin", "pw")) -> tuple[list[quorum.Node], list[dict[str, str]]]:
    nodes = quorum.layout([9101, 9102, 9103, 9104, 9105, 9106])
    configs = [_properties(quorum.server_properties(node, nodes, quorum.home(tmp_path, node.node_id) / "data",
                                                    super_user)) for node in nodes]
    return nodes, configs


def test_each_node_is_broker_and_controller_with_its_own_id_ports_and_storage(tmp_path):
    nodes, configs = _configs(tmp_path)
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert {c["process.roles"] for c in configs} == {"broker,controller"}
    assert [c["listeners"] for c in configs] == [
        "CLIENT://127.0.0.1:9101,CONTROLLER://127.0.0.1:9102", "CLIENT://127.0.0.1:9103,CONTROLLER://127.0.0.1:9104",
        "CLIENT://127.0.0.1:9105,CONTROLLER://127.0.0.1:9106"]
    assert len({c["log.dirs"] for c in configs}) == 3 and all("kafka-" in c["log.dirs"] for c in configs)
    assert len({quorum.log_file(tmp_path, n.node_id) for n in nodes}) == 3
    assert quorum.bootstrap_servers(nodes) == "127.0.0.1:9101,127.0.0.1:9103,127.0.0.1:9105"


def test_every_node_names_the_same_three_voters(tmp_path):
    _nodes, configs = _configs(tmp_path)
    assert {c["controller.quorum.voters"] for c in configs} == \
        {"1@127.0.0.1:9102,2@127.0.0.1:9104,3@127.0.0.1:9106"}


def test_replication_three_and_two_in_sync(tmp_path):
    _nodes, configs = _configs(tmp_path)
    for c in configs:
        assert c["default.replication.factor"] == c["offsets.topic.replication.factor"] == "3"
        assert c["transaction.state.log.replication.factor"] == "3"
        assert c["min.insync.replicas"] == c["transaction.state.log.min.isr"] == "2"


def test_every_node_runs_the_single_nodes_security(tmp_path):
    single = _properties(broker.server_properties(9092, 9093, tmp_path, ("admin", "pw")))
    _nodes, configs = _configs(tmp_path)
    security = ("listener.security.protocol.map", "listener.name.client.sasl.enabled.mechanisms",
                "sasl.mechanism.controller.protocol", "authorizer.class.name", "super.users",
                "allow.everyone.if.no.acl.found")
    for c in configs:
        assert {k: c[k] for k in security} == {k: single[k] for k in security}
    plain = _configs(tmp_path, super_user=None)[1]
    assert all(c["listeners"].startswith("PLAINTEXT://") for c in plain)


def test_the_single_node_config_is_unchanged(tmp_path):
    props = _properties(broker.server_properties(9092, 9093, tmp_path, ("admin", "pw")))
    assert props["node.id"] == "1" and props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1" and "default.replication.factor" not in props
    assert "min.insync.replicas" not in props


def test_ports_are_distinct_and_a_fixed_kafka_port_is_node_ones():
    ports = quorum.pick_ports(3)
    assert len(ports) == 8 and len(set(ports)) == 8
    base = next(p for p in free_ports(20) if p < 65000)
    fixed = quorum.pick_ports(3, kafka_port=base)
    assert [fixed[0], fixed[2], fixed[4]] == [base, base + 1, base + 2] and len(set(fixed)) == 8


def test_a_layout_needs_two_distinct_ports_per_node():
    with pytest.raises(ValueError, match="two distinct ports per node"):
        quorum.layout([1, 2, 3])
    with pytest.raises(ValueError, match="two distinct ports per node"):
        quorum.layout([1, 1])


def test_one_node_stays_the_default_and_the_state_reads_either_shape(tmp_path):
    assert LocalCluster(var_dir=tmp_path).nodes == 1
    with pytest.raises(ValueError, match="nodes must be one of 1, 3"):
        LocalCluster(var_dir=tmp_path, nodes=2)
    single = {"broker": {"bootstrap_servers": "127.0.0.1:1", "pid": 5}, "registry": {"pid": 6}}
    assert quorum.bootstrap_of(single) == "127.0.0.1:1" and set(quorum.pid_files(single)) == {"broker", "registry"}
    nodes = quorum.layout([1, 2, 3, 4, 5, 6])
    three = {"brokers": [quorum.node_state(tmp_path, n) for n in nodes], "registry": {"pid": 6}}
    assert quorum.bootstrap_of(three) == "127.0.0.1:1,127.0.0.1:3,127.0.0.1:5"
    assert set(quorum.pid_files(three)) == {"broker-1", "broker-2", "broker-3", "registry"}
    assert three["brokers"][1]["stdout"].endswith("log/kafka-2.out")


def test_killing_a_node_needs_a_quorum(tmp_path):
    from envgrid.localcluster.errors import LocalClusterError

    with pytest.raises(LocalClusterError, match="up --nodes 3"):
        LocalCluster(var_dir=tmp_path).kill_node(2)
