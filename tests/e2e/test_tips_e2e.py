"""Tips end to end through the whole bridge: ``/tip`` typed on Telegram (the real
python-telegram-bot against the fake), the tip page's API, a transaction sent from an anvil
account to the deployed TipJar, and the chain watcher announcing the confirmed tip in every chat
of the room (Telegram group, Discord channel, Waku) and privately to the recipient on Discord.

The watcher polls every few seconds in production; the tests wake it (``TipWatcher.wake``, what
a new-head subscription would do) right after mining, so nothing waits for its timer.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bridge.store import links as links_store
from bridge.store.links import WalletLink
from bridge.tips import NOT_CONFIGURED, TipsComponent
from bridge.tips.watcher import TipWatcher
from contracts import at, deploy, send_transaction
from tests.chain.anvil import Anvil
from tests.e2e.harness import TIMEOUT, Harness, running_bridge
from tests.fakes.telegram import FakeMessage

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain

CONFIRMATIONS = 3
_INTENT = re.compile(r"/tip/(0x[0-9a-f]{64})")


# --- chain helpers ------------------------------------------------------------------------------


async def _rpc(w3: AsyncWeb3[Any], method: str, params: list[Any]) -> Any:
    from web3.types import RPCEndpoint

    reply = await w3.provider.make_request(RPCEndpoint(method), params)
    assert "error" not in reply, reply
    return reply["result"]


async def _mine(w3: AsyncWeb3[Any], blocks: int) -> None:
    await _rpc(w3, "anvil_mine", [hex(blocks)])


async def _deploy(w3: AsyncWeb3[Any], anvil: Anvil, holder: str) -> tuple[str, str]:
    """TipJar and a 6-decimal "USDC"; ``holder`` gets a million of it."""
    key = anvil.private_keys[0]
    tipjar = await deploy(w3, "TipJar", private_key=key)
    usdc = await deploy(w3, "TestERC20", "USD Coin", "USDC", 6, private_key=key)
    token = at(w3, "TestERC20", usdc)
    await send_transaction(w3, token.functions.mint(holder, 10**12), private_key=key)
    return tipjar, usdc


def _chain_config(anvil: Anvil, tipjar: str, usdc: str) -> Callable[[dict[str, Any]], None]:
    def configure(raw: dict[str, Any]) -> None:
        raw["chain"] = {
            "rpc_url": anvil.rpc_url,
            "chain_id": anvil.chain_id,
            "confirmations": CONFIRMATIONS,
            "tipjar": tipjar,
            "tokens": {"USDC": usdc},
        }

    return configure


async def _send(w3: AsyncWeb3[Any], sender: str, tx: dict[str, str]) -> str:
    """What the tip page makes the wallet do: send ``tx`` (to, data, value) from ``sender``."""
    tx_hash = await w3.eth.send_transaction(
        {"from": sender, "to": tx["to"], "data": tx["data"], "value": int(tx["value"], 16)}  # type: ignore[typeddict-item]
    )
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1, receipt
    return "0x" + bytes(tx_hash).hex()


# --- bridge helpers -----------------------------------------------------------------------------


def _watcher(h: Harness) -> TipWatcher:
    component = next(c for c in h.bridge.components if isinstance(c, TipsComponent))
    assert component.watcher is not None, "tips are configured: the watcher must run"
    return component.watcher


async def _polled_through(watcher: TipWatcher, block: int) -> None:
    """Wake the watcher and wait until it has read every block up to ``block``."""
    watcher.wake()
    async with asyncio.timeout(TIMEOUT):
        # The watcher exposes its position, not an event: check it after each wake-up.
        while watcher.next_block is None or watcher.next_block <= block:
            await asyncio.sleep(0.02)
            watcher.wake()
    assert watcher.last_error is None, watcher.last_error


async def _link_bob(h: Harness, wallet: str) -> None:
    """Bob's wallet link as ``/link`` leaves it in the store."""
    async with h.bridge.store.transaction() as db:
        await links_store.add(
            db,
            WalletLink(
                "discord",
                str(h.bob.id),
                "bob",
                wallet,
                31337,
                "eoa",
                "msg",
                "0x00",
                int(time.time()),
            ),
        )


