"""The deploy manifests pass kubeconform with the real schemas (Kubernetes' OpenAPI, Strimzi's and KEDA's CRDs),
the checker rejects the mistakes it should, and the systemd units pass `systemd-analyze verify`.

The first run builds kubeconform and makes the schemas (Go module proxy and Maven Central, ~1-3 min, cached in
~/.cache/envgrid); later runs take seconds and no network. A tool that cannot be had fails the test, saying
what to install: it is never skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from envgrid.deploy.validate import Report, ValidationUnavailable, resource_files, validate

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
SYSTEMD = REPO_ROOT / "deploy" / "systemd"


def _validate(files: list[Path]) -> Report:
    try:
        return validate(files)
    except ValidationUnavailable as error:
        pytest.fail(f"the offline check of the manifests cannot run: {error}")


def test_every_manifest_passes_kubeconform() -> None:
    files = resource_files(K8S)
    documents = [d for path in files for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
    report = _validate(files)
    assert report.errors == []
    assert report.total == len(documents)
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "StatefulSet", "Deployment", "Service",
            "ScaledObject", "TriggerAuthentication"} <= set(report.valid)


@pytest.mark.parametrize(("file", "kind", "mistake", "expected"), [
    ("kafka-topics.yaml", "KafkaTopic", lambda r: r["spec"].update(partitions="six"), "want integer"),
    ("kafka-users.yaml", "KafkaUser",  # Strimzi's v1beta2 spelling, gone from v1
     lambda r: r["spec"]["authorization"]["acls"][0].update(operation="Read"), "'operation' not allowed"),
    ("kafka-cluster.yaml", "Kafka",
     lambda r: r["spec"]["kafka"]["listeners"][0]["authentication"].update(type="scram-sha-1"), "must be one of"),
    ("worker.yaml", "StatefulSet",
     lambda r: r["spec"]["template"]["spec"]["containers"][0].update(volumeMount=[]), "'volumeMount' not allowed"),
    ("worker-autoscaling.yaml", "ScaledObject",
     lambda r: r["spec"]["triggers"][0].update(authRef={"name": "x"}), "'authRef' not allowed"),
    ("registry.yaml", "Service", lambda r: r["metadata"].update(label={}), "'label' not allowed"),
    ("kafka-topics.yaml", "KafkaTopic", lambda r: r.update(apiVersion="kafka.strimzi.io/v1beta2"), "could not find schema"),
])
def test_kubeconform_rejects_a_mistake(tmp_path: Path, file: str, kind: str, mistake, expected: str) -> None:
    # the last of its kind: a KafkaUser with ACLs (the first is the super user, without)
    resource = [d for d in yaml.safe_load_all((K8S / file).read_text(encoding="utf-8")) if d["kind"] == kind][-1]
    mistake(resource)
    broken = tmp_path / file
    broken.write_text(yaml.safe_dump(resource), encoding="utf-8")
    report = _validate([broken])
    assert len(report.errors) == 1 and expected in report.errors[0], report.errors


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` reads every unit as systemd would (keys, values, specifiers, dependencies) and
    checks that each command exists: the worker's, installed by pip into /opt/envgrid, is a stub here."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is not installed: apt-get install -y systemd (scripts/setup.sh does)")
    stub = tmp_path / "envgrid-worker"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    units = []
    for unit in sorted(SYSTEMD.glob("*.service")) + sorted(SYSTEMD.glob("*.target")):
        text = unit.read_text(encoding="utf-8").replace("/opt/envgrid/bin/envgrid-worker", str(stub))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
        units.append(str(tmp_path / unit.name.replace("@.service", "@9464.service")))
    result = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=120,
                            check=False, cwd=tmp_path)
    # verify exits 0 on an unknown key or a bad value too; it says so, and anything it says is a finding
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    assert len(units) == 5


def test_systemd_analyze_would_report_a_misspelt_key(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze") or "systemd-analyze"
    unit = tmp_path / "envgrid-kafka.service"
    unit.write_text((SYSTEMD / "envgrid-kafka.service").read_text(encoding="utf-8").replace("Restart=", "Restrat="))
    result = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=120,
                            check=False, cwd=tmp_path)
    assert "Unknown key 'Restrat'" in result.stderr
