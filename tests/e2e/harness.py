"""End-to-end harness: both platform stand-ins, the embedded Waku node and a real ``Bridge``.

One ``async with running_bridge(tmp_path) as h:`` gives:

- ``h.tg`` (:class:`FakeTelegram`) with the bridge's bot ``h.tg_bot``, a supergroup
  ``h.tg_group`` (the bot is an administrator there) and users ``h.alice`` (plain member)
  and ``h.tg_admin`` (a bridge admin);
- ``h.dc`` (:class:`FakeDiscord`) with a guild ``h.guild``, a channel ``h.channel``, a
  configured webhook ``h.webhook`` and members ``h.bob`` (plain) and ``h.dc_admin`` (a bridge
  admin);
- ``h.bridge``: a real :class:`bridge.app.Bridge` built from ``h.settings`` (temp data dir, free
  ports, one room ``h.room`` = the group + the channel + the Waku chat ``h.waku_chat``, tokens
  and endpoints pointing at the fakes, outbox pacing off), wired by
  :func:`bridge.app.wire_features` (``h.relay`` is what it returned), started, with every
  adapter connected;
- ``h.waku``: an outside Status client on the embedded node (records every Waku message,
  publishes Status-format messages signed by its own key).

Helpers wait for outcomes, never for time: ``h.settle()`` (outbox idle), ``h.tg_copy(text)``,
``h.dc_copy(text)``, ``h.waku.wait_for(...)``. ``h.restart()`` stops the bridge and starts a new
one on the same data dir and ports (for crash/restart tests). Options: ``configure`` edits the
raw config dict before validation; ``tuning`` overrides the test tuning;
``avatar_fetch_policy`` lets NFT fetches reach a test's own 127.0.0.1 server.

Stable API for other test modules (faults, bench): keep these names and their meaning.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.registry import PLATFORMS
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.app import Bridge, wire_features
from bridge.config import Settings, parse_config
from bridge.model import ChatRef, NativeId, WakuChatId
from bridge.nft.safe_fetch import FetchPolicy, loopback_policy
from bridge.outbox import OutboxPolicy
from bridge.relay import Relay, RelayTuning
from bridge.status import (
    AppMessageType,
    ChatType,
    StatusEnvelope,
    build_status_payload,
    chat_key,
    chat_topic,
    message_id_hex,
    parse_status_payload,
)
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage
from crypto.keys import generate_private_key, public_key
from crypto.payload import DecryptionError, decrypt_symmetric, encrypt_symmetric
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeGuild, FakeUser, FakeWebhook
from tests.fakes.telegram import FakeBot, FakeChat, FakeMessage, FakeTelegram
from tests.fakes.telegram import FakeUser as TgUser

os.environ.setdefault("PTB_TIMEDELTA", "1")

__all__ = [
    "TIMEOUT",
    "Harness",
    "WakuClient",
    "WakuSeen",
    "free_port",
    "running_bridge",
    "test_tuning",
]

T = TypeVar("T")
TIMEOUT = 15.0
WAKU_CHAT = "parley-e2e"
ROOM = "main"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tuning() -> RelayTuning:
    """Fast and unpaced: what every e2e test runs with unless it says otherwise."""
    return RelayTuning(
        outbox_policy=OutboxPolicy(base_delay=0.05, max_delay=0.5, disconnected_poll=0.05),
        pacing={},
        platform_options={
            "waku": {"health_interval": 0.5},
            "telegram": {
                "poll_timeout": 2,
                "request_timeout": 5.0,
                "retry_delay": 0.02,
                "max_retry_delay": 0.2,
                "fetch_policy": loopback_policy(),
            },
            "discord": {
                "guild_ready_timeout": 0.05,
                "request_timeout": 10.0,
                "fetch_policy": loopback_policy(),
            },
        },
    )


# --- the outside Waku / Status client ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WakuSeen:
    """One message on the node, opened with the room's key when it could be."""

    pubsub_topic: str
    message: WakuMessage
    signer: bytes | None
    envelope: StatusEnvelope | None


