"""bridge.keyfile: private files, passphrase sources in order, unlocking."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from bots.registry import PLATFORMS
from bridge.config import Settings, parse_config
from bridge.keyfile import (
    KeyfileError,
    keystore_address,
    load_identity_key,
    read_keystore,
    resolve_passphrase,
    write_keystore,
    write_private_file,
)
from crypto.keys import generate_private_key, public_key, to_address


def settings(tmp_path: Path, env: dict[str, str] | None = None, **identity: str) -> Settings:
    raw = {"bridge": {"data_dir": "."}, "identity": identity}
    return parse_config(raw, base_dir=tmp_path, env=env or {}, platforms=PLATFORMS)


def never_prompt(_: str) -> str:
    raise AssertionError("must not prompt")


def test_private_file_is_0600_and_never_clobbered(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "secret"
    write_private_file(path, "one")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_private_file(path, "two")
    assert path.read_text() == "one"
    write_private_file(path, "three", overwrite=True)
    assert path.read_text() == "three"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]  # no temp files left


def test_passphrase_sources_in_order(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("from-file\n")
    (tmp_path / "pass").chmod(0o600)
    both = settings(tmp_path, {"PARLEY_KEY_PASSPHRASE": "from-env"}, passphrase_file="pass")
    assert resolve_passphrase(both, prompt=never_prompt).get_secret_value() == "from-env"
    file_only = settings(tmp_path, passphrase_file="pass")
    assert resolve_passphrase(file_only, prompt=never_prompt).get_secret_value() == "from-file"
    neither = settings(tmp_path)
    prompted = resolve_passphrase(neither, interactive=True, prompt=lambda _: "typed")
    assert prompted.get_secret_value() == "typed"
    with pytest.raises(KeyfileError, match="PARLEY_KEY_PASSPHRASE"):
        resolve_passphrase(neither, interactive=False, prompt=never_prompt)


def test_unlock_and_wrong_passphrase(tmp_path: Path) -> None:
    key = generate_private_key()
    write_keystore(tmp_path / "identity.json", key, SecretStr("right"), scrypt_n=1 << 14)
    keystore = read_keystore(tmp_path / "identity.json")
    assert keystore_address(keystore) == to_address(public_key(key))
    good = settings(tmp_path, {"PARLEY_KEY_PASSPHRASE": "right"})
    assert load_identity_key(good) == key
    bad = settings(tmp_path, {"PARLEY_KEY_PASSPHRASE": "wrong"})
    with pytest.raises(KeyfileError, match="wrong passphrase") as info:
        load_identity_key(bad)
    assert "right" not in str(info.value)


def test_missing_keystore_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KeyfileError, match="parley init"):
        read_keystore(tmp_path / "absent.json")
