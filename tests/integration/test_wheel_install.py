"""A regular install works as a user sees it: `pip install` of the built wheel into a fresh virtual
environment, run from a directory outside the checkout, runs the worker and the demo against the test
cluster, and the worker refuses to start without a cluster.

The new environment gets its dependencies from the dev environment's site-packages through a `.pth` line, not
its editable envgrid: a directory named in a `.pth` file is put on sys.path without running the `.pth` files
inside it, so the editable install's path to `src/` never shows. Building the wheel needs setuptools from
PyPI (or pip's cache): the build runs isolated, as `pip install .` does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Producer

from envgrid.connectors.catalogue import Catalogue
from envgrid.connectors.samples import sample_events
from envgrid.connectors.serde import EventCodec, registry_client
from envgrid.domain.case_ids import case_id_for
from envgrid.localcluster.cluster import LocalCluster
from envgrid.localcluster.proc import stop
from tests.integration.pipeline_process import TEST_KEY_ENV, grant_units, read_all

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "envgrid"
# package data that must ship, as globs relative to src/envgrid/ (each must match files in the checkout)
PACKAGE_DATA = ("config/*.yaml", "config/*/*.yaml", "config/roster/*.csv", "schemas/*.avsc", "schemas/types/*.avsc",
                "schemas/history/*/*.avsc", "data/wenzhou/*", "localcluster/kafka/log4j2.yaml",
                "localcluster/kafka/pom.xml", "py.typed")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    bin: Path
    python: Path
    home: Path  # the working directory of every command: outside the checkout

    def env(self, var_dir: Path, cluster=None) -> dict[str, str]:
        """The environment of a user's shell: no envgrid settings but the run directory (and the cluster)."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("ENVGRID_") and key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env["ENVGRID_VAR_DIR"] = str(var_dir)
        if cluster is not None:
            env.update(cluster.env())  # addresses and credentials (the pipeline principal's properties file)
        return env

    def run(self, command: list[str], var_dir: Path, cluster=None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=self.home, env=self.env(var_dir, cluster), capture_output=True, text=True,
                              timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    # Build from a copy of what the wheel is made of, so the build leaves nothing in the checkout (build/, egg-info).
    source = root / "source"
    source.mkdir()
    shutil.copy2(REPO / "pyproject.toml", source)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = root / "dist"
    _check([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)], "build the wheel", timeout=300)
    [wheel] = dist.glob("envgrid-*.whl")

    venv = root / "venv"
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)], "create the venv")
    python = venv / "bin" / "python"
    _check([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-input", str(wheel)],
           "install the wheel", timeout=120)
    site_packages = Path(_check([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                "find site-packages").strip())
    dependencies = dict.fromkeys(sysconfig.get_path(name) for name in ("purelib", "platlib"))
    (site_packages / "dev-dependencies.pth").write_text("".join(f"{path}\n" for path in dependencies))
    home = root / "home"
    home.mkdir()
    return Installed(wheel, venv, venv / "bin", python, home)


def test_the_wheel_holds_the_package_data(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for pattern in PACKAGE_DATA:
        files = [path for path in PACKAGE.glob(pattern) if path.is_file()]
        assert files, f"{pattern} matches nothing in {PACKAGE}"
        missing = [str(path.relative_to(PACKAGE)) for path in files
                   if f"envgrid/{path.relative_to(PACKAGE).as_posix()}" not in names]
        assert not missing, f"the wheel lacks {missing}"
    entry_points = zipfile.ZipFile(installed.wheel).read("envgrid-0.1.0.dist-info/entry_points.txt").decode()
    for script in ("envgrid-demo", "envgrid-worker", "envgrid-catalogue", "envgrid-deadletters", "envgrid-calendar",
                   "envgrid-cluster", "envgrid-department"):
        assert f"{script} = " in entry_points
        assert (installed.bin / script).exists()


def test_the_installed_package_is_imported_and_finds_its_files(installed, tmp_path):
    probe = ("import sys, envgrid, envgrid.paths as p\n"
             "print(envgrid.__file__)\n"
             "print(p.var_dir())\n"
             "for f in (p.DEPARTMENTS_FILE, p.TOPICS_FILE, p.SLA_FILE, p.PIPELINE_FILE, p.ROSTER_FILE, p.VILLAGES_CSV,\n"
             "          p.BOUNDARIES_GEOJSON, p.SCHEMAS_DIR / 'PetitionComplaint.avsc', p.CALENDAR_DIR / '2027.yaml'):\n"
             "    assert f.is_file(), f\n"
             "assert not [x for x in sys.path if x.startswith(sys.argv[1])], sys.path\n")
    result = installed.run([str(installed.python), "-c", probe, str(REPO / "src")], tmp_path / "var")
    assert result.returncode == 0, result.stderr
    module_file, var_dir = result.stdout.split()
    assert Path(module_file).is_relative_to(installed.venv), f"envgrid imported from {module_file}, not the new venv"
    assert Path(var_dir) == tmp_path / "var"
    # a command that reads configuration only: the topic catalogue from the installed package data
    listed = installed.run([str(installed.bin / "envgrid-catalogue"), "list", "--prefix", "wheel"], tmp_path / "var")
    assert listed.returncode == 0, listed.stderr
    assert "wheel.intake.petition-complaints" in listed.stdout


@pytest.mark.parametrize("command", [["envgrid-worker"], ["envgrid-catalogue", "plan"], ["envgrid-deadletters", "list"]])
def test_the_installed_commands_do_not_start_a_cluster(installed, tmp_path, command):
    var_dir = tmp_path / "var"  # no cluster settings, no local cluster recorded here
    result = installed.run([str(installed.bin / command[0]), *command[1:]], var_dir, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "No cluster configured" in result.stderr and "does not start one by itself" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (var_dir / "cluster.json").exists()


def test_the_installed_worker_routes_a_complaint(cluster, installed, tmp_path, unique_name):
    prefix = unique_name("wheel")
    var_dir = tmp_path / "var"
    applied = installed.run([str(installed.bin / "envgrid-catalogue"), "apply", "--prefix", prefix], var_dir, cluster)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [str(installed.bin / "envgrid-worker"), "--app-id", prefix, "--topic-prefix", prefix,
             "--processors", "router,cases", "--clock", "manual", "--metrics-port", "0"],
            cwd=installed.home, env=dict(installed.env(var_dir, cluster), **TEST_KEY_ENV), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        catalogue = Catalogue.load(prefix=prefix, env={})
        codec = EventCodec(registry_client(cluster), catalogue.event_type_of)
        complaint = dict(sample_events()["PetitionComplaint"], event_id=str(uuid.uuid4()))
        topic = catalogue.intake("PetitionComplaint")
        producer = Producer(cluster.kafka_config())
        producer.produce(topic, codec.encode("PetitionComplaint", complaint, topic), complaint["event_id"].encode())
        assert producer.flush(30) == 0
        departments = [spec.name for spec in catalogue.by_template("dept.{department}.cases")]
        case_id = case_id_for(complaint["event_id"])
        deadline = time.monotonic() + 180
        while True:
            dispatched = {name: [value for _, event, value, _ in records if event == "CaseDispatched"]
                          for name, records in read_all(cluster, codec, departments).items()}
            if any(value["case_id"] == case_id for values in dispatched.values() for value in values):
                break
            assert worker.poll() is None, f"the installed worker ended ({worker.returncode}): {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no dispatch on {prefix}.dept.*.cases; worker log: {log.read_text()[-3000:]}"
            time.sleep(1)
    finally:
        _stop(worker)
    assert (var_dir / "faust" / prefix).is_dir(), "the worker's table state is not under ENVGRID_VAR_DIR"


def test_the_installed_demo_runs(cluster, cluster_is_local, installed, tmp_path, unique_name):
    if not cluster_is_local or not cluster.security.sasl:
        pytest.skip("needs the secured local cluster: the simulated departments log in with their own credentials")
    prefix = unique_name("demo")
    var_dir = tmp_path / "var"
    grant_units(prefix)  # to the demo the session's cluster is external: its departments' ACLs are set apart
    demo = installed.run([str(installed.bin / "envgrid-demo"), "--count", "40", "--rate", "20", "--settle", "5",
                          "--seed", "7", "--prefix", prefix, "--metrics-port", str(_free_port()),
                          "--department-credentials", str(LocalCluster().credentials_dir())],
                         var_dir, cluster, timeout=400)
    worker_log = var_dir / "log" / "demo-worker.log"
    assert demo.returncode == 0, (f"{demo.stdout[-3000:]}\n{demo.stderr[-3000:]}\n"
                                  f"{worker_log.read_text()[-3000:] if worker_log.exists() else 'no worker log'}")
    assert worker_log.is_file(), "the demo's worker log is not under ENVGRID_VAR_DIR"
    assert "summary" in demo.stdout
    catalogue = Catalogue.load(prefix=prefix, env={})
    codec = EventCodec(registry_client(cluster), catalogue.event_type_of)
    departments = [spec.name for spec in catalogue.by_template("dept.{department}.cases")]
    dispatched = [value for records in read_all(cluster, codec, departments).values()
                  for _, event, value, _ in records if event == "CaseDispatched"]
    # 40 reports, a few of them repeats or broken: most open a case, each reaching one department or more
    assert len({value["case_id"] for value in dispatched}) >= 20, len(dispatched)


# --- helpers -------------------------------------------------------------------------------------

def _check(command: list[str], what: str, timeout: float = 60) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"could not {what}: {' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _stop(process: subprocess.Popen[bytes]) -> None:
    stop(process.pid, "envgrid-worker", timeout=30.0, popen=process)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
