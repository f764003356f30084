"""The pseudonym key at the edge (envgrid.connectors.pseudonym_key) and the worker that will not start
without one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from envgrid.connectors.pseudonym_key import (
    KEY_ENV,
    KEY_FILE_ENV,
    KEY_VERSION_ENV,
    PseudonymKeyError,
    local_key_file,
    pseudonym_key,
    required_pseudonym_key,
)

SECRET = "0123456789abcdef" * 4


def _key_file(tmp_path: Path, content: str = SECRET + "\n", mode: int = 0o600) -> Path:
    path = tmp_path / "pseudonym.key"
    path.write_text(content)
    path.chmod(mode)
    return path


def test_a_key_file_readable_by_its_owner_only_is_read_with_its_version(tmp_path: Path) -> None:
    key = pseudonym_key({KEY_FILE_ENV: str(_key_file(tmp_path)), KEY_VERSION_ENV: "k2025"})
    assert key is not None and key.version == "k2025" and key.secret == SECRET.encode()


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = _key_file(tmp_path, mode=0o644)
    with pytest.raises(PseudonymKeyError, match=f"chmod 600 {path}"):
        pseudonym_key({KEY_FILE_ENV: str(path)})


def test_a_short_key_a_missing_file_two_keys_and_a_bad_version_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match=f"{KEY_ENV}: the key has 5 bytes"):
        pseudonym_key({KEY_ENV: "short"})
    with pytest.raises(PseudonymKeyError, match="cannot read the pseudonym key file"):
        pseudonym_key({KEY_FILE_ENV: str(tmp_path / "absent.key")})
    with pytest.raises(PseudonymKeyError, match="set only one"):
        pseudonym_key({KEY_FILE_ENV: str(_key_file(tmp_path)), KEY_ENV: SECRET})
    with pytest.raises(PseudonymKeyError, match=KEY_VERSION_ENV):
        pseudonym_key({KEY_ENV: SECRET, KEY_VERSION_ENV: "k 1"})


def test_without_a_version_another_key_gets_another_version() -> None:
    first, second = pseudonym_key({KEY_ENV: SECRET}), pseudonym_key({KEY_ENV: SECRET[::-1]})
    assert first is not None and second is not None
    assert first.version.startswith("fp-") and first.version != second.version
    assert first.version == pseudonym_key({KEY_ENV: SECRET}).version  # type: ignore[union-attr]


def test_no_key_is_an_error_saying_what_to_set_except_on_the_local_cluster(tmp_path: Path) -> None:
    assert pseudonym_key({}) is None
    with pytest.raises(PseudonymKeyError, match=f"no pseudonym key: set {KEY_FILE_ENV}"):
        required_pseudonym_key({})
    local = required_pseudonym_key({}, local_dir=tmp_path / "var")
    path = tmp_path / "var" / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) == 64
    assert required_pseudonym_key({}, local_dir=tmp_path / "var") == local  # made once, then reused
    assert local_key_file(tmp_path / "var") == path
    configured = required_pseudonym_key({KEY_ENV: SECRET}, local_dir=tmp_path / "other")
    assert configured.secret == SECRET.encode() and not (tmp_path / "other").exists()


def test_a_worker_without_a_key_does_not_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from envgrid.streams import worker

    for name in (KEY_ENV, KEY_FILE_ENV, KEY_VERSION_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVGRID_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # an external cluster: never contacted
    monkeypatch.setenv("ENVGRID_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("ENVGRID_VAR_DIR", str(tmp_path))
    assert worker.main(["--processors", "router"]) == 2
    assert "no pseudonym key" in capsys.readouterr().err
    assert not os.listdir(tmp_path)  # and it made no key of its own for an external cluster
