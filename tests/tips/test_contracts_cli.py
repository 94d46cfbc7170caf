"""``parley contracts deploy``: deploys on anvil and edits only [chain] of the operator's file."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bots.registry import PLATFORMS
from bridge.config import load_config
from bridge.contracts_cli import add_arguments, run, set_chain_keys
from tests.chain.anvil import Anvil

if TYPE_CHECKING:
    from web3 import AsyncWeb3

CONFIG = """# my bridge
[bridge]
name = "club"   # keep this comment

[chain]
rpc_url = "{rpc}"
chain_id = 31337
confirmations = 2
# tipjar = "0x0000000000000000000000000000000000000000"

[chain.tokens]
# USDC = "0x..."

[feed]
waku_chat = "parley-feed"
"""


@pytest.mark.chain
async def test_deploy_writes_addresses_into_chain(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.replace("{rpc}", anvil.rpc_url))
    key_file = tmp_path / "deployer.key"
    key_file.write_text("0x" + anvil.private_keys[9].hex() + "\n")
    parser = argparse.ArgumentParser()
    add_arguments(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["contracts", "deploy", "--config", str(config), "--key-file", str(key_file)]
    )
    assert await run(args, load_config(config, env={}, platforms=PLATFORMS)) == 0
    text = config.read_text()
    chain = tomllib.loads(text)["chain"]
    for key in ("tipjar", "feed_contract"):
        code = await w3.eth.get_code(chain[key])
        assert len(code) > 0
    assert 'name = "club"   # keep this comment' in text and text.startswith("# my bridge\n")
    assert tomllib.loads(text)["feed"] == {"waku_chat": "parley-feed"}
    assert "[chain.tokens]\n# USDC" in text
    load_config(config, env={}, platforms=PLATFORMS)  # still valid


def test_set_chain_keys_edits_minimally() -> None:
    assert set_chain_keys("", {"tipjar": "0xA"}) == '[chain]\ntipjar = "0xA"\n'
    text = '[web]\nport = 1\n\n[chain]\ntipjar = "0xold"  # old\nchain_id = 1\n[feed]\n'
    out = set_chain_keys(text, {"tipjar": "0xB", "feed_contract": "0xC"})
    assert out == (
        '[web]\nport = 1\n\n[chain]\nfeed_contract = "0xC"\ntipjar = "0xB"\nchain_id = 1\n[feed]\n'
    )
    assert tomllib.loads(out)["chain"] == {"tipjar": "0xB", "feed_contract": "0xC", "chain_id": 1}
