"""Benchmark: how fast a fresh tip watcher catches up on TipJar history.

Run from the repository root: ``.venv/bin/python -m bench.watcher [--blocks N] [--tips N]``.
Starts its own anvil (node_modules), deploys a TipJar, spreads ``--tips`` ETH tips over
``--blocks`` blocks (automine off: a batch of tips per mined block, ``anvil_mine`` to skip the
rest), then times a new watcher on an empty store reading everything from the deploy block
(2,000-block ranges, confirmations 0, the recipient linked so every tip is announced).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == _REPO / "bench":
    sys.path[0] = str(_REPO)

from bridge.model import ChatRef, Platform, UserId  # noqa: E402
from bridge.store import Store  # noqa: E402
from bridge.store import links as links_store  # noqa: E402
from bridge.store.links import WalletLink  # noqa: E402
from bridge.tips.abi import tip_eth_calldata  # noqa: E402
from bridge.tips.rpc import RpcClient  # noqa: E402
from bridge.tips.tokens import Tokens  # noqa: E402
from bridge.tips.watcher import TipWatcher  # noqa: E402
from contracts import load_artifact  # noqa: E402
from tests.chain.anvil import start_anvil  # noqa: E402


class CountingNotifier:
    def __init__(self) -> None:
        self.count = 0

    async def announce(self, chat: ChatRef, text: str) -> None:
        self.count += 1

    async def announce_room(self, chat: ChatRef, text: str) -> None:
        self.count += 1

    async def tell_user(self, platform: Platform, user_id: UserId, text: str) -> bool:
        self.count += 1
        return True


async def _receipt(rpc: RpcClient, tx_hash: str) -> dict[str, Any]:
    for _ in range(200):
        receipt = await rpc.call("eth_getTransactionReceipt", [tx_hash])
        if receipt:
            return dict(receipt)
        await asyncio.sleep(0.05)
    raise RuntimeError("no receipt")


async def _populate(
    rpc: RpcClient, sender: str, to: str, blocks: int, tips: int
) -> tuple[str, int]:
    tx_hash = await rpc.call(
        "eth_sendTransaction", [{"from": sender, "data": load_artifact("TipJar").bytecode}]
    )
    receipt = await _receipt(rpc, tx_hash)
    tipjar, start = str(receipt["contractAddress"]), int(receipt["blockNumber"], 16)
    await rpc.call("evm_setAutomine", [False])
    batches = max(1, min(tips, blocks // 2))
    per_batch, extra = divmod(tips, batches)
    gap = blocks // batches
    for batch in range(batches):
        for i in range(per_batch + (1 if batch < extra else 0)):
            ref = "0x" + (batch * 100_000 + i).to_bytes(32, "big").hex()
            await rpc.call(
                "eth_sendTransaction",
                [
                    {
                        "from": sender,
                        "to": tipjar,
                        "data": tip_eth_calldata(to, ref),
                        "value": hex(10**12 + i),
                        "gas": hex(120_000),
                    }
                ],
            )
        await rpc.call("evm_mine", [])
        if gap > 1:
            await rpc.call("anvil_mine", [hex(gap - 1)])
    rest = blocks - batches * gap
    if rest > 0:
        await rpc.call("anvil_mine", [hex(rest)])
    await rpc.call("evm_setAutomine", [True])
    return tipjar, start


async def main(blocks: int, tips: int) -> None:
    node = start_anvil()
    rpc = RpcClient(node.rpc_url, timeout=60)
    try:
        sender, to = node.addresses[0], node.addresses[1]
        began = time.perf_counter()
        tipjar, start = await _populate(rpc, sender, to, blocks, tips)
        head = await rpc.block_number()
        print(
            f"populated {head - start} blocks with {tips} tips in "
            f"{time.perf_counter() - began:.1f} s"
        )
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(Path(tmp) / "bench.db")
            async with store.transaction() as db:
                await links_store.add(
                    db, WalletLink("telegram", "2", "bob", to, 31337, "eoa", "m", "0x", 1)
                )
            notifier = CountingNotifier()
            watcher = TipWatcher(
                store,
                RpcClient(node.rpc_url, timeout=60),
                notifier,
                chain_id=31337,
                tipjar=tipjar,
                confirmations=0,
                tokens=Tokens({}, None),
                start_block=start,
                owns_rpc=True,
            )
            began = time.perf_counter()
            found = await watcher.poll_once()
            elapsed = time.perf_counter() - began
            await watcher.stop()
            await store.close()
        scanned = head - start + 1
        print(
            f"catch-up: {scanned} blocks, {found} events, {notifier.count} notes in {elapsed:.2f} s"
        )
        print(f"  {scanned / elapsed:,.0f} blocks/s, {found / elapsed:,.0f} events/s")
        if found != tips:
            raise SystemExit(f"expected {tips} events, found {found}")
    finally:
        await rpc.close()
        node.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--tips", type=int, default=3_000)
    options = parser.parse_args()
    asyncio.run(main(options.blocks, options.tips))
