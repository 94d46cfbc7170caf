"""A feed rig: a temp store, an embedded Waku node, a real router with one room, the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.feed.service import AvatarInfo, FeedService, Profile
from bridge.model import (
    Author,
    ChatRef,
    NativeId,
    NewMessage,
    RichText,
    UserId,
)
from bridge.router import Room, Router
from bridge.store import Store
from bridge.store.messages import StoredMessage
from bridge.waku.embedded import EmbeddedNode
from crypto.keys import public_key, to_address

KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
ADDRESS = to_address(public_key(KEY))
FEED = "parley-feed"
PUBSUB = "/waku/2/rs/16/32"
PUBLIC_URL = "https://bridge.example"
TG = telegram_chat(TelegramChatId(-1001))
DC = discord_channel(DiscordChannelId(555))
ALICE = Author("telegram", UserId("7"), "Alice <3")
BOB = Author("telegram", UserId("8"), "Bob")
WALLET = "0x" + "Ab" * 20


async def profile(author: Author) -> Profile:
    if author.user_id == "7":
        return Profile(
            wallet=WALLET,
            avatar=AvatarInfo(f"{PUBLIC_URL}/avatars/abc.png", "eip155:1/erc721:0x01/1", True),
        )
    return Profile(avatar=AvatarInfo("https://evil.example/x.png"))


@dataclass
class Rig:
    store: Store
    node: EmbeddedNode
    router: Router
    service: FeedService

    async def say(self, native_id: str, text: str, author: Author = ALICE) -> StoredMessage:
        await self.router.handle(
            NewMessage(TG, NativeId(native_id), author, RichText(text), datetime.now(UTC))
        )
        stored = await self.router.lookup(TG, NativeId(native_id))
        assert stored is not None
        return stored


def make_service(store: Store, node: EmbeddedNode, router: Router, **kw: object) -> FeedService:
    def room_of(chat: ChatRef) -> str | None:
        room = router.room_of(chat)
        return None if room is None else room.name

    return FeedService(
        store,
        node,
        kw.pop("key", KEY),  # type: ignore[arg-type]
        feed_chat=FEED,
        pubsub_topic=PUBSUB,
        rooms=room_of,
        lookup=router.lookup,
        profile=profile,
        public_url=PUBLIC_URL,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = await Store.open(tmp_path / "parley.db")
    node = EmbeddedNode(store)
    await node.start()
    router = Router(store, [Room("main", (TG, DC))])
    service = make_service(store, node, router)
    try:
        yield Rig(store, node, router, service)
    finally:
        await service.stop()
        await node.stop()
        await store.close()
