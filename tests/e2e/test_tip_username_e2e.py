"""``/tip @bob`` finds Bob by the username he linked with, not only by his display name.

Bob is the Discord user "bob" shown as "Bobby". He links a wallet through the real ``/link``
flow (the slash command's private URL, the page's API, an EIP-191 signature), which stores his
username with the link; Alice then types ``/tip @bob 0.01 ETH`` on Telegram, as people do, and
the tip intent names Bob's Discord account and wallet. Nothing is paid: the intent is enough.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from eth_account import Account

from bridge.identity.service import short_address
from bridge.store import links as links_store
from bridge.store import tips as tips_store
from contracts import deploy
from tests.chain.anvil import Anvil
from tests.e2e.harness import TIMEOUT, Harness, running_bridge
from tests.fakes.discord_models import FakeInteraction
from tests.identity.support import sign

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain

# Bob's wallet: an EOA that exists only here (linking needs no chain).
BOB_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
BOB_WALLET = str(Account.from_key(BOB_KEY).address)
_INTENT = re.compile(r"/tip/(0x[0-9a-f]{64})")


def _chain_config(anvil: Anvil, tipjar: str) -> Callable[[dict[str, Any]], None]:
    def configure(raw: dict[str, Any]) -> None:
        raw["chain"] = {
            "rpc_url": anvil.rpc_url,
            "chain_id": anvil.chain_id,
            "confirmations": 1,
            "tipjar": tipjar,
        }

    return configure


def _final_content(interaction: FakeInteraction) -> str | None:
    texts = [r.data.get("content") for r in interaction.responses]
    found = [t for t in texts if isinstance(t, str) and t]
    return found[-1] if found else None


async def _bob_links_his_wallet(h: Harness) -> None:
    """Bob runs /link in the Discord channel and signs on the link page, as a user does."""
    # The bridge registers its slash commands once the gateway is ready.
    await h.dc.wait_for(
        lambda: any(c["name"] == "link" for cs in h.dc.commands.values() for c in cs), TIMEOUT
    )
    interaction = h.dc.user_invokes_command("link", {}, h.channel.id, h.bob)
    reply = await h.dc.wait_for(lambda: _final_content(interaction), TIMEOUT)
    assert reply is not None
    public = re.escape(h.settings.web.public_url.rstrip("/"))
    found = re.search(public + r"/link/([A-Za-z0-9_\-]{43})", reply)
    assert found is not None, reply
    token = found.group(1)
    async with aiohttp.ClientSession() as http:
        api = f"{h.web_url}/api/link/{token}"
        async with http.get(api, params={"address": BOB_WALLET}) as resp:
            assert resp.status == 200, await resp.text()
            message = (await resp.json())["message"]
        assert isinstance(message, str) and "(Bobby)" in message
        body = {"message": message, "signature": sign(message, BOB_KEY)}
        async with http.post(api, json=body) as resp:
            assert resp.status == 200, await resp.text()
            assert await resp.json() == {"address": BOB_WALLET, "linked": True}
    await h.dc.wait_for(
        lambda: [
            m
            for m in h.dc.messages(h.channel.id)
            if f"@bob linked {short_address(BOB_WALLET)}" in (m.get("content") or "")
        ],
        TIMEOUT,
    )


async def _alice_tips(h: Harness, args: str) -> str:
    """Alice types ``/tip args`` in the Telegram group; the bot's private answer to her."""
    before = {m.message_id for m in h.tg.sent_messages(h.alice.id)}
    h.tg.user_sends(h.tg_group, h.alice, f"/tip {args}")
    reply = await h.tg.wait_for_sent(
        lambda m: m.message_id not in before and "/tip/" in m.content, TIMEOUT, chat=h.alice.id
    )
    return reply.content


async def test_tip_at_username_finds_a_wallet_linked_under_a_display_name(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    tipjar = await deploy(w3, "TipJar", private_key=anvil.private_keys[0])
    async with running_bridge(tmp_path, configure=_chain_config(anvil, tipjar)) as h:
        await _bob_links_his_wallet(h)
        [link] = await links_store.wallets_of(h.bridge.store.db, "discord", str(h.bob.id))
        assert (link.display_name, link.username, link.address) == ("Bobby", "bob", BOB_WALLET)

        # Alice tips "@bob" (his username, in another letter case too) from Telegram.
        h.tg.user_starts_bot(h.alice)
        for who in ("@bob", "@BOB"):
            reply = await _alice_tips(h, f"{who} 0.01 ETH")
            assert f"Tip 0.01 ETH to Bobby ({BOB_WALLET})" in reply
            match = _INTENT.search(reply)
            assert match is not None, reply
            intent = await tips_store.get_intent(h.bridge.store.db, match.group(1))
            assert intent is not None
            assert (intent.recipient_platform, intent.recipient_user_id) == (
                "discord",
                str(h.bob.id),
            )
            assert intent.recipient_address == BOB_WALLET
            assert (intent.amount, intent.token) == (10**16, None)

        # /whois finds him by username too (a Discord name, asked from Telegram).
        command = h.tg.user_sends(h.tg_group, h.alice, "/whois discord:bob")
        whois = await h.tg.wait_for_sent(lambda m: m.reply_to is command, TIMEOUT, chat=h.tg_group)
        assert whois.content.startswith(f"Bobby (discord:{h.bob.id})"), whois.content
        assert f"wallet {BOB_WALLET}" in whois.content
