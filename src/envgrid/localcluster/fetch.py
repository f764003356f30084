"""Download the broker's jars and the registry's distribution into the cache, once.

Cache: $ENVGRID_CACHE_DIR (default ~/.cache/envgrid). A `.complete` marker in each directory says
the fetch finished; a present marker means no Maven run (and no network) at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import FetchFailed, MavenCentralUnreachable, MavenNotFound

KAFKA_VERSION = "4.1.1"
REGISTRY_VERSION = "3.3.3"
REGISTRY_ARTIFACT = f"io.apicurio:apicurio-registry-app:{REGISTRY_VERSION}:tar.gz:all"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
KAFKA_POM = Path(__file__).parent / "kafka" / "pom.xml"
MARKER = ".complete"

_UNREACHABLE = ("unknownhost", "unknown host", "connection refused", "connect timed out",
                "could not transfer", "network is unreachable", "no route to host",
                "connection reset", "read timed out", "temporary failure in name resolution",
                "no plugin found for prefix")


def cache_dir() -> Path:
    return Path(os.environ.get("ENVGRID_CACHE_DIR") or Path.home() / ".cache" / "envgrid").expanduser()


@contextmanager
def _locked(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # two sessions fetching at once wait for each other
        yield


def _mvn(args: Sequence[str], what: str, cwd: Path | None = None) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFound(what)
    proc = subprocess.run([mvn, "-B", "-q", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        tail = "\n".join(out.splitlines()[-15:])
        if any(s in out.lower() for s in _UNREACHABLE):
            raise MavenCentralUnreachable(what, tail)
        raise FetchFailed(what, tail)


def _stamp(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _done(target: Path, stamp: str) -> bool:
    marker = target / MARKER
    return marker.is_file() and marker.read_text().strip() == stamp


def kafka_libs(cache: Path | None = None, mvn_args: Sequence[str] = ()) -> Path:
    """Directory holding every runtime jar of kafka_2.13 (plus log4j 2 / slf4j 2)."""
    cache = cache or cache_dir()
    target = cache / f"kafka-{KAFKA_VERSION}"
    stamp = _stamp(KAFKA_POM.read_text())
    if _done(target, stamp):
        return target / "libs"
    with _locked(cache):
        if _done(target, stamp):
            return target / "libs"
        shutil.rmtree(target, ignore_errors=True)
        _mvn([*mvn_args, "-f", str(KAFKA_POM), f"{DEPENDENCY_PLUGIN}:copy-dependencies", "-DincludeScope=runtime",
              f"-DoutputDirectory={target / 'libs'}"], f"Kafka {KAFKA_VERSION} jars")
        (target / MARKER).write_text(stamp)
    return target / "libs"


def registry_home(cache: Path | None = None, mvn_args: Sequence[str] = ()) -> Path:
    """Unpacked Apicurio Registry distribution (contains quarkus-run.jar)."""
    cache = cache or cache_dir()
    target = cache / f"apicurio-registry-{REGISTRY_VERSION}"
    stamp = _stamp(REGISTRY_ARTIFACT)
    if _done(target, stamp):
        return target
    with _locked(cache):
        if _done(target, stamp):
            return target
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
            _mvn([*mvn_args, f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={REGISTRY_ARTIFACT}",
                  f"-DoutputDirectory={tmp}"], f"Apicurio Registry {REGISTRY_VERSION}", cwd=Path(tmp))
            (tarball,) = Path(tmp).glob("*.tar.gz")
            staging = Path(tmp) / "dist"
            with tarfile.open(tarball) as tar:
                tar.extractall(staging, filter="data")
            if not (staging / "quarkus-run.jar").is_file():
                raise FetchFailed(f"Apicurio Registry {REGISTRY_VERSION}",
                                  f"{tarball.name} has no quarkus-run.jar at its top level")
            staging.rename(target)
        (target / MARKER).write_text(stamp)
    return target
