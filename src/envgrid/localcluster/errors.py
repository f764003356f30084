"""Errors raised while fetching, starting or stopping the local cluster.

Every message says what went wrong and what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class LocalClusterError(RuntimeError):
    """Base class: anything that stops the local broker or registry from running."""


class JavaNotFound(LocalClusterError):
    def __init__(self, searched: str, min_version: int, purpose: str):
        super().__init__(
            f"No Java found for {purpose} (searched {searched}). "
            f"It needs Java {min_version}+. {install_hint(min_version)}"
        )


class JavaTooOld(LocalClusterError):
    def __init__(self, java: str, found: int, min_version: int, purpose: str):
        super().__init__(
            f"{purpose} needs Java {min_version}+, but {java} is Java {found}. "
            f"{install_hint(min_version)}"
        )


def install_hint(min_version: int) -> str:
    if min_version <= 17:
        return ("Install it with `apt-get install openjdk-17-jre-headless` "
                "or point JAVA_HOME at a JDK/JRE 17+.")
    return (f"Install a Java {min_version}+ runtime (e.g. `apt-get install openjdk-{min_version}-jre-headless`, "
            f"or Temurin {min_version} from https://adoptium.net) and point ENVGRID_REGISTRY_JAVA_HOME "
            f"(or JAVA_HOME) at it; JDKs under /usr/lib/jvm are found automatically.")


class MavenNotFound(LocalClusterError):
    def __init__(self, what: str):
        super().__init__(
            f"Maven (`mvn`) is not on PATH, and it is needed once to download {what} into the cache. "
            "Install it with `apt-get install maven`, or fill the cache on another machine and copy it "
            "to $ENVGRID_CACHE_DIR (default ~/.cache/envgrid)."
        )


class MavenCentralUnreachable(LocalClusterError):
    def __init__(self, what: str, output_tail: str):
        super().__init__(
            f"Maven could not download {what}: Maven Central is unreachable. Check the network / "
            "proxy (~/.m2/settings.xml <proxies> or a <mirror>), then run `python -m envgrid.localcluster up` "
            f"again. Maven said:\n{output_tail}"
        )


class FetchFailed(LocalClusterError):
    def __init__(self, what: str, output_tail: str):
        super().__init__(f"Maven failed to fetch {what}. Maven said:\n{output_tail}")


class PortInUse(LocalClusterError):
    def __init__(self, host: str, port: int, purpose: str):
        super().__init__(
            f"Port {host}:{port} (wanted for the {purpose}) is already in use. Find the owner with "
            f"`ss -ltnp 'sport = :{port}'` and stop it, or do not fix the port so a free one is chosen."
        )


class NotReady(LocalClusterError):
    """A started process did not answer in time (or died first)."""

    def __init__(self, what: str, address: str, timeout: float, log_path: Path, detail: str = ""):
        self.address, self.log_path = address, log_path
        super().__init__(
            f"The {what} at {address} did not answer within {timeout:g} s{detail}. "
            f"Look at its log: {log_path}"
        )


class BrokerNotReady(NotReady):
    def __init__(self, address: str, timeout: float, log_path: Path, detail: str = ""):
        super().__init__("Kafka broker", address, timeout, log_path, detail)


class BrokerExited(BrokerNotReady):
    """The broker's JVM ended while starting: worth one more try on fresh ports and storage."""


class RegistryNotReady(NotReady):
    def __init__(self, address: str, timeout: float, log_path: Path, detail: str = ""):
        super().__init__("Apicurio schema registry", address, timeout, log_path, detail)
