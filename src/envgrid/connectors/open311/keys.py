"""API keys (Open311's `api_key`), one per channel or partner, kept only as SHA-256 digests.

The keys file (YAML, `--keys` or ENVGRID_OPEN311_KEYS_FILE):

    keys:
      - {name: wenzhou-web, channel: WEB, sha256: 5e88…}   # the digest of the key, never the key

A key is a long random token handed to one partner (`python -m envgrid.connectors.open311 new-key NAME`
makes one and prints its entry), so an unsalted digest is enough: nothing to guess from it, and a leaked file
holds no usable key. `name` identifies the partner in event ids and metrics; `channel` is the complaint's
Channel (config: schemas/types/Channel.avsc).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from envgrid import paths
from envgrid.domain.config_errors import ConfigError, read_yaml, validate_model

KEYS_FILE_ENV = "ENVGRID_OPEN311_KEYS_FILE"


@dataclass(frozen=True)
class Partner:
    """Who a key belongs to: a partner (or channel) name and the Channel its complaints carry."""

    name: str
    channel: str


class ApiKeys:
    """Checks a presented key against the digests; constant-time per digest."""

    def __init__(self, digests: Mapping[str, Partner]) -> None:
        self._digests = dict(digests)

    def __len__(self) -> int:
        return len(self._digests)

    def partner(self, key: str | None) -> Partner | None:
        """The key's partner, or None for a missing or unknown key."""
        if not key:
            return None
        digest = digest_of(key)
        for known, partner in self._digests.items():
            if hmac.compare_digest(known, digest):
                return partner
        return None


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def load_keys(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> ApiKeys:
    """The keys of `path`, else of the file ENVGRID_OPEN311_KEYS_FILE names; ConfigError naming file and entry."""
    env = os.environ if env is None else env
    chosen = path or env.get(KEYS_FILE_ENV, "").strip()
    if not chosen:
        raise ConfigError(Path("(none)"), "keys", f"no API keys file: pass --keys or set {KEYS_FILE_ENV}")
    path = Path(chosen)
    parsed = validate_model(_KeysFile, read_yaml(path), path)
    channels = set(_channels())
    digests: dict[str, Partner] = {}
    names: set[str] = set()
    for index, entry in enumerate(parsed.keys):
        where = f"keys[{index}] ({entry.name})"
        if entry.channel not in channels:
            raise ConfigError(path, where, f"channel {entry.channel!r} is not one of {', '.join(sorted(channels))}")
        if entry.name in names or entry.sha256 in digests:
            raise ConfigError(path, where, "duplicate name or digest")
        names.add(entry.name)
        digests[entry.sha256.lower()] = Partner(entry.name, entry.channel)
    return ApiKeys(digests)


def _channels() -> list[str]:
    """The Channel enum's symbols, from its .avsc (the one source of the channel names)."""
    return list(json.loads((paths.SCHEMAS_DIR / "types" / "Channel.avsc").read_text(encoding="utf-8"))["symbols"])


class _KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    channel: str = "WEB"
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class _KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[_KeyEntry] = Field(min_length=1)
