"""The pseudonym key: the ONE reader of ENVGRID_PSEUDONYM_KEY_FILE, ENVGRID_PSEUDONYM_KEY and
ENVGRID_PSEUDONYM_KEY_VERSION (what `envgrid.domain.privacy` computes complainant tokens with).

ENVGRID_PSEUDONYM_KEY_FILE  a file whose content is the key (at least 32 bytes; surrounding whitespace is
                            ignored), readable by its owner only (mode 0600 or stricter): the production way.
ENVGRID_PSEUDONYM_KEY       the key itself, for tests and throw-away runs (an environment is easier to leak).
ENVGRID_PSEUDONYM_KEY_VERSION  the key's version (`k2025`, 1–32 of A–Z a–z 0–9 _ -), the prefix of every token;
                            a new key needs a new version. Unset: `fp-` and 8 hex digits of a fingerprint of
                            the key, so a different key never reuses a version.

Secure by default: without a key, a worker refuses to start (`PseudonymKeyError`, exit 2), except on the
local development cluster, where `local_key_file` makes one under the run state directory
(`var/pseudonym.key`, mode 0600) the first time; the demo does the same.

Rotation: set the new file and version and restart the workers. Tokens of the same complainant differ
across versions (by design); the restricted identity topic records the version of each token.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from envgrid.domain.privacy import MIN_KEY_BYTES, PseudonymKey

KEY_FILE_ENV = "ENVGRID_PSEUDONYM_KEY_FILE"
KEY_ENV = "ENVGRID_PSEUDONYM_KEY"
KEY_VERSION_ENV = "ENVGRID_PSEUDONYM_KEY_VERSION"
LOCAL_KEY_FILE = "pseudonym.key"  # under the run state directory (envgrid.paths.var_dir())


class PseudonymKeyError(ValueError):
    """No usable key; the message names the setting or file and what to do."""


def pseudonym_key(env: Mapping[str, str] | None = None) -> PseudonymKey | None:
    """The key the environment names, None when it names none. Errors name the file or variable."""
    env = os.environ if env is None else env
    path, inline = env.get(KEY_FILE_ENV, "").strip(), env.get(KEY_ENV, "").strip()
    if path and inline:
        raise PseudonymKeyError(f"both {KEY_FILE_ENV} and {KEY_ENV} are set; set only one (the file in production)")
    if path:
        return _key(read_key_file(Path(path)), f"{KEY_FILE_ENV}={path}", env.get(KEY_VERSION_ENV, ""))
    if inline:
        return _key(inline.encode("utf-8"), KEY_ENV, env.get(KEY_VERSION_ENV, ""))
    return None


def required_pseudonym_key(env: Mapping[str, str] | None = None, local_dir: Path | None = None) -> PseudonymKey:
    """The configured key; else, when `local_dir` is given (a local development cluster), the key file in it,
    made if missing; else PseudonymKeyError saying how to configure one."""
    key = pseudonym_key(env)
    if key is not None:
        return key
    if local_dir is not None:
        path = local_key_file(local_dir)
        return _key(read_key_file(path), str(path), "")
    raise PseudonymKeyError(
        f"no pseudonym key: set {KEY_FILE_ENV} to a file holding the key, readable by its owner only (e.g. "
        f"`(umask 077; python -c 'import secrets; print(secrets.token_hex(32))' > /etc/envgrid/pseudonym.key)`), "
        f"and {KEY_VERSION_ENV} to its version (e.g. k1). Complainant tokens on department topics are computed "
        f"with it; the worker does not start without one.")


def local_key_file(directory: Path) -> Path:
    """`<directory>/pseudonym.key`, made with a fresh random key (mode 0600) when it does not exist."""
    path = directory / LOCAL_KEY_FILE
    directory.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    return path


def read_key_file(path: Path) -> bytes:
    """The key in `path`; refuses a file that others than its owner can read."""
    try:
        mode = path.stat().st_mode
        secret = path.read_bytes().strip()
    except OSError as error:
        raise PseudonymKeyError(f"{path}: cannot read the pseudonym key file ({error.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PseudonymKeyError(f"{path}: the pseudonym key file is open to others (mode {stat.filemode(mode)}); "
                                f"`chmod 600 {path}`")
    return secret


def _key(secret: bytes, where: str, version: str) -> PseudonymKey:
    if len(secret) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"{where}: the key has {len(secret)} bytes, fewer than {MIN_KEY_BYTES}; make one with "
                                f"`python -c 'import secrets; print(secrets.token_hex(32))'`")
    try:
        return PseudonymKey(version.strip() or fingerprint_version(secret), secret)
    except ValueError as error:
        raise PseudonymKeyError(f"{KEY_VERSION_ENV}: {error}") from None


def fingerprint_version(secret: bytes) -> str:
    """A version derived from the key itself, for a key given without one: another key, another version."""
    return "fp-" + hashlib.sha256(b"envgrid pseudonym key version\0" + secret).hexdigest()[:8]
