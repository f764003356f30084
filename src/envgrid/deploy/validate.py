"""`python -m envgrid.deploy.validate [--dir deploy/k8s]`: check the manifests offline with kubeconform.

Nothing is downloaded from a project's release page: every piece comes from a package registry, once, into
$ENVGRID_CACHE_DIR (default ~/.cache/envgrid), and later runs need no network at all.

- kubeconform: built from its Go module (`go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0`).
- Kubernetes' own kinds: the OpenAPI v3 spec of the API server (`api/openapi-spec/v3/` of the k8s.io/kubernetes
  Go module), every `$ref` inlined into one JSON schema per kind. kubeconform's usual schemas are fetched from
  GitHub at run time, which is not reachable here.
- Strimzi's kinds: the CRDs generated from `io.strimzi:api` (Maven Central) by Strimzi's own `crd-generator`,
  as Strimzi's build does (it needs a Java 21+ runtime, the one the local registry uses).
- KEDA's kinds: the CRDs in `config/crd/bases/` of the github.com/kedacore/keda/v2 Go module.

A CRD's schema becomes a JSON schema as kubeconform's openapi2jsonschema.py does it (its openAPIV3Schema, with
int-or-string and nullable spelled in JSON schema), and every schema is strict: an object with declared
properties takes no other (unless it says x-kubernetes-preserve-unknown-fields), so a misspelt field fails.
A CRD's `metadata` is checked as Kubernetes' ObjectMeta.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from envgrid.deploy.settings import KEDA_VERSION, KUBERNETES_VERSION, STRIMZI_VERSION
from envgrid.localcluster.errors import LocalClusterError
from envgrid.localcluster.fetch import DEPENDENCY_PLUGIN, _locked, _mvn, cache_dir
from envgrid.localcluster.java import find_registry_java

KUBECONFORM_VERSION = "v0.8.0"
KUBECONFORM_MODULE = "github.com/yannh/kubeconform/cmd/kubeconform"
#: the groups of Kubernetes' own kinds that get schemas (core v1, apps/v1, policy/v1, ...)
CORE_SPECS = ("api__v1_openapi.json", "apis__apps__v1_openapi.json", "apis__policy__v1_openapi.json",
              "apis__batch__v1_openapi.json", "apis__networking.k8s.io__v1_openapi.json",
              "apis__autoscaling__v2_openapi.json", "apis__rbac.authorization.k8s.io__v1_openapi.json")
STRIMZI_KINDS = ("kafka.Kafka", "nodepool.KafkaNodePool", "topic.KafkaTopic", "user.KafkaUser")
SCHEMA_LOCATION = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_MARKER = ".complete"
_GO = "ENVGRID_GO"  # the go binary, passed along in the environment of go commands


class ValidationUnavailable(RuntimeError):
    """A tool or schema could not be had; the message says which and what to install."""


@dataclass
class Report:
    """What kubeconform said about each resource."""

    valid: dict[str, int] = field(default_factory=dict)  # kind -> resources found valid
    errors: list[str] = field(default_factory=list)  # "<file>: <kind> <name>: <message>"

    @property
    def total(self) -> int:
        return sum(self.valid.values())


def validate(files: Sequence[Path], cache: Path | None = None) -> Report:
    """Run kubeconform over `files` with the cached schemas (fetched and built the first time)."""
    binary, schemas = tools(cache or cache_dir())
    command = [str(binary), "-strict", "-summary", "-verbose", "-output", "json", "-schema-location",
               str(schemas / SCHEMA_LOCATION), *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    try:
        output = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ValidationUnavailable(f"kubeconform gave no JSON (exit {result.returncode}): "
                                    f"{(result.stdout + result.stderr).strip()[-2000:]}") from None
    report = Report()
    for resource in output.get("resources") or []:
        where = f"{Path(resource['filename']).name}: {resource.get('kind')} {resource.get('name')}"
        if resource["status"] == "statusValid":
            report.valid[resource["kind"]] = report.valid.get(resource["kind"], 0) + 1
        else:
            details = "; ".join(f"{e.get('path', '')}: {e.get('msg', '')}" for e in resource.get("validationErrors") or [])
            report.errors.append(f"{where}: {resource['status']}: {resource.get('msg', '')} {details}".strip())
    if result.returncode != 0 and not report.errors:
        report.errors.append(f"kubeconform exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    return report


def tools(cache: Path) -> tuple[Path, Path]:
    """kubeconform and the schema directory; what is missing to make them is a ValidationUnavailable."""
    try:
        return kubeconform(cache), schema_dir(cache)
    except LocalClusterError as error:  # no Java 21+, no Maven, Maven Central unreachable
        raise ValidationUnavailable(f"the Strimzi CRDs cannot be made: {error}") from error


def kubeconform(cache: Path) -> Path:
    """The kubeconform binary, built from its Go module the first time."""
    binary = cache / "bin" / f"kubeconform-{KUBECONFORM_VERSION}"
    if binary.is_file():
        return binary
    with _locked(cache):
        if not binary.is_file():
            with _go_env(cache) as env, tempfile.TemporaryDirectory(dir=cache) as gobin:
                _go(["install", f"{KUBECONFORM_MODULE}@{KUBECONFORM_VERSION}"], {**env, "GOBIN": gobin},
                    f"kubeconform {KUBECONFORM_VERSION}")
                binary.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(Path(gobin) / "kubeconform"), binary)
    return binary


def schema_dir(cache: Path) -> Path:
    """JSON schemas of Kubernetes', Strimzi's and KEDA's kinds, made the first time."""
    target = cache / "k8s-schemas" / f"k8s-{KUBERNETES_VERSION}_strimzi-{STRIMZI_VERSION}_keda-{KEDA_VERSION}"
    if (target / _MARKER).is_file():
        return target
    with _locked(cache):
        if (target / _MARKER).is_file():
            return target
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".schemas-") as tmp:
            work = Path(tmp)
            with _go_env(cache, work / "gomod") as env:
                kubernetes = _go_module(f"k8s.io/kubernetes@v{KUBERNETES_VERSION}", env)
                core = _core_components(kubernetes / "api" / "openapi-spec" / "v3")
                out = work / "schemas"
                for (group, kind, version), schema in core_schemas(core).items():
                    _write(out / (group or version) / f"{kind.lower()}_{version}.json", schema)
                object_meta = strict(inline(core[_OBJECT_META], core))
                keda = _go_module(f"github.com/kedacore/keda/v2@v{KEDA_VERSION}", env)
                crds = [*sorted((keda / "config" / "crd" / "bases").glob("*.yaml")), *_strimzi_crds(work)]
                for path in crds:
                    for (group, kind, version), schema in crd_schemas(yaml.safe_load(path.read_text()), object_meta):
                        _write(out / group / f"{kind.lower()}_{version}.json", schema)
            target.parent.mkdir(parents=True, exist_ok=True)
            (work / "schemas").rename(target)
        (target / _MARKER).write_text(f"{KUBERNETES_VERSION} {STRIMZI_VERSION} {KEDA_VERSION}\n")
    return target