async def _alice_private(h: Harness, check: Callable[[str], bool]) -> FakeMessage:
    """The bot's next matching message in Alice's private chat."""
    return await h.tg.wait_for_sent(
        lambda m: m.chat.type == "private" and m.chat.id == h.alice.id and check(m.content),
        TIMEOUT,
    )


async def _tip(h: Harness, args: str) -> str:
    """Alice types ``/tip args`` in the group; returns the intent id from her private link."""
    before = {m.message_id for m in h.tg.sent_messages(h.alice.id)}
    h.tg.user_sends(h.tg_group, h.alice, f"/tip {args}")
    reply = await h.tg.wait_for_sent(
        lambda m: m.message_id not in before and "/tip/0x" in m.content, TIMEOUT, chat=h.alice.id
    )
    match = _INTENT.search(reply.content)
    assert match is not None, reply.content
    assert reply.content.count(f"{h.settings.web.public_url}/tip/{match.group(1)}") == 1
    # Nothing about the tip (the link least of all) is said in the group.
    assert not [m for m in h.tg.sent_messages(h.tg_group) if match.group(1) in m.content]
    return match.group(1)


async def _api(h: Harness, intent_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{h.web_url}/api/tip/{intent_id}") as resp,
    ):
        assert resp.status == 200, await resp.text()
        view: dict[str, Any] = await resp.json()
        return view


def _bob_dms(h: Harness, text: str) -> list[dict[str, Any]]:
    dm = h.dc.dm_channel(h.bob)
    return [m for m in h.dc.messages(dm.id) if text in (m.get("content") or "")]


async def _announced_once(h: Harness, text: str) -> None:
    """``text`` shows in the Telegram group, the Discord channel and on Waku exactly once."""
    await h.tg_copy(text)
    await h.dc.wait_for(lambda: h.dc_messages(text), TIMEOUT)
    await h.waku_copy(text)
    await h.settle()
    assert len(h.tg_copies(text)) == 1
    assert len(h.dc_messages(text)) == 1
    assert len(h.waku_copies(text)) == 1
    # The bridge speaks as itself: no relayed "name (platform):" header, no webhook identity.
    assert h.tg_copies(text)[0].content.startswith(text)
    [posted] = h.dc_messages(text)
    assert posted["content"].startswith(text.split(" ")[0])
    assert "webhook_id" not in posted or posted["webhook_id"] is None


# --- the tests ----------------------------------------------------------------------------------


