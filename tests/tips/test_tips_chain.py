"""Tips end to end on anvil: /tip -> /api/tip calldata -> a wallet sends -> the watcher
announces once, at the configured depth, across reorgs and restarts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bridge.store import tips as tips_store
from bridge.tips import NOT_CONFIGURED
from tests.chain.anvil import Anvil
from tests.tips.support import CONFIRMATIONS, ROOM, author, link, make_env, mine

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain


async def _rpc(w3: AsyncWeb3[Any], method: str, params: list[Any]) -> Any:
    from web3.types import RPCEndpoint

    reply = await w3.provider.make_request(RPCEndpoint(method), params)
    assert "error" not in reply, reply
    return reply["result"]


async def test_eth_tip_end_to_end(w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path) -> None:
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        reply = await env.command("tip", "@bob 0.01 ETH thanks for the help")
        assert reply.private
        assert "0.01 ETH to bob" in reply.text
        assert f"ethereum:{env.tipjar}@31337/tipETH?address={bob}&bytes32=0x" in reply.text
        assert "value=10000000000000000" in reply.text
        intent_id = await env.tip("@bob 0.01 ETH thanks for the help")
        watcher = env.watcher()
        await watcher.poll_once()

        before = await w3.eth.get_balance(bob)
        await env.pay(intent_id, alice)
        assert await w3.eth.get_balance(bob) - before == 10**16

        # Fewer than N blocks on top of the tip's block: not final, not announced.
        for _ in range(CONFIRMATIONS):
            await watcher.poll_once()
            assert env.notifier.room == [] and env.notifier.told == []
            await mine(w3, 1)
        await watcher.poll_once()
        assert len(env.notifier.room) == 1
        chat, text = env.notifier.room[0]
        assert chat == ROOM
        assert text.startswith("alice tipped bob 0.01 ETH — thanks for the help\ntx 0x")
        assert env.notifier.told == [("telegram", "2", env.notifier.told[0][2])]
        assert "You received 0.01 ETH from alice" in env.notifier.told[0][2]
        status, view = await env.api(intent_id)
        assert status == 200 and view["status"] == "paid"

        await mine(w3, 5)
        await watcher.poll_once()
        await watcher.poll_once()
        assert len(env.notifier.room) == 1 and len(env.notifier.told) == 1

        tips = await env.command("tips", "")
        assert "alice → bob: 0.01 ETH" in tips.text
        assert "Top tippers: alice (0.01 ETH)" in tips.text


async def test_token_tip_with_approval(w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path) -> None:
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        reply = await env.command("tip", "@bob 5 usdc")
        assert "5 USDC" in reply.text and "approve" in reply.text
        intent_id = await env.tip("@bob 5 USDC for lunch")
        _, view = await env.api(intent_id)
        assert view["amount"] == "5000000" and view["token"]["decimals"] == 6
        assert view["eip681"][0] == (
            f"ethereum:{env.token}@31337/approve?address={env.tipjar}&uint256=5000000"
        )
        assert view["eip681"][1].startswith(
            f"ethereum:{env.tipjar}@31337/tipToken?address={env.token}&address={bob}"
            "&uint256=5000000&bytes32=0x"
        )
        # The allowance helper makes a valid eth_call.
        approve = view["approve"]
        owner = "0" * 24 + alice[2:].lower()
        data = approve["allowance_selector"] + owner + approve["spender_word"]
        assert int(await _rpc(w3, "eth_call", [{"to": env.token, "data": data}, "latest"]), 16) == 0

        watcher = env.watcher()
        await env.pay(intent_id, alice)
        assert int(await _rpc(w3, "eth_call", [{"to": env.token, "data": data}, "latest"]), 16) == 0
        await mine(w3, CONFIRMATIONS)
        await watcher.poll_once()
        assert [t for _, t in env.notifier.room] == [env.notifier.room[0][1]] and env.notifier.room[
            0
        ][1].startswith("alice tipped bob 5 USDC — for lunch")
        assert len(env.notifier.told) == 1


async def test_tip_reorged_out_before_final_is_never_announced(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        intent_id = await env.tip("@bob 0.02 ETH")
        _, view = await env.api(intent_id)
        watcher = env.watcher()
        await watcher.poll_once()

        snapshot = await _rpc(w3, "evm_snapshot", [])
        await env.send(alice, view["tx"])
        await mine(w3, CONFIRMATIONS - 2)
        await watcher.poll_once()
        assert await _rpc(w3, "evm_revert", [snapshot]) is True
        await mine(w3, CONFIRMATIONS + 3)
        await watcher.poll_once()
        assert env.notifier.room == [] and env.notifier.told == []
        intent = await tips_store.get_intent(env.store.db, intent_id)
        assert intent is not None and intent.status == "open"

        # The same tip, included again after the reorg, is announced once.
        await env.send(alice, view["tx"])
        await mine(w3, CONFIRMATIONS)
        await watcher.poll_once()
        await mine(w3, 2)
        await watcher.poll_once()
        assert len(env.notifier.room) == 1 and len(env.notifier.told) == 1


async def test_reorg_below_the_cursor_is_detected_and_re_read(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    """A reorg deeper than `confirmations`: the watcher notices the changed block hashes,
    rewinds, and finds the tip in the new fork (which it would otherwise skip)."""
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        intent_id = await env.tip("@bob 0.03 ETH")
        _, view = await env.api(intent_id)
        watcher = env.watcher(confirmations=1)
        await watcher.poll_once()
        snapshot = await _rpc(w3, "evm_snapshot", [])
        base = await w3.eth.block_number
        await mine(w3, 4)
        await watcher.poll_once()  # reads up to base + 3 on the old fork
        assert watcher.next_block == base + 4
        assert await _rpc(w3, "evm_revert", [snapshot]) is True
        await env.send(alice, view["tx"])  # block base + 1 of the new fork
        await mine(w3, 4)
        await watcher.poll_once()
        assert len(env.notifier.room) == 1
        assert env.notifier.room[0][1].startswith("alice tipped bob 0.03 ETH")
        await watcher.poll_once()
        assert len(env.notifier.room) == 1


async def test_restart_mid_scan_resumes_and_announces_once(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        first = await env.tip("@bob 0.001 ETH one")
        second = await env.tip("@bob 0.002 ETH two")
        await env.pay(first, alice)
        await mine(w3, 30)
        await env.pay(second, alice)
        await mine(w3, CONFIRMATIONS)

        watcher = env.watcher(range_size=10)
        assert await watcher.poll_once(max_ranges=1) == 1  # the first tip's range only
        await watcher.stop()
        assert [t.split("\n")[0] for _, t in env.notifier.room] == [
            "alice tipped bob 0.001 ETH — one"
        ]

        again = env.watcher(range_size=10)
        assert await again.poll_once() == 1
        await again.poll_once()
        assert [t.split("\n")[0] for _, t in env.notifier.room] == [
            "alice tipped bob 0.001 ETH — one",
            "alice tipped bob 0.002 ETH — two",
        ]
        assert len(env.notifier.told) == 2
        # A third instance from a fresh cursor (start block again) skips recorded events.
        third = env.watcher(range_size=2000)
        async with env.store.transaction() as db:
            await tips_store.set_cursor(db, 31337, env.tipjar, env.start_block)
        await third.poll_once()
        assert len(env.notifier.room) == 2


async def test_direct_tip_to_a_linked_wallet(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    """No intent: the recipient is told privately, and the room where they were last tipped
    through an intent sees it too; tips to unlinked wallets are not announced."""
    from contracts import at

    alice, bob, carol = anvil.addresses[0], anvil.addresses[1], anvil.addresses[2]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        await link(env.store, alice, "1", "alice")
        await env.tip("@bob 1 ETH")  # never paid: only tells where bob is tipped
        jar = at(w3, "TipJar", env.tipjar)
        watcher = env.watcher()
        for to in (bob, carol):
            call = jar.functions.tipETH(to, b"\x07" * 32)
            tx = await call.build_transaction({"from": alice, "value": 12345})  # type: ignore[arg-type]
            await env.send(
                alice, {"to": str(tx["to"]), "data": str(tx["data"]), "value": hex(12345)}
            )
        await mine(w3, CONFIRMATIONS)
        await watcher.poll_once()
        assert [(c, t.split("\n")[0]) for c, t in env.notifier.room] == [
            (ROOM, "alice tipped bob 0.000000000000012345 ETH")
        ]
        assert [(p, u) for p, u, _ in env.notifier.told] == [("telegram", "2")]


async def test_expired_intents(w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path) -> None:
    bob = anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        intent_id = await env.tip("@bob 0.01 ETH")
        other = await env.tip("@bob 0.05 ETH")
        env.clock[0] += 31 * 60
        watcher = env.watcher()
        await watcher.poll_once()  # the sweep
        stored = await tips_store.get_intent(env.store.db, other)
        assert stored is not None and stored.status == "expired"
        status, body = await env.api(intent_id)
        assert status == 410 and "expired" in body["error"]
        async with env.http.get(f"{env.url}/tip/{intent_id}") as response:
            assert response.status == 410
            assert "expired" in await response.text()
        async with env.http.get(f"{env.url}/tip/{intent_id}/qr.svg") as response:
            assert response.status == 410
        status, body = await env.api("0x" + "ab" * 32)
        assert status == 404 and "no such tip" in body["error"]
        status, body = await env.api("nonsense")
        assert status == 404


async def test_page_and_qr(w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path) -> None:
    bob = anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "<b>bob</b>")
        intent_id = await env.tip("@<b>bob</b> 0.01 ETH <script>x</script>")
        async with env.http.get(f"{env.url}/tip/{intent_id}") as response:
            assert response.status == 200
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "default-src 'none'" in csp
            page = await response.text()
        assert "<script>x" not in page and "&lt;script&gt;x" in page
        assert "&lt;b&gt;bob&lt;/b&gt;" in page
        async with env.http.get(f"{env.url}/tip/{intent_id}/qr.svg") as response:
            assert response.status == 200
            assert response.content_type == "image/svg+xml"
            svg = await response.text()
        assert svg.startswith("<svg") and "<script" not in svg
        # The wallet steps shared with the claim page load first, then the page's own script.
        assert page.index("/tip-assets/wallet.js") < page.index("/tip-assets/tips.js")
        async with env.http.get(f"{env.url}/tip-assets/tips.js") as response:
            assert response.status == 200 and "/api/tip/" in await response.text()
        async with env.http.get(f"{env.url}/tip-assets/wallet.js") as response:
            assert response.status == 200 and "eth_sendTransaction" in await response.text()
        async with env.http.get(f"{env.url}/tip-assets/../x") as response:
            assert response.status == 404


async def test_bad_input_gets_clear_errors(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    bob = anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        await link(env.store, anvil.addresses[3], "7", "alice")
        cases = {
            "@bob 0 ETH": "more than zero",
            "@bob -1 ETH": "not an amount",
            "@bob 1e5 ETH": "not an amount",
            "@bob NaN ETH": "not an amount",
            "@bob 1,5 ETH": "not an amount",
            "@bob abc ETH": "not an amount",
            "@bob 0.0000001 USDC": "USDC has 6 decimal places",
            "@bob 0.0000000000000000001 ETH": "ETH has 18 decimal places",
            "@bob 10000000000000 ETH": "more than the bridge accepts",
            "@bob 1 DOGE": "Unknown token 'DOGE'",
            f"@bob 1 {anvil.addresses[5]}": "not a contract",
            "@bob 1 0x1234": "not a token address",
            "@nobody 1 ETH": "has no linked wallet",
            "@bob 1": "Say who, how much and which token",
            "0x12345 1 ETH": "not a valid address",
            "0x" + "0" * 40 + " 1 ETH": "zero address",
            bob.lower()[:-1] + "G 1 ETH": "not a valid address",
            "@alice 1 ETH": "cannot tip yourself",
            "vitalik.eth 1 ETH": "could not resolve vitalik.eth",
        }
        for raw, expected in cases.items():
            reply = await env.command("tip", raw, author("7", "alice"))
            assert expected in reply.text, (raw, reply.text)
            assert not reply.private  # usage errors are answered in the chat
            assert "Usage: /tip" in reply.text, raw
        # A wrong EIP-55 checksum is refused, not silently accepted.
        bad = bob[:-1] + (bob[-1].lower() if bob[-1].isupper() else bob[-1].upper())
        if bad[-1].isalpha():
            reply = await env.command("tip", f"{bad} 1 ETH")
            assert "checksum" in reply.text
        # An address works even without a link.
        reply = await env.command("tip", f"{anvil.addresses[6]} 1 ETH")
        assert "/tip/0x" in reply.text
        # By platform id, and by an ambiguous name.
        await link(env.store, anvil.addresses[4], "9", "bob", platform="telegram")
        reply = await env.command("tip", "@bob 1 ETH")
        assert "ambiguous" in reply.text and "telegram:2" in reply.text
        reply = await env.command("tip", "telegram:9 1 ETH")
        assert "/tip/0x" in reply.text and anvil.addresses[4] in reply.text


async def test_without_rpc_tips_explain_the_setup(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    async with make_env(w3, anvil, tmp_path, rpc=False) as env:
        reply = await env.command("tip", "@bob 0.01 ETH")
        assert reply.text == NOT_CONFIGURED
        assert "rpc_url" in reply.text and "tipjar" in reply.text
        reply = await env.command("tips", "")
        assert "No tips in this room yet" in reply.text and "rpc_url" in reply.text
