"""The watcher against a hostile JSON-RPC server (a real HTTP server on 127.0.0.1): malformed
logs are skipped, malformed answers fail the poll cleanly, and nothing crashes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge.store import Store
from bridge.store import tips as tips_store
from bridge.tips import abi
from bridge.tips.rpc import RpcClient, RpcError
from bridge.tips.tokens import Tokens
from bridge.tips.watcher import TipWatcher
from tests.tips.support import RecordingNotifier, link

TIPJAR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _word(address: str) -> str:
    return "0x" + "0" * 24 + address[2:].lower()


def _block_hash(number: int) -> str:
    return "0x" + number.to_bytes(32, "big").hex()


GOOD = {
    "address": TIPJAR,
    "topics": [abi.tipped_topic(), _word(ALICE), _word(BOB), "0x" + "00" * 32],
    "data": "0x" + (10**15).to_bytes(32, "big").hex() + "cd" * 32,
    "transactionHash": "0x" + "11" * 32,
    "blockHash": _block_hash(5),
    "blockNumber": "0x5",
    "logIndex": "0x1",
}
GARBAGE: list[Any] = [
    None,
    42,
    {**GOOD, "topics": GOOD["topics"][:3]},
    {**GOOD, "data": "0xdeadbeef"},
    {**GOOD, "address": BOB},
    {**GOOD, "blockNumber": "0x999"},  # outside the range asked for
    {**GOOD, "topics": [GOOD["topics"][0], "0x" + "ff" * 32, *GOOD["topics"][2:]]},
]


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"head": "0x20", "logs": [*GARBAGE, GOOD]}

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        method, params = body["method"], body["params"]
        if method == "eth_blockNumber":
            result: Any = state["head"]
        elif method == "eth_getBlockByNumber":
            number = int(params[0], 16)
            result = {"number": params[0], "hash": _block_hash(number)}
        elif method == "eth_getLogs":
            result = state["logs"]
        else:
            return web.json_response(
                {"jsonrpc": "2.0", "id": body["id"], "error": {"message": "no"}}
            )
        return web.Response(
            text=json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": result}),
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", state
    finally:
        await runner.cleanup()


async def test_malformed_logs_are_skipped(
    hostile: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, state = hostile
    store = await Store.open(tmp_path / "db")
    rpc = RpcClient(url)
    notifier = RecordingNotifier()
    try:
        await link(store, BOB, "2", "bob")
        watcher = TipWatcher(
            store,
            rpc,
            notifier,
            chain_id=1,
            tipjar=TIPJAR,
            confirmations=2,
            tokens=Tokens({}, rpc),
            start_block=0,
        )
        assert await watcher.poll_once() == 1
        assert notifier.told[0][2].startswith("You received 0.001 ETH from 0xf39F")
        assert await tips_store.cursor(store.db, 1, TIPJAR) == 0x20 - 2 + 1

        state["head"] = "not a number"
        with pytest.raises(RpcError):
            await watcher.poll_once()
        state["head"] = "0x40"
        state["logs"] = {"not": "a list"}
        with pytest.raises(RpcError):
            await watcher.poll_once()
        state["logs"] = []
        assert await watcher.poll_once() == 0
        assert len(notifier.told) == 1
    finally:
        await rpc.close()
        await store.close()
