"""``parley contracts deploy --only points``: CommunityPoints + PointsDistributor into [points]."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bots.registry import PLATFORMS
from bridge.config import load_config
from bridge.contracts_cli import add_arguments, run
from contracts import at
from tests.chain.anvil import Anvil

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain

CONFIG = """[bridge]
name = "club"

[[rooms]]
name = "lobby"
telegram_chats = [-100]

[chain]
rpc_url = "{rpc}"
chain_id = 31337

[points]
rooms = ["lobby"]  # keep me
"""


def _args(config: Path, key_file: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_subparsers(dest="command"))
    return parser.parse_args(
        ["contracts", "deploy", "--config", str(config), "--key-file", str(key_file), *extra]
    )


async def test_deploy_points_writes_token_and_distributor(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.replace("{rpc}", anvil.rpc_url))
    key_file = tmp_path / "deployer.key"
    key_file.write_text("0x" + anvil.private_keys[8].hex())
    args = _args(config, key_file, "--only", "points", "--points-supply", "500")
    assert await run(args, load_config(config, env={}, platforms=PLATFORMS)) == 0
    text = config.read_text()
    points = tomllib.loads(text)["points"]
    assert 'rooms = ["lobby"]  # keep me' in text
    token = at(w3, "CommunityPoints", points["token"])
    distributor = at(w3, "PointsDistributor", points["distributor"])
    assert await token.functions.balanceOf(anvil.addresses[8]).call() == 500 * 10**18
    assert await distributor.functions.token().call() == points["token"]
    assert await distributor.functions.owner().call() == anvil.addresses[8]
    assert "tipjar" not in tomllib.loads(text)["chain"]

    # With the community's own token configured, only a new distributor is deployed.
    assert await run(args, load_config(config, env={}, platforms=PLATFORMS)) == 0
    again = tomllib.loads(config.read_text())["points"]
    assert again["token"] == points["token"]
    assert again["distributor"] != points["distributor"]
