"""Kafka 4.x in KRaft mode on loopback: one node, or each node of a quorum (`envgrid.localcluster.quorum`),
a broker and a controller."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from .credentials import MECHANISM, write_private
from .errors import BrokerExited, BrokerNotReady, LocalClusterError
from .proc import HOST, alive, exit_status, log_tail, machine_state, port_open, spawn

MARKER = "kafka.Kafka"  # in the JVM's command line; guards pid checks
LOG4J2 = Path(__file__).parent / "kafka" / "log4j2.yaml"
HEAP = ("-Xmx512m", "-Xms256m")
Login = tuple[str, str]  # principal name, password
SCRAM_ITERATIONS = 4096  # Kafka's minimum for SCRAM-SHA-512, as StorageTool's --add-scram uses


def cluster_id() -> str:
    """A Kafka Uuid (url-safe base64 of 16 random bytes, not starting with '-'), like
    `kafka.tools.StorageTool random-uuid` makes, without starting a JVM for it."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def server_properties(port: int, controller_port: int, data_dir: Path, super_user: Login | None = None, *,
                      node_id: int = 1, voters: str | None = None, replication: int = 1, min_insync: int = 1) -> str:
    """The broker's config: SASL/SCRAM-SHA-512 and the StandardAuthorizer when `super_user` (name, password)
    is given, else PLAINTEXT with no authentication (only for measuring what SASL costs).
    One node by default; a node of a quorum gives its `node_id`, the `voters` of every node
    ("1@host:port,2@host:port,...") and the replication of the internal topics and of new topics."""
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters or f"{node_id}@{HOST}:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",  # every topic comes from config/topics.yaml
        "offsets.topic.replication.factor": str(replication),
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": str(min_insync),
        "share.coordinator.state.topic.replication.factor": str(replication),
        "share.coordinator.state.topic.min.isr": str(min_insync),
        "group.initial.rebalance.delay.ms": "0",
    }
    if replication > 1:  # a topic made without saying (faust's own) survives a node down, acks=all still works
        props.update({"default.replication.factor": str(replication), "min.insync.replicas": str(min_insync)})
    if super_user is None:
        props.update({
            "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        })
    else:
        props.update(_sasl_properties(port, controller_port, super_user))
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _sasl_properties(port: int, controller_port: int, super_user: Login) -> dict[str, str]:
    """Clients and the broker itself use SCRAM-SHA-512 on CLIENT. The controller's listener cannot use
    SCRAM (its credentials live in the metadata the controller serves), so it takes PLAIN with the super user
    as its only user: no listener accepts a connection without a password."""
    name, password = super_user
    login = f'username="{name}" password="{password}"'
    return {
        "listeners": f"CLIENT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"CLIENT://{HOST}:{port}",
        "inter.broker.listener.name": "CLIENT",
        "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "listener.name.client.sasl.enabled.mechanisms": MECHANISM,
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "sasl.mechanism.controller.protocol": "PLAIN",
        f"listener.name.client.{MECHANISM.lower()}.sasl.jaas.config":
            f"org.apache.kafka.common.security.scram.ScramLoginModule required {login};",
        "listener.name.controller.plain.sasl.jaas.config":
            f'org.apache.kafka.common.security.plain.PlainLoginModule required {login} user_{name}="{password}";',
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{name}",
        "allow.everyone.if.no.acl.found": "false",  # the default, said out loud: no ACL, no access
    }


def _jvm(java: str, libs: Path, log_file: Path) -> list[str]:
    return [java, *HEAP, "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2}", f"-Denvgrid.kafka.log={log_file}",
            "-cp", f"{libs}/*"]


def start(java: str, libs: Path, var: Path, port: int, controller_port: int,
          super_user: Login | None = None) -> tuple[subprocess.Popen, float]:
    """Write a fresh config, format fresh storage (with the super user's SCRAM credential when secured),
    start the broker (does not wait for it). Returns the process and the seconds formatting took.
    The other principals' credentials are created through the Admin API once it runs (`create_users`),
    so their passwords never appear on a command line."""
    home, log_file = var / "kafka", var / "log" / "kafka.log"
    config = server_properties(port, controller_port, home / "data", super_user)
    format_s = format_storage(java, libs, var, home, log_file, config, cluster_id(), super_user)
    return launch(java, libs, var, home, log_file), format_s


def format_storage(java: str, libs: Path, var: Path, home: Path, log_file: Path, config: str, cid: str,
                   super_user: Login | None = None) -> float:
    """Wipe `home`, write `config` to home/server.properties (0600: it holds a password) and format the
    storage of cluster `cid` (every node of a quorum formats with the same id); returns the seconds it took."""
    t0 = time.monotonic()
    shutil.rmtree(home, ignore_errors=True)  # the registry is in memory: start both empty
    (home / "data").mkdir(parents=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    path = home / "server.properties"
    write_private(path, config)
    scram = [] if super_user is None else \
        ["--add-scram", f"{MECHANISM}=[name={super_user[0]},password={super_user[1]}]"]
    fmt = subprocess.run([*_jvm(java, libs, log_file), "kafka.tools.StorageTool", "format", "-t", cid, "-c", str(path),
                          *scram], cwd=var, capture_output=True, text=True, timeout=120)
    if fmt.returncode != 0:
        raise LocalClusterError(f"Formatting Kafka storage in {home / 'data'} failed "
                                f"(code {fmt.returncode}):\n{(fmt.stdout + fmt.stderr).strip()[-2000:]}")
    return round(time.monotonic() - t0, 2)


def launch(java: str, libs: Path, var: Path, home: Path, log_file: Path) -> subprocess.Popen:
    """Start the broker of formatted storage in `home` (also to restart a node that was killed);
    its console goes next to its log (kafka.log -> kafka.out)."""
    return spawn([*_jvm(java, libs, log_file), MARKER, str(home / "server.properties")],
                 console_of(log_file), cwd=var)


def console_of(log_file: Path) -> Path:
    return log_file.with_suffix(".out")


def wait_ready(port: int, pid: int, log_file: Path, timeout: float,
               popen: subprocess.Popen | None = None, client: dict[str, Any] | None = None) -> float:
    """Block until the broker answers AdminClient.list_topics (as `client`: the super user's settings on a
    secured broker); return the seconds it took.
    A JVM that ends first raises BrokerExited with how it ended, its console output (where the JVM
    itself reports fatal errors such as running out of memory or threads), its log's errors and
    the machine's free memory and disk."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    address, t0 = f"{HOST}:{port}", time.monotonic()
    deadline = t0 + timeout
    admin = None
    while True:
        if not alive(pid, MARKER):
            raise BrokerExited(address, timeout, log_file, _exit_detail(pid, log_file, popen))
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrokerNotReady(address, timeout, log_file)
        if port_open(port):  # avoids librdkafka's "connection refused" noise while the JVM boots
            admin = admin or AdminClient({"bootstrap.servers": address, "log_level": 0, **(client or {})})
            try:
                md = admin.list_topics(timeout=min(2.0, max(left, 0.1)))
                if md.brokers:
                    return time.monotonic() - t0
            except KafkaException:  # while the controller elects itself
                pass
        time.sleep(0.1)


def create_users(admin: Any, passwords: dict[str, str], timeout: float = 30.0) -> None:
    """A SCRAM-SHA-512 credential for each principal (Admin API, as the super user)."""
    from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts = [UserScramCredentialUpsertion(name, info, password.encode()) for name, password in passwords.items()]
    for name, future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except Exception as error:
            raise LocalClusterError(f"Creating the SCRAM credential of principal {name} failed: {error}") from error


def _exit_detail(pid: int, log_file: Path, popen: subprocess.Popen | None) -> str:
    how = exit_status(popen) or "ended"
    console = console_of(log_file)
    errors = [line for line in log_tail(log_file, 2000).splitlines() if " ERROR " in line or " FATAL " in line]
    return (f" (the JVM, pid {pid}, {how}; {machine_state(log_file.parent)};\n"
            f"its console ({console}), last lines:\n{log_tail(console, 15)}\n"
            f"errors in its log: {chr(10).join(errors[-10:]) or 'none'}\n"
            f"its log's last lines:\n{log_tail(log_file, 8)}\n)")


def wait_brokers(bootstrap_servers: str, count: int, timeout: float, client: dict[str, Any] | None = None) -> float:
    """Block until the cluster's metadata lists `count` brokers (every node of a quorum has registered);
    return the seconds it took."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    t0 = time.monotonic()
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0, **(client or {})})
    seen = 0
    while time.monotonic() - t0 < timeout:
        try:
            seen = len(admin.list_topics(timeout=2).brokers)
            if seen >= count:
                return time.monotonic() - t0
        except KafkaException:
            pass
        time.sleep(0.2)
    raise BrokerNotReady(bootstrap_servers, timeout, Path("kafka-*.log"), f" (the metadata lists {seen} of {count} brokers)")
