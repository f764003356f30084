"""PostgreSQL for the case store on loopback: a fresh `initdb` under <var>/postgres/, a free port, its own socket
directory, started and stopped with the local cluster (`LocalCluster.case_store_up`).

Like the broker's storage, the data directory is made anew at each start: the store is derived from the
topics, which a fresh local cluster starts empty too. Secured like the broker: SCRAM-SHA-256 for every
connection (TCP on 127.0.0.1 and the socket), one superuser `envgrid` whose password is generated once and
kept owner-only in <var>/credentials/case-store.pgpass (libpq's password file), so the DSN names the file,
never the password. PostgreSQL refuses to run as root: as root, initdb and the server run as the `postgres`
user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import credentials
from .errors import LocalClusterError, NotReady
from .proc import HOST, alive, free_port, kill_group, log_tail, rotate_logs, spawn

SUPERUSER = "envgrid"
DATABASE = "envgrid"
PASSFILE = "case-store.pgpass"
RUN_AS = "postgres"  # Debian's package creates this system user
INSTALL_HINT = "Install PostgreSQL: apt-get install -y postgresql (scripts/setup.sh does it)."


@dataclass(frozen=True)
class Postgres:
    """A started server: what cluster.json records about it."""

    pid: int
    port: int
    home: Path  # <var>/postgres: data/, run/ (the socket)
    log: Path
    passfile: Path

    @property
    def dsn(self) -> str:
        return dsn(self.port, self.passfile)

    @property
    def marker(self) -> str:
        return str(self.home / "data")  # in the server's command line: guards pid checks


def dsn(port: int, passfile: Path, database: str = DATABASE) -> str:
    """A libpq connection string to the local server that names the password file, not the password."""
    return f"host={HOST} port={port} dbname={database} user={SUPERUSER} passfile={passfile}"


def find_binary(name: str) -> str:
    """`name` (initdb, postgres) on PATH, else in the newest /usr/lib/postgresql/<major>/bin (Debian keeps them
    off PATH)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _major(p.parent.name), reverse=True)
    for directory in versions:
        if (directory / name).is_file():
            return str(directory / name)
    raise LocalClusterError(f"PostgreSQL's {name} is neither on PATH nor in /usr/lib/postgresql/*/bin. {INSTALL_HINT}")