class WakuClient:
    """A Status user on the bridge's embedded node: sees every message, publishes its own."""

    def __init__(self, node: EmbeddedNode, chat_id: str, pubsub_topic: str) -> None:
        self.node = node
        self.chat_id = chat_id
        self.pubsub_topic = pubsub_topic
        self.key = generate_private_key()
        self.public_key = public_key(self.key)
        self.room_key = chat_key(chat_id)
        self.seen: list[WakuSeen] = []
        self._changed = asyncio.Event()
        node.add_listener(self._on_message)

    def close(self) -> None:
        self.node.remove_listener(self._on_message)

    def _on_message(self, pubsub_topic: str, message: WakuMessage) -> None:
        signer: bytes | None = None
        envelope: StatusEnvelope | None = None
        if message.content_topic == chat_topic(self.chat_id) and message.version == 1:
            with contextlib.suppress(DecryptionError, ValueError):
                decoded = decrypt_symmetric(message.payload, self.room_key)
                signer = decoded.signer
                ms = message.timestamp // 1_000_000 if message.timestamp else None
                with contextlib.suppress(Exception):
                    envelope = parse_status_payload(decoded.payload, ms)
        self.seen.append(WakuSeen(pubsub_topic, message, signer, envelope))
        self._changed.set()

    def from_signer(self, signer: bytes) -> list[WakuSeen]:
        return [s for s in self.seen if s.signer == signer and s.envelope is not None]

    async def wait_for(self, check: Callable[[], T | None], timeout: float = TIMEOUT) -> T:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                result = check()
                if result:
                    return result
                self._changed.clear()
                await self._changed.wait()

    def status_message(
        self,
        inner: bytes,
        message_type: AppMessageType = AppMessageType.CHAT_MESSAGE,
        *,
        app_key: bytes | None = None,
        unsigned: bool = False,
        room_key: bytes | None = None,
    ) -> tuple[WakuMessage, NativeId]:
        """A Status-format Waku message (``inner`` is a serialized ChatMessage etc.).

        ``unsigned`` leaves the Waku payload unsigned; ``room_key`` uses another key than the
        room's; ``app_key`` signs as someone else.
        """
        key = app_key if app_key is not None else self.key
        signer = None if unsigned else key
        out = build_status_payload(inner, message_type, key, "e2e-phone")
        payload = encrypt_symmetric(out.payload, room_key or self.room_key, signer)
        message = WakuMessage(
            payload, chat_topic(self.chat_id), version=1, timestamp=time.time_ns()
        )
        return message, NativeId(message_id_hex(out.message_id))

    def chat_message(self, text: str, *, response_to: str = "", display_name: str = "") -> bytes:
        from bridge.proto import chat_message_pb2 as chat_pb

        ms = time.time_ns() // 1_000_000
        return chat_pb.ChatMessage(
            clock=ms,
            timestamp=ms,
            text=text,
            chat_id=self.chat_id,
            response_to=response_to,
            message_type=chat_pb.MessageType.ValueType(ChatType.COMMUNITY_CHAT),
            content_type=chat_pb.ChatMessage.ContentType.ValueType(1),  # TEXT_PLAIN
            display_name=display_name,
        ).SerializeToString()

    async def publish(self, message: WakuMessage) -> bytes:
        return await self.node.publish(self.pubsub_topic, message)

    async def say(self, text: str, *, response_to: str = "") -> NativeId:
        """Publish a signed Status chat message into the room; returns its Status id."""
        message, native = self.status_message(self.chat_message(text, response_to=response_to))
        await self.publish(message)
        return native


# --- the harness ------------------------------------------------------------------------------


