"""``parley --version`` and the wrong-passphrase message (issue 8, item 13)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from tests.test_cli import PASSPHRASE, clean_env, init, parley


def test_version() -> None:
    result = parley("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"parley {version('parley')}"


def test_wrong_passphrase_is_said_once(tmp_path: Path) -> None:
    assert init(tmp_path, clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)).returncode == 0
    result = parley(
        "keys",
        "show",
        "--config",
        str(tmp_path / "config.toml"),
        env=clean_env(PARLEY_KEY_PASSPHRASE="not the passphrase"),
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    prefix = f"error: cannot unlock {tmp_path / 'identity.json'}: "
    assert lines[0].startswith(prefix)
    reason = lines[0].removeprefix(prefix)
    assert reason.lower().count("passphrase") == 1, reason
    assert reason.lower().count("mac") <= 1, reason
    assert "not the passphrase" not in result.stderr
