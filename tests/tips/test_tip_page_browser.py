"""The tip page in headless Debian chromium: an injected EIP-1193 provider (proxying to anvil)
switches chain, approves, sends tipToken; the watcher sees the tip and the page shows it paid.

Needs /usr/bin/chromium (``apt-get install -y chromium``) and node_modules (playwright-core);
without them this test fails, it does not skip."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.chain.anvil import REPO, Anvil
from tests.tips.support import ROOM, link, make_env, mine

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = [pytest.mark.chain, pytest.mark.node]

SCRIPT = Path(__file__).parent / "js" / "tip_page.mjs"
CHROMIUM = Path("/usr/bin/chromium")


async def test_tip_page_pays_a_token_tip_in_chromium(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    assert shutil.which(str(CHROMIUM)), "install Debian chromium: apt-get install -y chromium"
    node = shutil.which("node")
    assert node is not None, "node is needed for the browser test"
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    async with make_env(w3, anvil, tmp_path) as env:
        await link(env.store, bob, "2", "bob")
        intent_id = await env.tip("@bob 2.5 USDC from the browser")
        watcher = env.watcher(poll_interval=0.1)
        await watcher.start()

        async def keep_mining() -> None:
            while True:
                await asyncio.sleep(0.2)
                await mine(w3, 1)

        miner = asyncio.create_task(keep_mining())
        try:
            process = await asyncio.create_subprocess_exec(
                node,
                str(SCRIPT),
                f"{env.url}/tip/{intent_id}",
                anvil.rpc_url,
                alice,
                str(tmp_path / "chromium-profile"),
                cwd=REPO,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=150)
        finally:
            miner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await miner
        assert process.returncode == 0, (stdout.decode(), stderr.decode())
        result = json.loads(stdout.decode().strip().splitlines()[-1])
        assert result["qrLoaded"] is True
        assert result["uri"].startswith(f"ethereum:{env.tipjar}@31337/tipToken?")
        calls = result["calls"]
        assert calls.index("wallet_switchEthereumChain") < calls.index("eth_sendTransaction")
        assert calls.count("eth_sendTransaction") == 2  # approve, then tipToken
        assert "Confirmed" in result["status"]
        assert result["consoleErrors"] == [] and result["badResponses"] == []
        await watcher.poll_once()
        assert len(env.notifier.room) == 1
        assert env.notifier.room[0][0] == ROOM
        assert env.notifier.room[0][1].startswith("alice tipped bob 2.5 USDC — from the browser")
        assert [(p, u) for p, u, _ in env.notifier.told] == [("telegram", "2")]
