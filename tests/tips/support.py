"""Shared pieces of the tip tests: a recording Notifier, a deployed TipJar + token, the tip
service and routes served on 127.0.0.1, and helpers to send and mine."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bridge.commands import CommandReply, CommandRequest, Commands
from bridge.model import Author, ChatId, ChatRef, Platform, UserId
from bridge.store import Store
from bridge.store import links as links_store
from bridge.store.links import WalletLink
from bridge.tips import TipConfig, TipService, register_commands
from bridge.tips.rpc import RpcClient
from bridge.tips.watcher import TipWatcher
from bridge.tips.web import tip_routes
from contracts import at, deploy, send_transaction
from tests.chain.anvil import Anvil
from tests.identity.support import RecordingNotifier
from tests.platforms import INDEX

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = [
    "ROOM",
    "Env",
    "RecordingNotifier",
    "author",
    "link",
    "make_env",
    "mine",
]

ROOM = ChatRef("telegram", ChatId("-100123"))
CONFIRMATIONS = 3


def author(user_id: str, name: str, platform: Platform = "telegram") -> Author:
    return Author(platform, UserId(user_id), name)


async def link(
    store: Store, address: str, user_id: str, name: str, platform: str = "telegram", at_: int = 1
) -> None:
    async with store.transaction() as db:
        await links_store.add(
            db,
            WalletLink(platform, user_id, name, address, 31337, "eoa", "msg", "0x00", at_),
        )


async def mine(w3: AsyncWeb3[Any], blocks: int) -> None:
    from web3.types import RPCEndpoint

    await w3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(blocks)])


@dataclass
class Env:
    w3: AsyncWeb3[Any]
    anvil: Anvil
    store: Store
    notifier: RecordingNotifier
    service: TipService
    commands: Commands
    tipjar: str
    token: str
    url: str
    http: aiohttp.ClientSession
    start_block: int
    clock: list[float]
    watchers: list[TipWatcher] = field(default_factory=list)

    def watcher(self, **kwargs: Any) -> TipWatcher:
        options: dict[str, Any] = {
            "chain_id": 31337,
            "tipjar": self.tipjar,
            "confirmations": CONFIRMATIONS,
            "tokens": self.service.tokens,
            "start_block": self.start_block,
            "clock": lambda: self.clock[0],
            "owns_rpc": True,
        }
        options.update(kwargs)
        watcher = TipWatcher(self.store, RpcClient(self.anvil.rpc_url), self.notifier, **options)
        self.watchers.append(watcher)
        return watcher

    async def command(
        self, name: str, raw: str, who: Author | None = None, chat: ChatRef = ROOM
    ) -> CommandReply:
        request = CommandRequest(
            name=name,
            args=tuple(raw.split()),
            raw_args=raw,
            chat=chat,
            author=who or author("1", "alice"),
        )
        return await self.commands.handle(request)

    async def tip(self, raw: str, who: Author | None = None) -> str:
        """/tip ...; returns the intent id from the reply's page link."""
        reply = await self.command("tip", raw, who)
        match = re.search(r"/tip/(0x[0-9a-f]{64})", reply.text)
        assert match is not None, reply.text
        return match.group(1)

    async def api(self, intent_id: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(f"{self.url}/api/tip/{intent_id}") as response:
            return response.status, await response.json()

    async def pay(self, intent_id: str, sender: str) -> str:
        """Send the intent's transaction(s) as the page would (anvil's unlocked account)."""
        status, view = await self.api(intent_id)
        assert status == 200, view
        if view["approve"] is not None:
            await self.send(sender, view["approve"]["tx"])
        return await self.send(sender, view["tx"])

    async def send(self, sender: str, tx: dict[str, str]) -> str:
        tx_hash = await self.w3.eth.send_transaction(
            {"from": sender, "to": tx["to"], "data": tx["data"], "value": int(tx["value"], 16)}  # type: ignore[typeddict-item]
        )
        receipt = await self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        return "0x" + bytes(tx_hash).hex()


@asynccontextmanager
async def make_env(
    w3: AsyncWeb3[Any],
    anvil: Anvil,
    tmp_path: Path,
    *,
    rpc: bool = True,
) -> AsyncIterator[Env]:
    key = anvil.private_keys[0]
    tipjar = await deploy(w3, "TipJar", private_key=key)
    token_address = await deploy(w3, "TestERC20", "USD Coin", "USDC", 6, private_key=key)
    token = at(w3, "TestERC20", token_address)
    await send_transaction(w3, token.functions.mint(anvil.addresses[0], 10**12), private_key=key)
    start_block = await w3.eth.block_number
    store = await Store.open(tmp_path / "parley.db")
    clock = [1_700_000_000.0]
    config = TipConfig(
        rpc_url=anvil.rpc_url if rpc else None,
        chain_id=31337,
        tipjar=tipjar if rpc else None,
        confirmations=CONFIRMATIONS,
        tokens={"USDC": token_address},
        public_url="http://127.0.0.1:1",
    )
    service = TipService(config, store, clock=lambda: clock[0], index=INDEX)
    commands = Commands()
    register_commands(commands, service)
    app = web.Application()
    tip_routes(service)(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    http = aiohttp.ClientSession()
    env = Env(
        w3,
        anvil,
        store,
        RecordingNotifier(),
        service,
        commands,
        tipjar,
        token_address,
        f"http://127.0.0.1:{port}",
        http,
        start_block,
        clock,
    )
    try:
        yield env
    finally:
        for watcher in env.watchers:
            await watcher.stop()
        await http.close()
        await runner.cleanup()
        await service.close()
        await store.close()
