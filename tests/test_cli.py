"""The ``parley`` command, run as a real subprocess: init, keys, run, check."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp

# Cheap scrypt keeps each unlock at milliseconds instead of a second and 256 MiB.
FAST_KDF = ["--scrypt-n", "16384"]
PASSPHRASE = "correct horse battery staple"
STARTUP_TIMEOUT = 60.0


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(extra)
    return env


def parley(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        env=env if env is not None else clean_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,  # never a TTY: no prompts
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def init(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return parley("init", "--dir", str(directory), *FAST_KDF, env=env)


def test_init_with_env_passphrase_and_refusal_without_force(tmp_path: Path) -> None:
    env = clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)
    first = init(tmp_path / "bridge", env)
    assert first.returncode == 0, first.stderr
    config = tmp_path / "bridge" / "config.toml"
    keystore = tmp_path / "bridge" / "identity.json"
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert not (tmp_path / "bridge" / "passphrase").exists()
    assert json.loads(keystore.read_text())["version"] == 3
    assert 'data_dir = "."' in config.read_text()
    address = next(line.split()[-1] for line in first.stdout.splitlines() if "address" in line)
    assert address.startswith("0x") and len(address) == 42
    assert "public key:" in first.stdout.lower()
    assert PASSPHRASE not in first.stdout + first.stderr

    shown = parley("keys", "address", "--config", str(config), env=clean_env())
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == address

    before = keystore.read_bytes()
    again = init(tmp_path / "bridge", env)
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr and "--force" in again.stderr
    assert keystore.read_bytes() == before

    forced = parley("init", "--dir", str(tmp_path / "bridge"), "--force", *FAST_KDF, env=env)
    assert forced.returncode == 0, forced.stderr
    assert keystore.read_bytes() != before
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600


def test_init_without_env_or_terminal_writes_a_passphrase_file(tmp_path: Path) -> None:
    result = init(tmp_path, clean_env())
    assert result.returncode == 0, result.stderr
    passphrase_file = tmp_path / "passphrase"
    assert stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    assert 'passphrase_file = "passphrase"' in (tmp_path / "config.toml").read_text()
    assert "warning:" in result.stderr and "PARLEY_KEY_PASSPHRASE" in result.stderr
    assert passphrase_file.read_text().strip() not in result.stdout + result.stderr

    # The generated file unlocks the key with nothing else given.
    shown = parley("keys", "show", "--config", str(tmp_path / "config.toml"))
    assert shown.returncode == 0, shown.stderr
    assert "public key:" in shown.stdout


def test_run_without_a_passphrase_fails_clearly(tmp_path: Path) -> None:
    assert init(tmp_path, clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)).returncode == 0
    result = parley("run", "--config", str(tmp_path / "config.toml"))
    assert result.returncode == 1
    assert "PARLEY_KEY_PASSPHRASE" in result.stderr


def test_check_lists_every_invalid_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[waku]\nrest_prot = 1\nmode = "nwaku"\n[web]\nport = "eighty"\n'
        '[[rooms]]\nname = "x"\ntelegram_chats = [1]\n[[rooms]]\nname = "x"\n'
    )
    result = parley("check", "--config", str(config))
    assert result.returncode == 2
    for path in ("waku.rest_prot", "web.port"):
        assert f"  {path}: " in result.stdout
    assert "did you mean 'rest_port'?" in result.stdout


def test_check_reports_unreachable_services(tmp_path: Path) -> None:
    assert init(tmp_path, clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)).returncode == 0
    closed = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text()
        .replace('mode = "embedded"', 'mode = "nwaku"')
        .replace(
            '# nwaku_url = "http://127.0.0.1:8645"', f'nwaku_url = "http://127.0.0.1:{closed}"'
        )
        .replace('# rpc_url = "http://127.0.0.1:8545"', f'rpc_url = "http://127.0.0.1:{closed}"')
        .replace(
            'api_base_url = "https://api.telegram.org/bot"',
            f'api_base_url = "http://127.0.0.1:{closed}/bot"',
        )
    )
    token = "123456:secret-telegram-token"
    result = parley(
        "check",
        "--config",
        str(config),
        "--timeout",
        "2",
        env=clean_env(PARLEY_TELEGRAM_TOKEN=token),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "reachable" in lines["identity"]
    for name in ("waku", "chain", "telegram"):
        assert "UNREACHABLE" in lines[name]
    assert "discord" not in lines  # no token: not configured, not checked
    assert token not in result.stdout + result.stderr


async def read_line(stream: asyncio.StreamReader) -> str:
    line = await asyncio.wait_for(stream.readline(), STARTUP_TIMEOUT)
    assert line, "parley run exited before it was ready"
    return line.decode().rstrip("\n")


async def test_run_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)
    assert init(tmp_path, env).returncode == 0
    rest_port, web_port = free_port(), free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text()
        .replace("rest_port = 8645", f"rest_port = {rest_port}")
        .replace("port = 8080", f"port = {web_port}")
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "run",
        "--config",
        str(config),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = await read_line(process.stdout)
        second = await read_line(process.stdout)
        assert first == f"Waku REST API listening on http://127.0.0.1:{rest_port}"
        assert second == f"Web server listening on http://127.0.0.1:{web_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{web_port}/health") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "up"
            async with http.get(f"http://127.0.0.1:{rest_port}/health") as response:
                assert response.status == 200
                assert (await response.json())["nodeHealth"] == "READY"

        # `check` against the running embedded node's nwaku-compatible REST API.
        probe = tmp_path / "probe.toml"
        probe.write_text(
            config.read_text()
            .replace('mode = "embedded"', 'mode = "nwaku"')
            .replace(
                '# nwaku_url = "http://127.0.0.1:8645"',
                f'nwaku_url = "http://127.0.0.1:{rest_port}"',
            )
        )
        checked = await asyncio.to_thread(parley, "check", "--config", str(probe))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "waku" in checked.stdout and "nodeHealth READY" in checked.stdout
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT)
    assert process.returncode == 0, stderr.decode()
    assert PASSPHRASE not in stderr.decode()
