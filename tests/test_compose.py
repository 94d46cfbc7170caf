"""docker-compose.yml: nwaku is pinned and configured exactly like the bridge it serves."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from bots.registry import PLATFORMS
from bridge.config import Settings, default_config_path, load_config
from tests.test_cli import FAST_KDF, clean_env, parley

REPO = Path(__file__).resolve().parent.parent
# What an operator's shell or .env provides; the test needs only the required one.
SHELL = {"PARLEY_KEY_PASSPHRASE": "from-the-environment"}
# The one-time setup command the compose file and the README give.
INIT = "docker compose run --rm parley init --dir /data"


def interpolate(value: str, shell: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and ${VAR:+replacement} substitution,
    and $$ for a literal $."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if op == ":+":
            return arg if shell.get(name) else ""
        if shell.get(name):
            return shell[name]
        if op == ":?":
            raise AssertionError(f"compose would stop: {name} is required ({arg})")
        return arg if op == ":-" else ""

    return re.sub(r"\$\$|\$\{([A-Z0-9_]+)(?:(:-|:\?|:\+)([^}]*))?\}", sub, value)


def container_env(compose: dict[str, Any], shell: dict[str, str]) -> dict[str, str]:
    service = compose["services"]["parley"]
    return {key: interpolate(str(value), shell) for key, value in service["environment"].items()}


def dockerfile_workdir() -> PurePosixPath:
    workdirs = re.findall(r"^WORKDIR (\S+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    return PurePosixPath(workdirs[-1])


def config_read_by_run(compose: dict[str, Any], shell: dict[str, str]) -> PurePosixPath:
    """The file `parley run` reads inside the container: no --config, so $PARLEY_CONFIG or
    config.toml in the image's working directory."""
    assert compose["services"]["parley"]["command"] == ["run"]
    path = PurePosixPath(default_config_path(container_env(compose, shell)))
    return path if path.is_absolute() else dockerfile_workdir() / path


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


@pytest.fixture(scope="module")
def nwaku_flags(compose: dict[str, Any]) -> dict[str, list[str]]:
    flags: dict[str, list[str]] = {}
    for arg in compose["services"]["nwaku"]["command"]:
        name, _, value = arg.partition("=")
        flags.setdefault(name, []).append(value)
    return flags


