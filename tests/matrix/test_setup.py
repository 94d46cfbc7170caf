"""Matrix configuration: ``[matrix]``, ``chats = ["matrix:..."]``, and
``parley matrix registration`` run as a real subprocess."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bots.matrix import SPEC, parse_room_id, parse_user_ref
from bots.matrix.settings import MatrixSettings
from bots.registry import PLATFORMS
from bridge.config import ConfigError, parse_config
from bridge.model import ChatId, ChatRef
from bridge.router import rooms_from_settings
from tests.matrix.synapse import Synapse, free_port

MATRIX = {
    "homeserver_url": "https://matrix.example.org/",
    "server_name": "example.org",
    "as_token": "as-secret-token",
    "hs_token": "hs-secret-token",
}


def settings(tmp_path: Path, **raw: Any) -> Any:
    return parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)


def problems(tmp_path: Path, **raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as failed:
        settings(tmp_path, **raw)
    return failed.value.problems


def test_matrix_chats_join_rooms_beside_the_old_keys(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        matrix=MATRIX,
        rooms=[{"name": "main", "telegram_chats": [-100], "chats": ["matrix:!abc:example.org"]}],
    )
    [room] = rooms_from_settings(loaded.rooms)
    assert room.members == (
        ChatRef("telegram", ChatId("-100")),
        ChatRef("matrix", ChatId("!abc:example.org")),
    )
    assert loaded.section(MatrixSettings).homeserver_url == "https://matrix.example.org"
    assert SPEC.enabled(loaded)
    assert "as-secret-token" in loaded.secrets() and "hs-secret-token" in loaded.secrets()


def test_chats_are_checked(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        rooms=[
            {"name": "a", "chats": ["irc:#x", "waku:general", "matrix:!r:example.org"]},
            {"name": "b", "chats": ["matrix:!r:example.org"]},
        ],
    )
    assert found[0][0] == "rooms[0].chats" and "irc:#x" in found[0][1]
    found = problems(
        tmp_path,
        rooms=[
            {"name": "a", "chats": ["matrix:!r:example.org"]},
            {"name": "b", "chats": ["matrix:!r:example.org"]},
        ],
    )
    assert found == [("rooms[1].chats", "matrix:!r:example.org is already in room 'a'")]


def test_matrix_needs_server_name_and_tokens(tmp_path: Path) -> None:
    found = problems(tmp_path, matrix={"homeserver_url": "https://m.example.org"})
    assert {path for path, _ in found} == {
        "matrix.server_name",
        "matrix.as_token",
        "matrix.hs_token",
    }


def test_tokens_from_the_environment(tmp_path: Path) -> None:
    loaded = parse_config(
        {"matrix": {"homeserver_url": "https://m.example.org", "server_name": "example.org"}},
        base_dir=tmp_path,
        env={"PARLEY_MATRIX_AS_TOKEN": "a" * 32, "PARLEY_MATRIX_HS_TOKEN": "h" * 32},
        platforms=PLATFORMS,
    )
    matrix = loaded.section(MatrixSettings)
    assert matrix.as_token is not None
    assert matrix.as_token.get_secret_value() == "a" * 32


def test_id_parsers() -> None:
    assert parse_room_id("!abc:example.org") == "!abc:example.org"
    assert parse_room_id("!kOA13WAus8bwTJlW8kUt-X-PfFr6XHbArlCxK8Ro_L4")  # room version 12
    for bad in ("abc", "!", "#alias:example.org", "!a b:c"):
        with pytest.raises(ValueError):
            parse_room_id(bad)
    assert parse_user_ref("@alice:example.org") == "@alice:example.org"
    assert parse_user_ref("alice") is None


def parley(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_parley_matrix_registration_writes_a_private_file(tmp_path: Path) -> None:
    (tmp_path / "hs.token").write_text("hs-from-a-file\n")
    config = tmp_path / "config.toml"
    config.write_text(
        "[bridge]\ndata_dir = 'data'\n"
        "[matrix]\nhomeserver_url = 'https://matrix.example.org'\nserver_name = 'example.org'\n"
        "hs_token_file = 'hs.token'\nlisten_port = 29333\npuppet_prefix = 'pb_'\n"
    )
    env = {"PARLEY_MATRIX_AS_TOKEN": "as-from-env"}
    done = parley("matrix", "registration", "--config", str(config), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "data" / "matrix-registration.yaml"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    document = yaml.safe_load(written.read_text())
    assert document == {
        "id": "parley",
        "url": "http://127.0.0.1:29333",
        "as_token": "as-from-env",
        "hs_token": "hs-from-a-file",
        "sender_localpart": "parley",
        "namespaces": {
            "users": [{"exclusive": True, "regex": r"@pb_.*:example\.org"}],
            "aliases": [],
            "rooms": [],
        },
        "rate_limited": False,
    }
    assert "as-from-env" not in done.stdout + done.stderr
    again = parley("matrix", "registration", "--config", str(config), cwd=tmp_path, env=env)
    assert again.returncode == 1 and "--force" in again.stderr
    forced = parley(
        "matrix", "registration", "--config", str(config), "--force", cwd=tmp_path, env=env
    )
    assert forced.returncode == 0, forced.stderr


def test_parley_matrix_registration_needs_matrix_configured(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[bridge]\ndata_dir = 'data'\n")
    done = parley("matrix", "registration", "--config", str(config), cwd=tmp_path, env={})
    assert done.returncode == 1
    assert "matrix.homeserver_url" in done.stderr


def test_parley_check_probes_the_homeserver(tmp_path: Path, synapse: Synapse) -> None:
    env = {"PARLEY_KEY_PASSPHRASE": "correct horse battery staple"}
    made = parley("init", "--dir", str(tmp_path), "--scrypt-n", "16384", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text()
        .replace(
            '# homeserver_url = "https://matrix.example.org"', f'homeserver_url = "{synapse.url}"'
        )
        .replace('# server_name = "example.org"', f'server_name = "{synapse.server_name}"')
    )
    reg = synapse.registration
    tokens = {"PARLEY_MATRIX_AS_TOKEN": reg.as_token, "PARLEY_MATRIX_HS_TOKEN": reg.hs_token}
    good = parley("check", "--config", str(config), cwd=tmp_path, env={**env, **tokens})
    assert good.returncode == 0, good.stdout + good.stderr
    [line] = [line for line in good.stdout.splitlines() if line.startswith("  matrix")]
    assert line.split() == [
        "matrix",
        "reachable",
        "appservice",
        "bot",
        f"@parley:{synapse.server_name}",
    ]
    wrong = {**tokens, "PARLEY_MATRIX_AS_TOKEN": "not-the-registered-token"}
    bad = parley("check", "--config", str(config), cwd=tmp_path, env={**env, **wrong})
    assert bad.returncode == 1
    [line] = [x for x in bad.stdout.splitlines() if x.startswith("  matrix")]
    assert "UNREACHABLE" in line and "app_service_config_files" in line
    assert "not-the-registered-token" not in bad.stdout + bad.stderr


async def test_parley_run_brings_up_the_matrix_adapter(tmp_path: Path, synapse: Synapse) -> None:
    env = {"PARLEY_KEY_PASSPHRASE": "correct horse battery staple"}
    made = parley("init", "--dir", str(tmp_path), "--scrypt-n", "16384", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    rest_port, web_port, listen_port = free_port(), free_port(), free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text()
        .replace("rest_port = 8645", f"rest_port = {rest_port}")
        .replace("port = 8080", f"port = {web_port}")
        .replace("listen_port = 29330", f"listen_port = {listen_port}")
        .replace(
            '# homeserver_url = "https://matrix.example.org"', f'homeserver_url = "{synapse.url}"'
        )
        .replace('# server_name = "example.org"', f'server_name = "{synapse.server_name}"')
    )
    reg = synapse.registration
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    tokens = {"PARLEY_MATRIX_AS_TOKEN": reg.as_token, "PARLEY_MATRIX_HS_TOKEN": reg.hs_token}
    synapse.gateway.target = f"http://127.0.0.1:{listen_port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "run",
        "--config",
        str(config),
        cwd=tmp_path,
        env={**clean, **env, **tokens},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(60):
            while b"Web server listening" not in await process.stdout.readline():
                pass
            async with aiohttp.ClientSession() as http:
                while True:
                    async with http.get(f"http://127.0.0.1:{web_port}/health") as response:
                        body = await response.json()
                    if body["components"].get("matrix", {}).get("status") == "up":
                        break
                    await asyncio.sleep(0.1)
        assert body["components"]["matrix"] == {"status": "up", "detail": "connected"}
    finally:
        synapse.gateway.target = None
        process.terminate()
        await process.wait()
    assert process.returncode == 0
