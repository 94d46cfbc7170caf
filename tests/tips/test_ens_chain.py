"""/tip to an ENS name against a real chain: web3 8's ENS over anvil, through a stand-in
Universal Resolver (tests/chain/ens.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bridge.store import tips as tips_store
from bridge.tips.ens import EnsError, resolve_ens
from tests.chain.anvil import Anvil
from tests.chain.ens import install_ens
from tests.tips.support import make_env

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain


async def test_tip_to_an_ens_name_targets_its_address(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    bob, carol = anvil.addresses[1], anvil.addresses[2]
    ens = await install_ens(w3, anvil.private_keys[0])
    await ens.set_addr("bob.eth", bob)
    await ens.set_addr("carol.eth", carol)
    async with make_env(w3, anvil, tmp_path) as env:
        reply = await env.command("tip", "bob.eth 0.01 ETH gm")
        assert reply.private
        assert f"0.01 ETH to bob.eth ({bob})" in reply.text
        assert f"tipETH?address={bob}&" in reply.text

        intent_id = await env.tip("Bob.ETH 0.02 ETH")
        intent = await tips_store.get_intent(env.store.db, intent_id)
        assert intent is not None
        assert intent.recipient_address == bob
        assert intent.recipient_name == "bob.eth"
        assert (intent.recipient_platform, intent.recipient_user_id) == (None, None)
        status, view = await env.api(intent_id)
        assert status == 200
        assert view["recipient"] == {"name": "bob.eth", "address": bob}

        # The tip goes where the name pointed when it was made.
        before = await w3.eth.get_balance(bob)
        await env.pay(intent_id, anvil.addresses[0])
        assert await w3.eth.get_balance(bob) - before == 2 * 10**16

        # Token tips resolve the same way.
        reply = await env.command("tip", "carol.eth 5 USDC")
        assert f"5 USDC to carol.eth ({carol})" in reply.text


async def test_tip_to_an_unknown_name_is_a_clear_error(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    ens = await install_ens(w3, anvil.private_keys[0])
    await ens.set_addr("bob.eth", anvil.addresses[1])
    async with make_env(w3, anvil, tmp_path) as env:
        reply = await env.command("tip", "nobody.eth 0.01 ETH")
        assert not reply.private  # a usage error is answered in the chat
        assert reply.text.startswith(
            "nobody.eth does not resolve to an address. Give a 0x address instead."
        )
        # A name that no longer resolves (its record was cleared) is unknown too.
        await ens.set_addr("bob.eth", None)
        reply = await env.command("tip", "bob.eth 0.01 ETH")
        assert reply.text.startswith("bob.eth does not resolve to an address.")
        async with env.store.db.execute("SELECT count(*) FROM tip_intents") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == 0


async def test_resolve_ens_on_anvil(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    bob = anvil.addresses[1]
    # Without a Universal Resolver (plain anvil, most L2s) the failure names the chain.
    with pytest.raises(EnsError, match=r"could not resolve bob\.eth on this chain"):
        await resolve_ens(anvil.rpc_url, "bob.eth")
    ens = await install_ens(w3, anvil.private_keys[0])
    await ens.set_addr("bob.eth", bob)
    await ens.set_addr("tips.bob.eth", anvil.addresses[2])
    assert await resolve_ens(anvil.rpc_url, "bob.eth") == bob
    assert await resolve_ens(anvil.rpc_url, "tips.bob.eth") == anvil.addresses[2]
    with pytest.raises(EnsError, match=r"^nobody\.eth does not resolve to an address$"):
        await resolve_ens(anvil.rpc_url, "nobody.eth")
