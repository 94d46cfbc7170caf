"""Shared pieces of the points tests: a store + router + PointsService on real code paths."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.commands import CommandReply, CommandRequest, Commands
from bridge.config import PointsSettings
from bridge.model import (
    Author,
    ChatRef,
    NativeId,
    NewMessage,
    Reaction,
    RichText,
    UserId,
)
from bridge.points import PointsFeature, register_commands
from bridge.points.service import PointsService
from bridge.router import Room, Router
from bridge.store import Store
from bridge.store import links as links_store
from bridge.store.links import WalletLink

ROOM = "lobby"
TG = telegram_chat(TelegramChatId(-100))
DC = discord_channel(DiscordChannelId(555))
OTHER = telegram_chat(TelegramChatId(-200))  # a relayed room without points

ALICE = Author("telegram", UserId("1"), "Alice", username="alice")
ALICE_DC = Author("discord", UserId("91"), "alice#dc", username="alice_dc")
BOB = Author("discord", UserId("2"), "Bob", username="bob")
CAROL = Author("telegram", UserId("3"), "Carol", username="carol")
ADMIN = Author("telegram", UserId("9"), "Ada", username="ada")


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    store: Store
    router: Router
    service: PointsService
    commands: Commands
    clock: Clock
    feature: Any = None
    counter: list[int] = field(default_factory=lambda: [0])
    chats: dict[str, ChatRef] = field(default_factory=dict)

    async def say(
        self, author: Author, text: str, *, chat: ChatRef | None = None, reply_to: str | None = None
    ) -> str:
        self.counter[0] += 1
        native = f"m{self.counter[0]}"
        source = chat or (TG if author.platform == "telegram" else DC)
        self.chats[native] = source
        await self.router.handle(
            NewMessage(
                source=source,
                native_id=NativeId(native),
                author=author,
                text=RichText.plain(text),
                timestamp=datetime.fromtimestamp(self.clock(), UTC),
                reply_to=None if reply_to is None else NativeId(reply_to),
            )
        )
        return native

    async def react(
        self, author: Author, native: str, *, emoji: str = "👍", added: bool = True
    ) -> None:
        # Reacted to where the message was written (its native id there).
        event = Reaction(self.chats[native], NativeId(native), emoji, added, author)
        await self.router.handle(event)
        await self.service.on_inbound(event)

    async def command(
        self, author: Author, text: str, *, admin: bool = False, chat: ChatRef | None = None
    ) -> CommandReply:
        name, _, raw = text.lstrip("/").partition(" ")
        return await self.commands.handle(
            CommandRequest(
                name=name,
                args=tuple(raw.split()),
                raw_args=raw,
                chat=chat or (TG if author.platform == "telegram" else DC),
                author=author,
                is_admin=admin,
            )
        )

    async def link(self, author: Author, wallet: str, *, at: int | None = None) -> None:
        async with self.store.transaction() as db:
            await links_store.add(
                db,
                WalletLink(
                    author.platform,
                    str(author.user_id),
                    author.display_name,
                    wallet,
                    31337,
                    "eoa",
                    "msg",
                    "0x00",
                    at if at is not None else int(time.time()),
                    author.username,
                ),
            )

    async def points(self, author: Author) -> int:
        async with self.store.db.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM points_entries"
            " WHERE platform = ? AND user_id = ?",
            (author.platform, str(author.user_id)),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])


class _Feature:
    """Enough of PointsFeature for register_commands."""

    def __init__(self, service: PointsService, config: PointsSettings) -> None:
        self.service = service
        self.config = config
        self.manager = None

    async def handle_cycle(self, request: CommandRequest) -> CommandReply:
        return await PointsFeature.handle_cycle(self, request)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def points_env(tmp_path: Path, **overrides: Any) -> AsyncIterator[Env]:
    values: dict[str, Any] = {
        "rooms": [ROOM],
        "min_message_length": 5,
        "flood_messages": 100,
    }
    values.update(overrides)
    config = PointsSettings(**values)
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    clock = Clock()
    router = Router(store, [Room(ROOM, (TG, DC)), Room("other", (OTHER,))], clock=clock)
    service = PointsService(config, lambda: store, rooms=router, lookup=router.lookup, clock=clock)
    router.add_observer(service)
    commands = Commands()
    feature = _Feature(service, config)
    register_commands(commands, feature)  # type: ignore[arg-type]
    try:
        yield Env(store, router, service, commands, clock, feature)
    finally:
        await store.close()