async def test_eth_and_token_tips_from_telegram_to_a_discord_wallet(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice_wallet, bob_wallet = anvil.addresses[2], anvil.addresses[1]
    tipjar, usdc = await _deploy(w3, anvil, alice_wallet)
    async with running_bridge(tmp_path, configure=_chain_config(anvil, tipjar, usdc)) as h:
        await _link_bob(h, bob_wallet)
        watcher = _watcher(h)
        h.tg.user_starts_bot(h.alice)

        # ETH: the private answer links the tip page; its API gives the transaction.
        intent_id = await _tip(h, "@bob 0.01 ETH thanks")
        reply = h.tg.sent_messages(h.alice.id)[-1].content
        assert f"Tip 0.01 ETH to bob ({bob_wallet})" in reply
        assert f"ethereum:{tipjar}@31337/tipETH?address={bob_wallet}" in reply
        view = await _api(h, intent_id)
        assert view["status"] == "open" and view["amount_display"] == "0.01 ETH"
        assert view["tx"]["to"] == tipjar and int(view["tx"]["value"], 16) == 10**16
        assert view["approve"] is None

        balance = await w3.eth.get_balance(bob_wallet)
        await _send(w3, alice_wallet, view["tx"])
        tip_block = await w3.eth.block_number
        assert await w3.eth.get_balance(bob_wallet) - balance == 10**16
        # One block short of final: read up to the block before the tip, nothing announced.
        await _mine(w3, CONFIRMATIONS - 1)
        await _polled_through(watcher, tip_block - 1)
        await h.settle()
        assert h.tg_copies("tipped") == [] and h.dc_messages("tipped") == []
        assert (await _api(h, intent_id))["status"] == "open"

        await _mine(w3, 1)
        await _polled_through(watcher, tip_block)
        text = "Alice tipped bob 0.01 ETH — thanks"
        await _announced_once(h, text)
        assert f"{text}\ntx 0x" in h.tg_copies(text)[0].content
        dms = await h.dc.wait_for(lambda: _bob_dms(h, "You received 0.01 ETH from Alice"))
        assert len(dms) == 1 and "— thanks" in dms[0]["content"]
        assert (await _api(h, intent_id))["status"] == "paid"

        # 5 USDC: approve, then tipToken, as the page does.
        intent_id = await _tip(h, "@bob 5 USDC")
        reply = h.tg.sent_messages(h.alice.id)[-1].content
        assert "5 USDC to bob" in reply and "approve" in reply
        view = await _api(h, intent_id)
        assert view["amount"] == "5000000" and view["token"]["address"] == usdc
        assert view["approve"] is not None and view["tx"]["value"] == "0x0"
        await _send(w3, alice_wallet, view["approve"]["tx"])
        await _send(w3, alice_wallet, view["tx"])
        tip_block = await w3.eth.block_number
        token = at(w3, "TestERC20", usdc)
        assert await token.functions.balanceOf(bob_wallet).call() == 5_000_000
        await _mine(w3, CONFIRMATIONS)
        await _polled_through(watcher, tip_block)
        await _announced_once(h, "Alice tipped bob 5 USDC")
        await h.dc.wait_for(lambda: _bob_dms(h, "You received 5 USDC from Alice"))

        # More blocks and polls later: still one announcement and one DM per tip.
        await _mine(w3, 5)
        await _polled_through(watcher, tip_block + 4)
        await h.settle()
        for text in ("tipped bob 0.01 ETH", "tipped bob 5 USDC"):
            assert len(h.tg_copies(text)) == 1 and len(h.dc_messages(text)) == 1
        assert len(_bob_dms(h, "You received")) == 2

        # /tips in the group lists both, publicly.
        h.tg.user_sends(h.tg_group, h.alice, "/tips")
        listing = await h.tg_copy("Recent tips:")
        assert "• Alice → bob: 5 USDC" in listing.content
        assert "• Alice → bob: 0.01 ETH" in listing.content
        assert "Top tippers: Alice (0.01 ETH, 5 USDC)" in listing.content
        assert "Top recipients: bob (0.01 ETH, 5 USDC)" in listing.content

        # The same list from Discord (the room is one room).
        await h.dc.wait_for(lambda: h.dc.commands)
        interaction = h.dc.user_invokes_command("tips", {}, h.channel.id, h.bob)
        await h.dc.wait_for(lambda: interaction.responses)
        assert "Alice → bob: 0.01 ETH" in str(interaction.responses[0].content)


async def test_tip_reorged_out_before_final_is_never_announced(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice_wallet, bob_wallet = anvil.addresses[2], anvil.addresses[1]
    tipjar, usdc = await _deploy(w3, anvil, alice_wallet)
    async with running_bridge(tmp_path, configure=_chain_config(anvil, tipjar, usdc)) as h:
        await _link_bob(h, bob_wallet)
        watcher = _watcher(h)
        h.tg.user_starts_bot(h.alice)
        intent_id = await _tip(h, "@bob 0.02 ETH ghost")
        view = await _api(h, intent_id)
        balance = await w3.eth.get_balance(bob_wallet)

        head = await w3.eth.block_number
        await _polled_through(watcher, head - CONFIRMATIONS)
        snapshot = await _rpc(w3, "evm_snapshot", [])
        await _send(w3, alice_wallet, view["tx"])
        tip_block = await w3.eth.block_number
        assert tip_block == head + 1
        await _mine(w3, CONFIRMATIONS - 1)
        await _polled_through(watcher, tip_block - 1)

        # The fork without the tip wins, and grows past the depth the tip would have needed.
        assert await _rpc(w3, "evm_revert", [snapshot]) is True
        assert await w3.eth.block_number == head
        await _mine(w3, CONFIRMATIONS + 3)
        await _polled_through(watcher, tip_block + 2)
        await h.settle()
        assert await w3.eth.get_balance(bob_wallet) == balance
        for where in (h.tg_copies("ghost"), h.dc_messages("ghost"), h.waku_copies("ghost")):
            assert where == []
        assert _bob_dms(h, "You received") == []
        assert (await _api(h, intent_id))["status"] == "open"

        # Paid for real afterwards, the same intent is announced, once.
        await _send(w3, alice_wallet, view["tx"])
        tip_block = await w3.eth.block_number
        await _mine(w3, CONFIRMATIONS)
        await _polled_through(watcher, tip_block)
        await _announced_once(h, "Alice tipped bob 0.02 ETH — ghost")
        await h.dc.wait_for(lambda: _bob_dms(h, "You received 0.02 ETH from Alice"))
        assert len(_bob_dms(h, "You received")) == 1
        assert (await _api(h, intent_id))["status"] == "paid"


async def test_bad_amounts_get_a_clear_answer_in_the_group(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice_wallet, bob_wallet = anvil.addresses[2], anvil.addresses[1]
    tipjar, usdc = await _deploy(w3, anvil, alice_wallet)
    async with running_bridge(tmp_path, configure=_chain_config(anvil, tipjar, usdc)) as h:
        await _link_bob(h, bob_wallet)
        h.tg.user_starts_bot(h.alice)

        # Usage errors reveal nothing: they are answered where they were asked.
        h.tg.user_sends(h.tg_group, h.alice, "/tip @bob -1 ETH")
        negative = await _in_group(h, lambda t: "'-1' is not an amount" in t)
        assert "plain positive number" in negative.content
        assert "Usage: /tip @user" in negative.content

        h.tg.user_sends(h.tg_group, h.alice, "/tip @bob 0.0000001 USDC")
        await _in_group(h, lambda t: "USDC has 6 decimal places; 0.0000001 has 7." in t)

        h.tg.user_sends(h.tg_group, h.alice, "/tip @nobody 1 ETH")
        await _in_group(h, lambda t: "@nobody has no linked wallet here" in t)

        # A good one still works after the bad ones; the answers were not relayed.
        await _tip(h, "@bob 0.5 USDC")
        await h.settle()
        assert h.dc_messages("amount") == []


async def _in_group(h: Harness, check: Callable[[str], bool]) -> FakeMessage:
    return await h.tg.wait_for_sent(lambda m: check(m.content), TIMEOUT, chat=h.tg_group)


async def test_tip_without_an_rpc_explains_what_to_configure(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        assert not any(
            isinstance(c, TipsComponent) and c.watcher is not None for c in h.bridge.components
        )
        h.tg.user_starts_bot(h.alice)
        h.tg.user_sends(h.tg_group, h.alice, "/tip @bob 0.01 ETH thanks")
        answer = await _alice_private(h, lambda t: "Tips are not set up" in t)
        assert answer.content == NOT_CONFIGURED
        assert "[chain] rpc_url" in answer.content and "[chain] tipjar" in answer.content
        assert "parley contracts deploy" in answer.content

        # On Discord the answer is ephemeral: only Bob sees it.
        await h.dc.wait_for(lambda: h.dc.commands)
        interaction = h.dc.user_invokes_command(
            "tip", {"user": "@alice", "amount": "1", "token": "ETH"}, h.channel.id, h.bob
        )
        await h.dc.wait_for(lambda: interaction.responses)
        response = interaction.responses[0]
        # Escaped for Discord markdown, so it renders as the literal text.
        assert str(response.content).startswith("Tips are not set up on this bridge.")
        assert r"\[chain\] rpc\_url" in str(response.content)
        assert response.ephemeral

        await h.settle()
        assert not [m for m in h.tg.sent_messages(h.tg_group) if "Tips are not" in m.content]
        assert h.dc_messages("Tips are not") == []
