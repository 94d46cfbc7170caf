"""docker-compose.yml: nwaku is pinned and configured exactly like the bridge it serves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.config import Settings, load_config

REPO = Path(__file__).resolve().parent.parent
# What an operator's shell or .env provides; the test needs only the required one.
SHELL = {"PARLEY_KEY_PASSPHRASE": "from-the-environment"}


def interpolate(value: str, shell: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution."""

    def sub(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if shell.get(name):
            return shell[name]
        if op == ":?":
            raise AssertionError(f"compose would stop: {name} is required ({arg})")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", sub, value)


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
def bridge_settings(compose: dict[str, Any]) -> Settings:
    """The settings the parley container ends up with: its mounted config plus its env."""
    service = compose["services"]["parley"]
    env = {key: interpolate(str(value), SHELL) for key, value in service["environment"].items()}
    config_mounts = [
        interpolate(volume, SHELL).split(":")
        for volume in service["volumes"]
        if ":/config/config.toml" in volume
    ]
    assert len(config_mounts) == 1
    source = REPO / config_mounts[0][0]
    return load_config(source, env=env)


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
    assert "nwaku" in service["depends_on"]
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