# --- schemas -------------------------------------------------------------------------------------


def core_schemas(components: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, kind, version) -> standalone strict schema, for every top-level kind of the OpenAPI components."""
    schemas = {}
    for name, component in components.items():
        for gvk in component.get("x-kubernetes-group-version-kind") or []:
            if name.startswith("io.k8s.api.") and not gvk["kind"].endswith("List"):
                schemas[(gvk["group"], gvk["kind"], gvk["version"])] = strict(inline(component, components))
    return schemas


def crd_schemas(crd: dict[str, Any], object_meta: dict[str, Any]) -> Iterator[tuple[tuple[str, str, str], dict[str, Any]]]:
    """(group, kind, version) and strict schema of every version a CRD serves."""
    spec = crd["spec"]
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        schema.setdefault("properties", {})["metadata"] = object_meta
        yield (spec["group"], spec["names"]["kind"], version["name"]), schema


def inline(schema: Any, components: dict[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """`schema` with every `#/components/schemas/` reference replaced by what it names (a reference back into
    itself, which no kind checked here has, by an empty schema)."""
    if isinstance(schema, list):
        return [inline(item, components, stack) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        return {} if name in stack else inline(components[name], components, (*stack, name))
    return {key: inline(value, components, stack) for key, value in schema.items()}


def strict(schema: Any) -> Any:
    """OpenAPI v3 as JSON schema, closed: declared properties only, int-or-string and nullable spelled out."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()
           if key not in ("format", "x-kubernetes-int-or-string")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["oneOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out and \
            not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


# --- fetching ------------------------------------------------------------------------------------


def _core_components(spec_dir: Path) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for name in CORE_SPECS:
        document = json.loads((spec_dir / name).read_text(encoding="utf-8"))
        components.update(document["components"]["schemas"])
    return components


def _strimzi_crds(work: Path) -> list[Path]:
    """Strimzi's CRDs as its build makes them: `crd-generator` over the `api` jar's classes."""
    jars = work / "strimzi"
    for artifact in ("api", "crd-generator"):
        _mvn([f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact=io.strimzi:{artifact}:{STRIMZI_VERSION}",
              f"-DoutputDirectory={jars}"], f"Strimzi {artifact} {STRIMZI_VERSION}", cwd=work)
    outputs = [work / f"strimzi-{kind.split('.')[1].lower()}.yaml" for kind in STRIMZI_KINDS]
    classpath = os.pathsep.join(str(jar) for jar in sorted(jars.glob("*.jar")))
    command = [find_registry_java(), "-cp", classpath, "io.strimzi.crdgenerator.CrdGenerator", "--yaml",
               "--crd-api-version", "v1", "--api-versions", "v1", "--storage-version", "v1",
               *(f"io.strimzi.api.kafka.model.{kind}={out}" for kind, out in zip(STRIMZI_KINDS, outputs, strict=True))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    missing = [out.name for out in outputs if not out.is_file()]
    if result.returncode != 0 or missing:
        raise ValidationUnavailable(f"Strimzi's crd-generator {STRIMZI_VERSION} failed (exit {result.returncode}, "
                                    f"missing {missing}): {(result.stdout + result.stderr).strip()[-2000:]}")
    return outputs


@contextmanager
def _go_env(cache: Path, modcache: Path | None = None) -> Iterator[dict[str, str]]:
    """The environment of `go` commands: modules in `modcache` (a temporary one is made writable again at
    the end, as Go keeps its module cache read-only), else in the cache's `gomod`."""
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
    if go is None:
        raise ValidationUnavailable("Go is not installed: kubeconform and the Kubernetes and KEDA schemas come from "
                                    "Go modules. Install Go 1.26+ (scripts/setup.sh says how).")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOMODCACHE": str(modcache or cache / "gomod"), _GO: go}
    try:
        yield env
    finally:
        if modcache is not None:
            _make_writable(modcache)


def _go(args: Sequence[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run([env[_GO], *args], env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise ValidationUnavailable(f"{what}: `go {' '.join(args)}` failed (the Go module proxy must be reachable "
                                    f"the first time): {(result.stdout + result.stderr).strip()[-2000:]}")
    return result.stdout


def _go_module(module: str, env: dict[str, str]) -> Path:
    """Where a downloaded Go module's files are."""
    return Path(json.loads(_go(["mod", "download", "-json", module], env, module))["Dir"])


def _write(path: Path, schema: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, sort_keys=True), encoding="utf-8")


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")] if root.exists() else []:
        if path.is_dir() and not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envgrid.deploy.validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("deploy/k8s"), help="manifests (default deploy/k8s)")
    parser.add_argument("--fetch-only", action="store_true", help="install kubeconform and the schemas, check nothing")
    args = parser.parse_args(argv)
    try:
        if args.fetch_only:
            binary, schemas = tools(cache_dir())
            print(f"kubeconform: {binary}\nschemas: {schemas}")
            return 0
        report = validate(resource_files(args.dir))
    except (ValidationUnavailable, OSError) as error:
        print(f"envgrid validate: {error}", file=sys.stderr)
        return 2
    for finding in report.errors:
        print(finding, file=sys.stderr)
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(report.valid.items()))
    print(f"{args.dir}: {report.total} resources valid ({kinds}); {len(report.errors)} invalid")
    return 1 if report.errors else 0


def resource_files(directory: Path) -> list[Path]:
    """The files a kustomization in `directory` lists (every one must exist), else every YAML file there."""
    kustomization = directory / "kustomization.yaml"
    if kustomization.is_file():
        listed = [directory / name for name in yaml.safe_load(kustomization.read_text())["resources"]]
        absent = [str(path) for path in listed if not path.is_file()]
        if absent:
            raise ValidationUnavailable(f"{kustomization} lists files that are not there: {', '.join(absent)}")
        return listed
    return sorted(directory.glob("*.yaml"))


if __name__ == "__main__":
    raise SystemExit(main())
