"""Find a Java runtime that is new enough.

The broker needs Java 17+; Apicurio Registry 3.3 is compiled for Java 21 (class file 65).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import JavaNotFound, JavaTooOld

BROKER_JAVA = 17
REGISTRY_JAVA = 21
JVM_DIRS = ("/usr/lib/jvm",)  # scanned for the registry's Java 21+ when the default one is older

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_version(java: str) -> int:
    """Major version of `java` (8 for "1.8.0_x")."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    m = _VERSION.search(out.stderr + out.stdout)
    if not m:
        raise JavaNotFound(f"{java} (unreadable `-version` output)", BROKER_JAVA, "the local cluster")
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _default_java(env: dict[str, str]) -> tuple[str | None, str]:
    home = env.get("JAVA_HOME")
    if home:
        cand = Path(home) / "bin" / "java"
        return (str(cand) if os.access(cand, os.X_OK) else None), f"JAVA_HOME={home}"
    return shutil.which("java", path=env.get("PATH", "")), "PATH"


def find_java(min_version: int = BROKER_JAVA, purpose: str = "the Kafka broker",
              env: dict[str, str] | None = None) -> str:
    """JAVA_HOME/bin/java, else `java` on PATH; it must be `min_version`+."""
    env = dict(os.environ if env is None else env)
    java, searched = _default_java(env)
    if java is None:
        raise JavaNotFound(searched, min_version, purpose)
    found = java_version(java)
    if found < min_version:
        raise JavaTooOld(java, found, min_version, purpose)
    return java


def find_registry_java(env: dict[str, str] | None = None, jvm_dirs=JVM_DIRS) -> str:
    """A Java 21+ for Apicurio: ENVGRID_REGISTRY_JAVA_HOME, JAVA_HOME/PATH, then JDKs in /usr/lib/jvm."""
    env = dict(os.environ if env is None else env)
    purpose = "Apicurio Registry 3.x"
    if env.get("ENVGRID_REGISTRY_JAVA_HOME"):
        return find_java(REGISTRY_JAVA, purpose, {"JAVA_HOME": env["ENVGRID_REGISTRY_JAVA_HOME"]})
    candidates: list[str] = []
    default, searched = _default_java(env)
    if default:
        candidates.append(default)
    for d in jvm_dirs:
        candidates += sorted(str(p) for p in Path(d).glob("*/bin/java") if os.access(p, os.X_OK))
    best: tuple[int, str] | None = None
    for cand in dict.fromkeys(candidates):
        try:
            v = java_version(cand)
        except (OSError, subprocess.SubprocessError, JavaNotFound):
            continue
        if v >= REGISTRY_JAVA:
            return cand
        best = max(best or (v, cand), (v, cand))
    if best is None:
        raise JavaNotFound(f"{searched} and {', '.join(jvm_dirs) or 'no JVM dirs'}", REGISTRY_JAVA, purpose)
    raise JavaTooOld(best[1], best[0], REGISTRY_JAVA, purpose)