def start(var: Path, port: int, timeout: float = 60.0) -> Postgres:
    """initdb a fresh data directory, start the server on `port` and wait until it lets the superuser in."""
    initdb, postgres = find_binary("initdb"), find_binary("postgres")
    home, log = var / "postgres", var / "log" / "postgres.log"
    user = _server_user()
    shutil.rmtree(home, ignore_errors=True)
    (home / "run").mkdir(parents=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    rotate_logs(log.parent, (log.name,))
    password = _password(var)
    pwfile = home / "initdb.pw"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if user is not None:
        _give(home, user)
    try:
        made = subprocess.run([initdb, "-D", str(home / "data"), "-U", SUPERUSER, f"--pwfile={pwfile}",
                               "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                              capture_output=True, text=True, timeout=120, user=user, cwd=home)
    finally:
        pwfile.unlink(missing_ok=True)
    if made.returncode != 0:
        raise LocalClusterError(f"initdb of {home / 'data'} failed (code {made.returncode}):\n"
                                f"{(made.stdout + made.stderr).strip()[-2000:]}")
    passfile = _write_passfile(var, password)
    argv = [postgres, "-D", str(home / "data"), "-p", str(port), "-k", str(home / "run"),
            "-c", f"listen_addresses={HOST}", "-c", "max_connections=40", "-c", "shared_buffers=64MB"]
    proc = _spawn(argv, log, home, user)
    server = Postgres(proc.pid, port, home, log, passfile)
    wait_ready(server, timeout, proc)
    import psycopg

    with psycopg.connect(dsn(port, passfile, "postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")  # initdb makes `postgres`; the store gets its own
    return server


def ensure(st: dict, var: Path) -> str:
    """The DSN of the server recorded in the cluster state `st`, started (and recorded there) if it does not run."""
    running = running_dsn(st)
    if running:
        return running
    t0 = time.monotonic()
    server = start(var, free_port())
    st["postgres"] = {"pid": server.pid, "port": server.port, "marker": server.marker, "dsn": server.dsn,
                      "log": str(server.log), "data": str(server.home / "data"), "ready_s": round(time.monotonic() - t0, 2)}
    return server.dsn


def running_dsn(st: dict) -> str | None:
    """The DSN of the server the cluster state `st` records, if it runs."""
    pg = st.get("postgres")
    return str(pg["dsn"]) if pg and alive(pg.get("pid"), pg["marker"]) else None


def stop_recorded(st: dict) -> None:
    pg = st.get("postgres")
    if pg:
        stop(pg.get("pid"), pg["marker"])


def wait_ready(server: Postgres, timeout: float, popen: subprocess.Popen | None = None) -> float:
    """Block until the superuser can connect to the `postgres` database; return the seconds it took."""
    import psycopg

    t0 = time.monotonic()
    while True:
        if not alive(server.pid, server.marker):
            how = "" if popen is None or popen.poll() is None else f" (exit code {popen.returncode})"
            raise NotReady("PostgreSQL server", f"{HOST}:{server.port}", timeout, server.log,
                           f": it ended{how}; its log's last lines:\n{log_tail(server.log, 15)}\n")
        try:
            with psycopg.connect(dsn(server.port, server.passfile, "postgres"), connect_timeout=2):
                return time.monotonic() - t0
        except psycopg.OperationalError:
            if time.monotonic() - t0 > timeout:
                raise NotReady("PostgreSQL server", f"{HOST}:{server.port}", timeout, server.log) from None
            time.sleep(0.1)


def stop(pid: int | None, marker: str, timeout: float = 20.0) -> None:
    """Fast shutdown (SIGINT to the postmaster: sessions are ended, not waited for), then SIGKILL to its group."""
    if not alive(pid, marker):
        return
    assert pid is not None
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    kill_group(pid, marker)  # still there after `timeout`: SIGKILL


# --- helpers -------------------------------------------------------------------------------------


def _server_user() -> str | None:
    """The user to run initdb and the server as: None (this one) unless this is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        raise LocalClusterError(f"PostgreSQL will not run as root, and there is no `{RUN_AS}` user to run it as. "
                                f"{INSTALL_HINT}") from None
    return RUN_AS


def _give(home: Path, user: str) -> None:
    """Hand `home` to the server's user; every directory above it must let that user through."""
    entry = pwd.getpwnam(user)
    for path in [home, *home.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent in home.parents:
        if not parent.stat().st_mode & 0o001:
            raise LocalClusterError(f"PostgreSQL runs as the user {user}, who cannot reach {home}: {parent} is not "
                                    f"searchable by others (chmod o+x {parent}, or choose another --var-dir)")


def _spawn(argv: list[str], log: Path, cwd: Path, user: str | None) -> subprocess.Popen:
    if user is None:
        return spawn(argv, log, cwd)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, user=user)


def _password(var: Path) -> str:
    """The superuser's password: made once, kept with the other local credentials (owner-only)."""
    path = credentials.directory(var) / PASSFILE
    if path.exists():
        line = path.read_text().strip().splitlines()[0]
        return line.rsplit(":", 1)[1]
    return secrets.token_urlsafe(24)


def _write_passfile(var: Path, password: str) -> Path:
    """libpq's password file (`host:port:database:user:password`, 0600) for the superuser on loopback."""
    directory = credentials.directory(var)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / PASSFILE
    credentials.write_private(path, f"{HOST}:*:*:{SUPERUSER}:{password}\n")
    return path


def _major(name: str) -> int:
    return int(name) if name.isdigit() else -1
