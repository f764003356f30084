"""LocalCluster: one Kafka broker (or a quorum of three) + one Apicurio registry on loopback, state in
var/cluster.json.

`up()` reuses a running cluster, else fetches (once, into the cache) and starts both JVMs and waits
until each answers. `status()`/`down()` work from any process through the state file.
Sessions (pytest) use `acquire()`/`release()`: the last session out stops a cluster that a session
started; a cluster started with the command (`python -m envgrid.localcluster up`) is left running.

Secured by default (`security="sasl"`): SASL/SCRAM-SHA-512 and the StandardAuthorizer on the broker, basic
authentication and roles on the registry, one credential per principal of config/principals.yaml
(`envgrid.localcluster.credentials`), and the bootstrap ACL set for the pipeline principal. The addresses it
returns carry the pipeline principal's credentials. `security="plaintext"` starts both without any
authentication, for measuring what SASL costs only.

`nodes=3` starts three Kafka nodes, each a broker and a controller (`envgrid.localcluster.quorum`), with
replication 3 and min.insync.replicas 2, under the same security; `kill_node`/`restart_node` take one
down and bring it back, for fault tests.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from envgrid import paths

from . import broker, credentials, fetch, postgres, quorum, registry
from .addresses import ClientSecurity, ClusterAddresses
from .bootstrap_acls import create_bootstrap_acls
from .errors import BrokerExited, LocalClusterError
from .java import find_java, find_registry_java
from .proc import HOST, alive, check_port_free, free_ports, kill_group, rotate_logs, stop

BROKER_ATTEMPTS = 3  # a broker JVM that ends while starting is started again, twice at most
SECURITY_MODES = ("sasl", "plaintext")


class LocalCluster:
    def __init__(self, var_dir: Path | None = None, kafka_port: int | None = None,
                 registry_port: int | None = None, broker_timeout: float = 90.0,
                 registry_timeout: float = 120.0, security: str = "sasl", nodes: int = 1):
        if security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        if nodes not in quorum.NODE_COUNTS:
            raise ValueError(f"nodes must be one of {', '.join(map(str, quorum.NODE_COUNTS))}, not {nodes!r}")
        self.security, self.nodes = security, nodes
        self.var = Path(var_dir or paths.var_dir()).resolve()
        self.kafka_port, self.registry_port = kafka_port, registry_port
        self.broker_timeout, self.registry_timeout = broker_timeout, registry_timeout
        self.state_file = self.var / "cluster.json"
        self.leases = self.var / "cluster.leases"
        self.reused = False
        self._procs: dict[str, object] = {}

    # -- public API ---------------------------------------------------------------------------
    def up(self, owner: str = "cli") -> ClusterAddresses:
        with self._lock():
            return self._up(owner)

    def down(self) -> dict | None:
        """Stop whatever the state file names; return that state (None if nothing was recorded)."""
        with self._lock():
            return self._down()

    def status(self) -> dict:
        st = self._read()
        if st is None:
            return {"running": False, "state_file": str(self.state_file)}
        for node in quorum.nodes_of(st):
            node["alive"] = alive(node["pid"], broker.MARKER)
        st["registry"]["alive"] = alive(st["registry"]["pid"], registry.MARKER)
        st["running"] = all(node["alive"] for node in quorum.nodes_of(st)) and st["registry"]["alive"]
        st["sessions"] = self._live_leases()
        return st

    def addresses(self, principal: str | None = None) -> ClusterAddresses | None:
        """Addresses of the running local cluster, with the credentials of `principal` (default: the pipeline
        principal) when it is secured; None if it does not run."""
        st = self.status()
        return self._addresses(st, principal) if st["running"] else None

    def case_store_up(self, owner: str = "session") -> str:
        """PostgreSQL for the case store (`postgres.py`), the cluster started if needed; stopped with it. Its DSN."""
        with self._lock():
            self._up(owner)
            dsn = postgres.ensure(st := self._read() or {}, self.var)
            self._write(st)
            return dsn

    def credentials_dir(self) -> Path:
        return credentials.directory(self.var)

    def topic_env(self) -> dict[str, str]:
        """On a running quorum, the variable that makes the catalogue (config/topics.yaml) use replication 3
        and min.insync.replicas 2 (its `production` profile); {} on one node."""
        st = self._read()
        return {quorum.TOPIC_PROFILE_ENV: quorum.TOPIC_PROFILE} if st and "brokers" in st else {}

    def kill_node(self, node_id: int) -> None:
        """SIGKILL one Kafka node of a quorum (no clean shutdown), for fault tests; `restart_node` brings it back."""
        with self._lock():
            node = self._node(node_id)
            kill_group(node["pid"], broker.MARKER, popen=self._procs.pop(f"broker-{node_id}", None))

    def restart_node(self, node_id: int) -> float:
        """Start a killed node again on its storage and ports, wait until it answers; returns the seconds."""
        with self._lock():
            st = self._read()
            assert st is not None
            node = self._node(node_id, st)
            if alive(node["pid"], broker.MARKER):
                raise LocalClusterError(f"Kafka node {node_id} (pid {node['pid']}) still runs; kill it first")
            proc = quorum.restart_node(st["java"], fetch.kafka_libs(), self.var, node_id)
            node["pid"] = proc.pid
            self._procs[f"broker-{node_id}"] = proc
            self._write(st)
            return broker.wait_ready(node["port"], proc.pid, Path(node["log"]), self.broker_timeout, popen=proc,
                                     client=self._security(st, st.get("super_user")).librdkafka())

    def acquire(self) -> ClusterAddresses:
        """up() for a test session: record this process as a user of the cluster."""
        with self._lock():
            addrs = self._up("session")
            self.leases.mkdir(parents=True, exist_ok=True)
            (self.leases / str(os.getpid())).touch()
            return addrs

    def release(self) -> bool:
        """Drop this process's lease; stop the cluster if a session started it and none is left."""
        with self._lock():
            (self.leases / str(os.getpid())).unlink(missing_ok=True)
            st = self._read()
            if st and st.get("owner") == "session" and not self._live_leases():
                self._down()
                return True
            return False

    # -- internals ----------------------------------------------------------------------------
    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.var.mkdir(parents=True, exist_ok=True)
        with open(self.var / "cluster.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _read(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def _write(self, st: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(st, indent=2))
        tmp.replace(self.state_file)
        for part, entry in quorum.pid_files(st).items():  # plain pid files too, for `kill $(cat var/broker.pid)`
            if entry.get("pid"):
                (self.var / f"{part}.pid").write_text(f"{entry['pid']}\n")

    def _node(self, node_id: int, st: dict | None = None) -> dict:
        st = st or self._read()
        nodes = {node.get("node_id"): node for node in (quorum.nodes_of(st) if st else [])}
        if st is None or "brokers" not in st or node_id not in nodes:
            raise LocalClusterError(f"No Kafka node {node_id} in a multi-node local cluster in {self.var} "
                                    f"(start one: python -m envgrid.localcluster up --nodes 3)")
        return nodes[node_id]

    def _live_leases(self) -> list[int]:
        pids = [int(p.name) for p in self.leases.glob("*") if p.name.isdigit()] if self.leases.is_dir() else []
        for pid in pids:
            if not alive(pid):
                (self.leases / str(pid)).unlink(missing_ok=True)
        return [pid for pid in pids if alive(pid)]

    def _security(self, st: dict, principal: str | None) -> ClientSecurity:
        if st.get("security", "plaintext") == "plaintext":
            return ClientSecurity()
        name = principal or st["pipeline"]
        try:
            return credentials.security(self.var, name)
        except KeyError as error:
            raise LocalClusterError(f"{error.args[0]}; it is made when the local cluster starts "
                                    f"(principals: src/envgrid/config/principals.yaml)") from None

    def _addresses(self, st: dict, principal: str | None = None) -> ClusterAddresses:
        return ClusterAddresses(quorum.bootstrap_of(st), st["registry"]["url"], self._security(st, principal))

    def _up(self, owner: str) -> ClusterAddresses:
        st = self._read()
        if st and all(alive(node["pid"], broker.MARKER) for node in quorum.nodes_of(st)) and \
                alive(st["registry"]["pid"], registry.MARKER):
            running, nodes = st.get("security", "plaintext"), len(quorum.nodes_of(st))
            if (running, nodes) != (self.security, self.nodes):
                raise LocalClusterError(
                    f"The local cluster in {self.var} runs {running} on {nodes} node(s), and {self.security} on "
                    f"{self.nodes} was asked for. Stop it first (python -m envgrid.localcluster down --var-dir "
                    f"{self.var}) or use another var dir.")
            admin = self._security(st, st.get("super_user"))
            for node in quorum.nodes_of(st):
                broker.wait_ready(node["port"], node["pid"], Path(node["log"]), self.broker_timeout,
                                  client=admin.librdkafka())
            registry.wait_ready(st["registry"]["port"], st["registry"]["management_port"],
                                st["registry"]["pid"], Path(st["registry"]["log"]), self.registry_timeout,
                                self._security(st, None).registry_user_info)
            if owner == "cli" and st.get("owner") != "cli":
                st["owner"] = "cli"  # asked for by hand: keep it after the sessions end
                self._write(st)
            self.reused = True
            return self._addresses(st)
        if st:
            self._down()  # half-dead leftovers
        return self._start(owner)

    def _start(self, owner: str) -> ClusterAddresses:
        if self.nodes > 1:
            return self._start_quorum(owner)
        kport, rport, cport, mport = self._ports()
        java, rjava = find_java(), find_registry_java()
        t0 = time.monotonic()
        libs, home = fetch.kafka_libs(), fetch.registry_home()
        fetch_s = time.monotonic() - t0
        logs = self.var / "log"
        rotate_logs(logs, ("kafka.log", "kafka.out", "registry.log"))
        st = {"owner": owner, "started_at": time.time(), "fetch_s": round(fetch_s, 2),
              "cache": str(fetch.cache_dir()),
              "broker": {"port": kport, "controller_port": cport, "pid": None, "java": java,
                         "bootstrap_servers": f"{HOST}:{kport}", "log": str(logs / "kafka.log"),
                         "stdout": str(logs / "kafka.out")},
              "registry": {"port": rport, "management_port": mport, "pid": None, "java": rjava,
                           "url": registry.url(rport), "log": str(logs / "registry.log")},
              "security": self.security}
        passwords, super_user, pipeline, users = self._credentials(st)
        try:
            t_reg = time.monotonic()
            rproc = registry.start(rjava, home, self.var, rport, mport, users,  # boots while Kafka formats
                                   credentials.directory(self.var) / credentials.REGISTRY_USERS)
            st["registry"]["pid"] = rproc.pid
            self._procs["registry"] = rproc
            self._write(st)
            for attempt in range(1, BROKER_ATTEMPTS + 1):
                st["broker"]["attempts"] = attempt
                bproc, st["broker"]["format_s"] = broker.start(
                    java, libs, self.var, kport, cport, (super_user, passwords[super_user]) if passwords else None)
                st["broker"]["pid"] = bproc.pid
                self._procs["broker"] = bproc
                self._write(st)
                try:
                    st["broker"]["ready_s"] = round(broker.wait_ready(
                        kport, bproc.pid, logs / "kafka.log", self.broker_timeout, popen=bproc,
                        client=self._security(st, super_user).librdkafka()), 2)
                    break
                except BrokerExited as exited:
                    if attempt == BROKER_ATTEMPTS:
                        raise
                    # A JVM that dies while starting (seen once in CI, with nothing in its log) gets
                    # fresh storage and, unless fixed, fresh ports; the reason stays in the logs.
                    print(f"# the Kafka broker's JVM ended while starting (attempt {attempt} of "
                          f"{BROKER_ATTEMPTS}); starting it again.\n{exited}", file=sys.stderr)
                    for name in ("kafka.log", "kafka.out"):  # kept beside the new run's logs
                        if (logs / name).exists():
                            (logs / name).replace(logs / f"{name}.attempt{attempt}")
                    if not self.kafka_port:
                        kport, cport = self._broker_ports(exclude={rport, mport})
                    st["broker"].update(port=kport, controller_port=cport,
                                        bootstrap_servers=f"{HOST}:{kport}")
            self._finish_start(st, passwords, super_user, pipeline, rproc.pid, t_reg)
        except BaseException:
            self._down()
            raise
        self._write(st)
        return self._addresses(st)

    def _start_quorum(self, owner: str) -> ClusterAddresses:
        """The nodes of a quorum and the registry. Unlike the single node, a node whose JVM ends while
        starting is not started again on other ports: the voters of every node name them."""
        ports = quorum.pick_ports(self.nodes, self.kafka_port, self.registry_port)
        nodes, (rport, mport) = quorum.layout(ports[:-2]), ports[-2:]
        java, rjava = find_java(), find_registry_java()
        t0 = time.monotonic()
        libs, home = fetch.kafka_libs(), fetch.registry_home()
        logs = self.var / "log"
        rotate_logs(logs, ("registry.log", *quorum.log_names(self.nodes)))
        st = {"owner": owner, "started_at": time.time(), "fetch_s": round(time.monotonic() - t0, 2),
              "cache": str(fetch.cache_dir()), "java": java, "nodes": self.nodes,
              "brokers": [quorum.node_state(self.var, node) for node in nodes],
              "registry": {"port": rport, "management_port": mport, "pid": None, "java": rjava,
                           "url": registry.url(rport), "log": str(logs / "registry.log")},
              "security": self.security}
        passwords, super_user, pipeline, users = self._credentials(st)
        login = (super_user, passwords[super_user]) if passwords else None
        try:
            t_reg = time.monotonic()
            rproc = registry.start(rjava, home, self.var, rport, mport, users,  # boots while Kafka formats
                                   credentials.directory(self.var) / credentials.REGISTRY_USERS)
            st["registry"]["pid"] = rproc.pid
            self._procs["registry"] = rproc
            cid = broker.cluster_id()  # one cluster: every node formats with the same id
            for node, entry in zip(nodes, st["brokers"], strict=True):
                proc, entry["format_s"] = quorum.start_node(java, libs, self.var, node, nodes, cid, login)
                entry["pid"] = proc.pid
                self._procs[f"broker-{node.node_id}"] = proc
                self._write(st)
            client = self._security(st, super_user).librdkafka()
            for node, entry in zip(nodes, st["brokers"], strict=True):
                entry["ready_s"] = round(broker.wait_ready(
                    node.port, entry["pid"], Path(entry["log"]), self.broker_timeout,
                    popen=self._procs[f"broker-{node.node_id}"], client=client), 2)
            broker.wait_brokers(quorum.bootstrap_of(st), len(nodes), self.broker_timeout, client)
            self._finish_start(st, passwords, super_user, pipeline, rproc.pid, t_reg)
        except BaseException:
            self._down()
            raise
        self._write(st)
        return self._addresses(st)

    def _finish_start(self, st: dict, passwords: dict[str, str], super_user: str, pipeline: str,
                      registry_pid: int, registry_started: float) -> None:
        """Once Kafka answers (one node or all): credentials and ACLs when secured, then the registry ready."""
        if passwords:
            self._secure(st, passwords, super_user, pipeline)
        reg = st["registry"]
        registry.wait_ready(reg["port"], reg["management_port"], registry_pid, Path(reg["log"]),
                            self.registry_timeout, self._security(st, None).registry_user_info)
        reg["ready_s"] = round(time.monotonic() - registry_started, 2)

    def _credentials(self, st: dict) -> tuple[dict[str, str], str, str, dict[str, tuple[str, str]]]:
        """For a secured start: every principal's password, the super user's and the pipeline's names, and
        the registry's users (name -> (password, role)); recorded in `st`. Nothing for a plaintext start."""
        if self.security == "plaintext":
            return {}, "", "", {}
        from envgrid.connectors.principals import load_principals  # the one list of principals

        principals = load_principals()
        passwords = credentials.ensure(self.var, principals.names())
        super_user, pipeline = principals.only("super-user").name, principals.only("pipeline").name
        st.update(super_user=super_user, pipeline=pipeline, credentials=str(credentials.directory(self.var)),
                  principals=len(passwords))
        users = {p.name: (passwords[p.name], registry.ROLE_OF_KIND.get(p.kind, registry.READ_ONLY_ROLE))
                 for p in principals}
        return passwords, super_user, pipeline, users

    def _secure(self, st: dict, passwords: dict[str, str], super_user: str, pipeline: str) -> None:
        """As the super user: every other principal's SCRAM credential and the bootstrap ACL set; then wait
        until the pipeline principal is let in (its credential reaches the broker's metadata)."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        t0 = time.monotonic()
        admin = AdminClient(self._addresses(st, super_user).kafka_config({"log_level": 0}))
        broker.create_users(admin, {name: pw for name, pw in passwords.items() if name != super_user})
        create_bootstrap_acls(admin, pipeline)
        deadline = time.monotonic() + self.broker_timeout
        for node in quorum.nodes_of(st):  # each node learns the credential from the metadata on its own
            client = AdminClient(self._addresses(st, pipeline).kafka_config(
                {"log_level": 0, "bootstrap.servers": node["bootstrap_servers"]}))
            while True:
                try:
                    client.list_topics(timeout=2)
                    break
                except KafkaException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        st.get("broker", st)["secured_s"] = round(time.monotonic() - t0, 2)

    def _ports(self) -> tuple[int, int, int, int]:
        """Broker, registry, controller and registry-management ports, all distinct."""
        kport_fixed = check_port_free(self.kafka_port, "Kafka broker") if self.kafka_port else None
        rport_fixed = check_port_free(self.registry_port, "schema registry") if self.registry_port else None
        taken = {p for p in (kport_fixed, rport_fixed) if p}
        chosen = [p for p in free_ports(6) if p not in taken]
        return kport_fixed or chosen[0], rport_fixed or chosen[1], chosen[2], chosen[3]

    def _broker_ports(self, exclude: set[int]) -> tuple[int, int]:
        chosen = [p for p in free_ports(4) if p not in exclude]
        return chosen[0], chosen[1]

    def _down(self) -> dict | None:
        st = self._read()
        if st:
            postgres.stop_recorded(st)
            stop(st["registry"].get("pid"), registry.MARKER, popen=self._procs.get("registry"))
            nodes = quorum.nodes_of(st)
            for node in nodes[1:]:  # all nodes at once: a quorum's last node alone would wait for the others
                kill_group(node.get("pid"), broker.MARKER, signal_name="SIGTERM")
            for node in nodes:
                key = f"broker-{node['node_id']}" if "node_id" in node else "broker"
                stop(node.get("pid"), broker.MARKER, popen=self._procs.get(key))
            for part in quorum.pid_files(st):
                (self.var / f"{part}.pid").unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        for part in ("broker", "registry"):
            (self.var / f"{part}.pid").unlink(missing_ok=True)
        return st