@dataclass
class Harness:
    tmp_path: Path
    tg: FakeTelegram
    tg_bot: FakeBot
    tg_group: FakeChat
    alice: TgUser
    tg_admin: TgUser
    dc: FakeDiscord
    guild: FakeGuild
    channel: FakeChannel
    webhook: FakeWebhook
    bob: FakeUser
    dc_admin: FakeUser
    settings: Settings
    identity_key: bytes
    tuning: RelayTuning
    waku_chat: str = WAKU_CHAT
    room: str = ROOM
    avatar_fetch_policy: FetchPolicy | None = None
    bridge: Bridge = field(init=False)
    relay: Relay = field(init=False)
    waku: WakuClient = field(init=False)

    # refs

    @property
    def tg_ref(self) -> ChatRef:
        return telegram_chat(TelegramChatId(self.tg_group.id))

    @property
    def dc_ref(self) -> ChatRef:
        return discord_channel(DiscordChannelId(self.channel.id))

    @property
    def waku_ref(self) -> ChatRef:
        return ChatRef.waku(WakuChatId(self.waku_chat))

    @property
    def bridge_public_key(self) -> bytes:
        return public_key(self.identity_key)

    @property
    def web_url(self) -> str:
        assert self.bridge.web is not None
        return self.bridge.web.url

    # lifecycle

    async def start_bridge(self) -> None:
        bridge = Bridge(self.settings, self.identity_key)
        self.relay = wire_features(
            bridge,
            tuning=self.tuning,
            avatar_fetch_policy=self.avatar_fetch_policy,
            platforms=PLATFORMS,
        )
        await bridge.start()
        self.bridge = bridge
        node = bridge.node
        assert isinstance(node, EmbeddedNode)
        self.waku = WakuClient(node, self.waku_chat, self.settings.rooms[0].waku_pubsub_topic)
        await self.wait_connected()

    async def stop_bridge(self) -> None:
        self.waku.close()
        await self.bridge.stop()

    async def restart(self) -> None:
        await self.stop_bridge()
        await self.start_bridge()

    async def wait_connected(self) -> None:
        async with asyncio.timeout(TIMEOUT):
            # The adapters expose no event for this; poll the flags.
            while not all(a.is_connected() for a in self.relay.adapters.values()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    # waiting

    async def settle(self) -> None:
        """Wait until the outbox has nothing it can deliver right now."""
        async with asyncio.timeout(TIMEOUT):
            await self.relay.wait_idle()

    async def tg_copy(self, text: str, *, timeout: float = TIMEOUT) -> FakeMessage:  # noqa: ASYNC109
        """The bot's message in the group whose text contains ``text``."""
        return await self.tg.wait_for_sent(
            lambda m: m.chat.id == self.tg_group.id and text in m.content, timeout=timeout
        )

    def tg_copies(self, text: str) -> list[FakeMessage]:
        return [m for m in self.tg.sent_messages(self.tg_group) if text in m.content]

    def dc_messages(self, text: str) -> list[dict[str, Any]]:
        return [m for m in self.dc.messages(self.channel.id) if text in (m.get("content") or "")]

    async def dc_copy(self, text: str, *, timeout: float = TIMEOUT) -> dict[str, Any]:  # noqa: ASYNC109
        """The bridge's (webhook) message in the channel whose content contains ``text``."""
        found = await self.dc.wait_for(
            lambda: [m for m in self.dc_messages(text) if m.get("webhook_id")], timeout
        )
        return found[0]

    def waku_copies(self, text: str) -> list[WakuSeen]:
        """The bridge's chat messages on Waku whose text contains ``text``."""
        return [
            s
            for s in self.waku.from_signer(self.bridge_public_key)
            if s.envelope is not None
            and s.envelope.message_type == AppMessageType.CHAT_MESSAGE
            and text in getattr(s.envelope.content, "text", "")
        ]

    async def waku_copy(self, text: str) -> WakuSeen:
        found = await self.waku.wait_for(lambda: self.waku_copies(text))
        return found[0]


def _raw_config(
    tmp_path: Path,
    tg: FakeTelegram,
    tg_bot: FakeBot,
    tg_group: FakeChat,
    tg_admin: TgUser,
    dc: FakeDiscord,
    channel: FakeChannel,
    webhook: FakeWebhook,
    dc_admin: FakeUser,
) -> dict[str, Any]:
    web_port = free_port()
    return {
        "bridge": {"name": "parley", "data_dir": str(tmp_path / "data"), "log_level": "INFO"},
        "waku": {"rest_host": "127.0.0.1", "rest_port": free_port()},
        "web": {
            "host": "127.0.0.1",
            "port": web_port,
            "public_url": f"http://127.0.0.1:{web_port}",
        },
        "telegram": {
            "token": tg_bot.token,
            "api_base_url": tg.base_url,
            "file_base_url": tg.base_file_url,
            "admins": [tg_admin.id],
        },
        "discord": {
            "token": dc.token,
            "api_base_url": dc.api_base,
            "gateway_url": dc.gateway_url,
            "admins": [dc_admin.id],
        },
        "rooms": [
            {
                "name": ROOM,
                "telegram_chats": [tg_group.id],
                "discord_channels": [channel.id],
                "waku_chat": WAKU_CHAT,
                "webhooks": [{"channel": channel.id, "id": webhook.id, "token": webhook.token}],
            }
        ],
    }


@contextlib.asynccontextmanager
async def running_bridge(
    tmp_path: Path,
    *,
    configure: Callable[[dict[str, Any]], None] | None = None,
    tuning: RelayTuning | None = None,
    avatar_fetch_policy: FetchPolicy | None = None,
) -> AsyncIterator[Harness]:
    """Start the fakes and a wired, connected bridge; stop everything on exit (bots first).

    ``avatar_fetch_policy`` replaces the SSRF-safe default for NFT metadata/image fetches (a
    test admitting its own server on 127.0.0.1); it is passed to ``wire_features`` only.
    """
    (tmp_path / "data").mkdir(exist_ok=True)
    async with FakeTelegram() as tg, FakeDiscord() as dc:
        tg_bot = tg.add_bot("parley_bot")
        alice = tg.add_user("Alice", username="alice_tg")
        tg_admin = tg.add_user("Ada", username="ada_admin")
        tg_group = tg.add_chat("supergroup", "Room", members=[alice, tg_admin], bots=[tg_bot])
        # A bridge bot is a group admin: it sees reactions and can delete with /delete.
        tg.set_member(tg_group, tg_bot, "administrator")
        guild = dc.add_guild("Parley")
        channel = dc.add_text_channel(guild, "general")
        webhook = dc.add_webhook(channel.id, "Parley")
        bob = dc.add_member(guild, "bob", global_name="Bobby")
        dc_admin = dc.add_member(guild, "dora", global_name="Dora")
        raw = _raw_config(tmp_path, tg, tg_bot, tg_group, tg_admin, dc, channel, webhook, dc_admin)
        if configure is not None:
            configure(raw)
        settings = parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)
        harness = Harness(
            tmp_path=tmp_path,
            tg=tg,
            tg_bot=tg_bot,
            tg_group=tg_group,
            alice=alice,
            tg_admin=tg_admin,
            dc=dc,
            guild=guild,
            channel=channel,
            webhook=webhook,
            bob=bob,
            dc_admin=dc_admin,
            settings=settings,
            identity_key=generate_private_key(),
            tuning=tuning if tuning is not None else test_tuning(),
            avatar_fetch_policy=avatar_fetch_policy,
        )
        await harness.start_bridge()
        try:
            yield harness
        finally:
            await harness.stop_bridge()


def with_tuning(base: RelayTuning, **changes: Any) -> RelayTuning:
    """``test_tuning()`` with some fields changed."""
    return replace(base, **changes)
