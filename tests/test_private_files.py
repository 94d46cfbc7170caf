"""Private files (issue 8, item 6): the data directory 0700, every file in it 0600, a warning
when they are wider, and webhook tokens from the environment or a file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bots.discord.settings import DiscordRoomKeys
from bots.registry import PLATFORMS
from bridge.config import ConfigError, load_config
from bridge.datadir import permission_warnings
from bridge.store import Store
from tests.test_cli import PASSPHRASE, clean_env, init, parley


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> object:
    # The common default, under which files used to come out 0644 and directories 0755.
    old = os.umask(0o022)
    yield None
    os.umask(old)


def test_init_creates_a_private_directory_and_files(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    result = init(data, clean_env())  # no passphrase anywhere: a passphrase file is written
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700
    for name in ("config.toml", "identity.json", "passphrase"):
        assert mode(data / name) == 0o600, name


async def test_store_files_are_private_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "data" / "parley.db"
    store = await Store.open(path, checkpoint_interval=None)
    try:
        async with store.transaction() as db:
            await db.execute("INSERT INTO kv(key, value) VALUES ('k', 'v')")
        names = sorted(p.name for p in path.parent.iterdir())
        assert names == ["parley.db", "parley.db-shm", "parley.db-wal"]
        for name in names:
            assert mode(path.parent / name) == 0o600, name
        assert mode(path.parent) == 0o700
    finally:
        await store.close()


def test_wider_modes_are_reported(tmp_path: Path) -> None:
    assert init(tmp_path, clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)).returncode == 0
    config = tmp_path / "config.toml"
    settings = load_config(config, env={}, platforms=PLATFORMS)
    assert permission_warnings(settings, config) == []

    os.chmod(tmp_path, 0o755)
    os.chmod(config, 0o644)
    (tmp_path / "parley.db").write_bytes(b"")
    os.chmod(tmp_path / "parley.db", 0o640)
    warnings = permission_warnings(settings, config)
    assert len(warnings) == 3, warnings
    assert any(f"{tmp_path} has mode 0755" in w and "chmod 0700" in w for w in warnings)
    assert any(f"{config} has mode 0644" in w and "chmod 0600" in w for w in warnings)
    assert any("parley.db has mode 0640" in w for w in warnings)

    # `parley run` says so at start (here it then stops: no passphrase is given).
    result = parley("run", "--config", str(config))
    assert result.returncode == 1
    assert "level=WARNING" in result.stderr
    assert f"{config} has mode 0644" in result.stderr


WEBHOOK_ROOM = """
[discord]
token = "bot-token"
[[rooms]]
name = "general"
discord_channels = [7]
webhooks = [{{ channel = 7, id = 8, {token} }}]
"""


def test_webhook_token_from_a_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hook").write_text("from-the-file\n")
    config = tmp_path / "config.toml"
    config.write_text(WEBHOOK_ROOM.format(token='token_file = "secrets/hook"'))
    settings = load_config(config, env={}, platforms=PLATFORMS)
    hook = settings.rooms[0].keys(DiscordRoomKeys).webhooks[0]
    assert hook.token.get_secret_value() == "from-the-file"
    assert "from-the-file" in settings.secrets()  # masked in logs like the others
    assert "from-the-file" not in repr(settings)


def test_webhook_token_from_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(WEBHOOK_ROOM.format(token='token_file = "absent"'))
    settings = load_config(config, env={"PARLEY_WEBHOOK_TOKEN_8": "from-env"}, platforms=PLATFORMS)
    hook = settings.rooms[0].keys(DiscordRoomKeys).webhooks[0]
    assert hook.token.get_secret_value() == "from-env"


def test_webhook_token_file_problems_are_reported(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(WEBHOOK_ROOM.format(token='token_file = "absent"'))
    with pytest.raises(ConfigError) as info:
        load_config(config, env={}, platforms=PLATFORMS)
    found = dict(info.value.problems)
    assert "cannot read" in found["rooms[0].webhooks[0].token_file"]
    (tmp_path / "empty").write_text("\n")
    config.write_text(WEBHOOK_ROOM.format(token='token_file = "empty"'))
    with pytest.raises(ConfigError) as info:
        load_config(config, env={}, platforms=PLATFORMS)
    assert "is empty" in dict(info.value.problems)["rooms[0].webhooks[0].token_file"]