@pytest.fixture(scope="module")
def initialised_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `parley init --dir /data` leaves on the volume (here in a temporary directory)."""
    data = tmp_path_factory.mktemp("volume") / "data"
    result = parley(
        "init", "--dir", str(data), *FAST_KDF, env=clean_env(PARLEY_KEY_PASSPHRASE="x" * 12)
    )
    assert result.returncode == 0, result.stderr
    return data


@pytest.fixture(scope="module")
def bridge_settings(compose: dict[str, Any], initialised_data: Path) -> Settings:
    """The settings the parley container ends up with: the config init wrote plus its env."""
    assert config_read_by_run(compose, SHELL) == PurePosixPath("/data/config.toml")
    return load_config(
        initialised_data / "config.toml", env=container_env(compose, SHELL), platforms=PLATFORMS
    )


def test_nwaku_image_is_pinned(compose: dict[str, Any]) -> None:
    image = compose["services"]["nwaku"]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository.endswith("wakuorg/nwaku")
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), image


def test_nwaku_serves_rest_on_8645(nwaku_flags: dict[str, list[str]]) -> None:
    assert nwaku_flags["--rest"] == ["true"]
    assert nwaku_flags["--rest-address"] == ["0.0.0.0"]
    assert nwaku_flags["--rest-port"] == ["8645"]
    assert nwaku_flags["--relay"] == ["true"]
    assert nwaku_flags["--store"] == ["true"]
    assert nwaku_flags["--max-msg-size"] == ["150KiB"]


def test_nwaku_runs_the_bridges_cluster_and_shards(
    nwaku_flags: dict[str, list[str]], bridge_settings: Settings
) -> None:
    waku = bridge_settings.waku
    assert nwaku_flags["--cluster-id"] == [str(waku.cluster_id)]
    assert sorted(int(s) for s in nwaku_flags["--shard"]) == sorted(waku.shards)
    assert nwaku_flags["--num-shards-in-network"] == [str(waku.num_shards_in_network)]
    assert nwaku_flags["--rest-relay-cache-capacity"] == [str(waku.relay_cache_capacity)]
    # Every room publishes on a shard nwaku subscribes to.
    for room in bridge_settings.rooms:
        assert room.waku_pubsub_topic in waku.pubsub_topics


def test_bridge_drives_the_nwaku_service(
    compose: dict[str, Any], bridge_settings: Settings
) -> None:
    assert bridge_settings.waku.mode == "nwaku"
    assert bridge_settings.waku.nwaku_url == "http://nwaku:8645"
    service = compose["services"]["parley"]
    assert service["depends_on"] == {"nwaku": {"condition": "service_healthy"}}
    assert service["build"] == "."
    assert bridge_settings.store.path == Path("/data/parley.db")
    assert bridge_settings.identity.keystore == Path("/data/identity.json")
    # The passphrase comes from the operator's environment, not from the compose file.
    assert bridge_settings.identity.passphrase is not None
    assert bridge_settings.identity.passphrase.get_secret_value() == SHELL["PARLEY_KEY_PASSPHRASE"]
    assert bridge_settings.web.host == "0.0.0.0"


def test_compose_file_holds_no_secret_values(compose: dict[str, Any]) -> None:
    environment = compose["services"]["parley"]["environment"]
    for key, value in environment.items():
        if any(word in key for word in ("TOKEN", "PASSPHRASE")):
            assert str(value).startswith("${"), key


# --- issue 8, item 16 ------------------------------------------------------------------------


def test_init_writes_the_config_that_run_reads(compose: dict[str, Any]) -> None:
    header = (REPO / "docker-compose.yml").read_text()
    assert INIT.removeprefix("docker compose run --rm ") in header
    assert INIT in (REPO / "README.md").read_text()
    # `init --dir /data` writes /data/config.toml; `run` reads exactly that file.
    init_dir = PurePosixPath(INIT.rsplit(" ", 1)[-1])
    assert config_read_by_run(compose, SHELL) == init_dir / "config.toml"
    mounts = [v.split(":")[1] for v in compose["services"]["parley"]["volumes"]]
    assert str(init_dir) in mounts  # on the persistent volume


def test_parley_config_file_replaces_it(compose: dict[str, Any]) -> None:
    shell = {**SHELL, "PARLEY_CONFIG_FILE": "./my-config.toml"}
    assert config_read_by_run(compose, shell) == PurePosixPath("/config/config.toml")
    mounts = [interpolate(v, shell) for v in compose["services"]["parley"]["volumes"]]
    assert "./my-config.toml:/config/config.toml:ro" in mounts
    readme = (REPO / "README.md").read_text()
    assert "PARLEY_CONFIG_FILE" in readme


def test_nwaku_has_a_healthcheck_on_its_rest_health(compose: dict[str, Any]) -> None:
    check = compose["services"]["nwaku"]["healthcheck"]
    assert check["test"][0] == "CMD"
    assert "http://127.0.0.1:8645/health" in check["test"]
    assert check["retries"] >= 1


def test_nwaku_keeps_its_node_key_across_restarts(compose: dict[str, Any], tmp_path: Path) -> None:
    service = compose["services"]["nwaku"]
    assert "nwaku-data:/data" in service["volumes"]  # the key file lives on the volume
    shell, dash_c, script, arg0 = (interpolate(part, SHELL) for part in service["entrypoint"])
    assert (shell, dash_c, arg0) == ("/bin/sh", "-c", "wakunode")
    # The same script, with the volume and the node binary moved into a temporary directory.
    stub = tmp_path / "wakunode"
    stub.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    stub.chmod(0o755)
    volume = tmp_path / "volume"
    volume.mkdir()
    local = script.replace("/data/", f"{volume}/").replace("/usr/bin/wakunode", str(stub))

    def start() -> list[str]:
        flags = [str(f) for f in service["command"]]
        run = subprocess.run(
            ["/bin/sh", "-c", local, arg0, *flags],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        args = run.stdout.splitlines()
        assert args[1:] == flags  # nwaku's own flags pass through unchanged
        return args

    first, second = start(), start()
    assert first[0] == second[0]
    key = first[0].removeprefix("--nodekey=")
    assert re.fullmatch(r"[0-9a-f]{64}", key), first[0]
    assert stat.S_IMODE(os.stat(volume / "nodekey").st_mode) == 0o600


def test_base_images_are_pinned_to_exact_versions(compose: dict[str, Any]) -> None:
    froms = re.findall(r"^FROM (\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert len(froms) == 2
    for image in froms:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", image), image
    assert len(set(froms)) == 1  # build and runtime on the same base
