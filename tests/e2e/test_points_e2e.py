"""Community points end to end through the whole bridge: messages and a reaction through the
Telegram and Discord fakes, ``/award`` and ``/cycle close`` typed by an admin, the list served
at ``/points/cycles/1.json`` and checked independently, the root published on anvil with the
bridge's key, the claim sent from the claim page in Chromium with a real EIP-1193 signer, the
token balance, the watcher's announcement, the leaderboard page, and ``/tip … POINTS``."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bridge.points import PointsFeature
from bridge.points.cycle import verify_document
from bridge.store import links as links_store
from bridge.store import points as points_store
from bridge.store.links import WalletLink
from contracts import at, deploy, send_transaction
from tests.chain.anvil import REPO, Anvil
from tests.e2e.harness import ROOM, TIMEOUT, Harness, running_bridge

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = [pytest.mark.chain, pytest.mark.node]

UNIT = 10**18
CONFIRMATIONS = 2
SCRIPT = REPO / "tests" / "points" / "js" / "claim_page.mjs"


async def _rpc(w3: AsyncWeb3[Any], method: str, params: list[Any]) -> Any:
    from web3.types import RPCEndpoint

    reply = await w3.provider.make_request(RPCEndpoint(method), params)
    assert "error" not in reply, reply
    return reply["result"]


def _feature(h: Harness) -> PointsFeature:
    return next(c for c in h.bridge.components if isinstance(c, PointsFeature))


async def _link(h: Harness, platform: str, user_id: int, name: str, wallet: str) -> None:
    async with h.bridge.store.transaction() as db:
        await links_store.add(
            db,
            WalletLink(
                platform, str(user_id), name, wallet, 31337, "eoa", "m", "0x00", int(time.time())
            ),
        )


async def _until_published(h: Harness, w3: AsyncWeb3[Any], cycle: int) -> None:
    feature = _feature(h)
    assert feature.manager is not None
    async with asyncio.timeout(TIMEOUT * 2):
        while True:
            row = await points_store.get_cycle(h.bridge.store.db, cycle)
            if row is not None and row.status == "published":
                return
            assert feature.manager.problem is None, feature.manager.problem
            await _rpc(w3, "anvil_mine", ["0x1"])
            feature.manager.wake()
            await asyncio.sleep(0.1)


async def test_points_from_chat_to_claimed_tokens(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    assert shutil.which("/usr/bin/chromium"), "install Debian chromium: apt-get install -y chromium"
    node = shutil.which("node")
    assert node is not None
    key = anvil.private_keys[0]
    alice_wallet, bob_wallet = anvil.addresses[1], anvil.addresses[2]
    token = at(
        w3,
        "CommunityPoints",
        await deploy(
            w3,
            "CommunityPoints",
            "Club",
            "POINTS",
            anvil.addresses[0],
            10**6 * UNIT,
            private_key=key,
        ),
    )
    distributor = at(
        w3,
        "PointsDistributor",
        await deploy(w3, "PointsDistributor", token.address, anvil.addresses[0], private_key=key),
    )
    await send_transaction(
        w3, token.functions.transfer(distributor.address, 1000 * UNIT), private_key=key
    )

    def configure(raw: dict[str, Any]) -> None:
        raw["chain"] = {
            "rpc_url": anvil.rpc_url,
            "chain_id": anvil.chain_id,
            "confirmations": CONFIRMATIONS,
            "tipjar": str(distributor.address),  # any contract: /tip only builds the intent
        }
        raw["points"] = {
            "rooms": [ROOM],
            "token": token.address,
            "distributor": distributor.address,
            "min_message_length": 3,
        }

    async with running_bridge(tmp_path, configure=configure) as h:
        from eth_account import Account

        # The bridge's own key publishes the roots: it owns the distributor and pays the gas.
        operator = Account.from_key(h.identity_key).address
        await send_transaction(
            w3, distributor.functions.transferOwnership(operator), private_key=key
        )
        await _rpc(w3, "anvil_setBalance", [operator, hex(10**19)])
        await _link(h, "telegram", h.alice.id, "Alice", alice_wallet)
        await _link(h, "discord", h.bob.id, "bob", bob_wallet)

        original = h.tg.user_sends(h.tg_group, h.alice, "hello from telegram")
        copy = await h.dc_copy("hello from telegram")
        h.dc.user_reacts(h.channel.id, int(copy["id"]), h.bob, "👍")
        h.dc.user_sends(h.channel.id, h.bob, "hello from discord")
        await h.tg_copy("hello from discord")
        h.tg.user_reacts(h.tg_group, h.alice, original, "👍")  # her own: nothing
        await h.settle()

        h.tg.user_sends(h.tg_group, h.tg_admin, "/award @alice 10 first to arrive")
        await h.tg_copy("Ada awarded 10 points to Alice in main: first to arrive")
        async with asyncio.timeout(TIMEOUT):
            while True:
                async with h.bridge.store.db.execute(
                    "SELECT COUNT(*) FROM points_entries WHERE kind = 'reaction'"
                ) as cur:
                    row = await cur.fetchone()
                if row is not None and row[0] == 1:
                    break
                await asyncio.sleep(0.05)

        h.tg.user_sends(h.tg_group, h.alice, "/points")
        mine = await h.tg_copy("Alice: 12 points this cycle")
        assert "rank 1 of 2; 12 in all in main" in mine.content

        # On request, her points show after her name on what she writes.
        h.tg.user_sends(h.tg_group, h.alice, "/points show")
        h.tg.user_sends(h.tg_group, h.alice, "with my points shown")
        shown = await h.dc_copy("with my points shown")
        assert "Alice · 12 pts" in shown["author"]["username"], shown["author"]
        h.tg.user_sends(h.tg_group, h.alice, "/points hide")

        h.tg.user_sends(h.tg_group, h.tg_admin, "/cycle close")
        closed = await h.tg_copy("Cycle 1 closed: 2 wallets, 14 points")
        root = closed.content.split("Root ")[1].split()[0]

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{h.web_url}/points/cycles/1.json") as resp:
                assert resp.status == 200
                data = await resp.read()
                cid = resp.headers["X-Parley-CID"]
            document = verify_document(data)
            assert document.root == root and document.cid == cid
            assert json.loads(data)["token"] == token.address
            assert document.amounts == {alice_wallet: 13 * UNIT, bob_wallet: 1 * UNIT}
            lists = h.settings.bridge.data_dir / "points"
            assert lists.stat().st_mode & 0o777 == 0o700
            assert (lists / "cycles").stat().st_mode & 0o777 == 0o700
            assert (lists / "cycles" / "1.json").stat().st_mode & 0o777 == 0o600

            await _until_published(h, w3, 1)
            await h.tg_copy("Cycle 1 is on chain")
            onchain = await distributor.functions.merkleRoot().call()
            assert "0x" + bytes(onchain).hex() == root

            process = await asyncio.create_subprocess_exec(
                node,
                str(SCRIPT),
                f"{h.web_url}/points/claim",
                anvil.rpc_url,
                alice_wallet,
                str(tmp_path / "chromium-profile"),
                cwd=REPO,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=150)
            assert process.returncode == 0, (stdout.decode(), stderr.decode())
            result = json.loads(stdout.decode().strip().splitlines()[-1])
            assert result["state"] == "claimed", result
            assert result["status"].startswith("Claimed 13 POINTS")
            calls = result["calls"]
            assert calls.index("wallet_switchEthereumChain") < calls.index("eth_sendTransaction")
            assert calls.count("eth_sendTransaction") == 1
            assert result["secondState"] == "nothing"
            assert "Everything up to cycle 1 is claimed" in result["secondStatus"]
            assert result["consoleErrors"] == [] and result["badResponses"] == []
            assert await token.functions.balanceOf(alice_wallet).call() == 13 * UNIT

            await _rpc(w3, "anvil_mine", [hex(CONFIRMATIONS)])
            _feature(h).manager.wake()  # type: ignore[union-attr]
            await h.tg_copy("Alice claimed 13 POINTS")

            # A wallet that is not in the list gets a clear answer, not a transaction.
            async with http.get(f"{h.web_url}/api/points/claim/{anvil.addresses[7]}") as resp:
                view = await resp.json()
            assert view["tx"] is None and "not in cycle 1's list" in view["message"]

            async with http.get(f"{h.web_url}/points/{ROOM}") as resp:
                page = await resp.text()
            assert resp.status == 200
            assert "Alice" in page and "first to arrive" in page and "+10" in page

        # Tipping in points: the configured token is known as POINTS.
        h.tg.user_starts_bot(h.alice)
        h.tg.user_sends(h.tg_group, h.alice, "/tip @bob 3 POINTS thanks")
        await h.tg.wait_for_sent(
            lambda m: m.chat.id == h.alice.id and "Tip 3 POINTS to bob" in m.content, TIMEOUT
        )
