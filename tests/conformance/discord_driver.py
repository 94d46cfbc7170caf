"""The conformance driver for Discord: the real discord.py adapter against the REST + gateway
stand-in (``tests/fakes/discord.py``), both reached through a cuttable TCP proxy; the person is
a guild member acting through the fake's control surface."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping

import aiohttp
import discord.gateway
import discord.http

from bots.base import ChatRef, NativeId, RichText
from bots.discord.adapter import DiscordAdapter
from bots.discord.common import REPLY_PREFIX
from bots.discord.ids import DiscordChannelId, discord_channel
from bots.discord.text import from_discord
from bridge.nft.safe_fetch import loopback_policy
from tests.conformance.driver import Answer, Seen, conformance_commands
from tests.conformance.matrix_driver import FileServer
from tests.conformance.telegram_driver import MemoryParts
from tests.fakes.discord import API_PREFIX, FakeChannel, FakeDiscord, FakeInteraction, FakeUser
from tests.matrix.proxy import CuttableProxy
from tests.matrix.world import Sink

_JUMP = re.compile(r"/channels/[^/]+/[0-9]+/([0-9]+)$")


class _ProxiedDiscord(FakeDiscord):
    """The fake, announcing the proxy as its gateway (``/gateway/bot``, READY's resume URL), so
    that cutting the proxy cuts the gateway too, as an outage would."""

    proxy_port = 0

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.proxy_port}/"


class MemoryCursor:
    """The adapter's catch-up cursor, kept across its restarts (the store's role)."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}

    async def get(self, channel_id: int) -> int | None:
        return self.seen.get(channel_id)

    async def set(self, channel_id: int, message_id: int) -> None:
        self.seen[channel_id] = message_id

    async def set_many(self, positions: Mapping[int, int]) -> None:
        self.seen.update(positions)


class DiscordDriver:
    def __init__(
        self,
        fake: _ProxiedDiscord,
        channel: FakeChannel,
        alice: FakeUser,
        proxy: CuttableProxy,
        files: FileServer,
    ) -> None:
        self.fake = fake
        self.channel = channel
        self.alice = alice
        self._proxy = proxy
        self._files = files
        self._cursor = MemoryCursor()
        self._parts = MemoryParts()
        self._interactions: list[FakeInteraction] = []
        self.commands = conformance_commands()
        self.sink = Sink(self.chat, self.commands)
        self.adapter = self._new_adapter()

    @property
    def chat(self) -> ChatRef:
        return discord_channel(DiscordChannelId(self.channel.id))

    def _new_adapter(self) -> DiscordAdapter:
        return DiscordAdapter(
            token=self.fake.token,
            commands=self.commands.specs(),
            channels=[self.channel.id],
            api_base_url=f"{self._proxy.url}{API_PREFIX}",
            gateway_url=self.fake.gateway_url,
            guild_ready_timeout=0.05,
            request_timeout=5.0,
            history_cursor=self._cursor,
            parts=self._parts,
            fetch_policy=loopback_policy(),
        )

    async def start(self) -> None:
        await self.adapter.start(self.sink)
        await self.fake.wait_for(self.adapter.is_connected, 20)
        # Ready work (webhooks, catch-up) goes on after the gateway is up: it ends with the
        # cursor set, so that a restart right after resumes from there.
        await self.fake.wait_for(lambda: self.channel.id in self._cursor.seen, 20)

    # --- a person in the channel --------------------------------------------------------------

    async def say(self, text: str, *, reply_to: NativeId | None = None) -> NativeId:
        parent = int(reply_to) if reply_to is not None else None
        sent = self.fake.user_sends(self.channel.id, self.alice, text, reply_to=parent)
        return NativeId(str(sent["id"]))

    async def say_formatted(self) -> NativeId:
        # As the Discord client sends what was typed as markdown.
        return await self.say("**bold** *italic* [link](https://example.org/) `code`")

    async def edit(self, native: NativeId, text: str) -> None:
        self.fake.user_edits(self.channel.id, int(native), text)

    async def delete(self, native: NativeId) -> None:
        self.fake.user_deletes(self.channel.id, int(native))

    async def react(self, native: NativeId, emoji: str) -> None:
        self.fake.user_reacts(self.channel.id, int(native), self.alice, emoji)

    async def unreact(self, native: NativeId, emoji: str) -> None:
        self.fake.user_unreacts(self.channel.id, int(native), self.alice, emoji)

    async def send_file(self, name: str, mime: str, data: bytes) -> NativeId:
        sent = self.fake.user_sends(self.channel.id, self.alice, "", attachments=[(name, data)])
        return NativeId(str(sent["id"]))

    async def command(self, name: str, args: str = "") -> None:
        options = {"text": args} if args else {}
        interaction = self.fake.user_invokes_command(name, options, self.channel.id, self.alice)
        self._interactions.append(interaction)

    async def answers(self) -> list[Answer]:
        return [
            Answer(response.content, private=response.ephemeral)
            for interaction in self._interactions
            for response in interaction.responses
            if response.content is not None
        ]

    # --- looking ------------------------------------------------------------------------------

    async def seen(self, native: NativeId) -> Seen:
        live = {int(m["id"]): m for m in self.fake.messages(self.channel.id)}
        message = live.get(int(native))
        if message is None:
            return Seen("", RichText(""), "", deleted=True)
        content = str(message["content"])
        reply_to = None
        reference = message.get("message_reference")
        if reference is not None:
            reply_to = NativeId(str(reference["message_id"]))
        elif content.startswith(REPLY_PREFIX):
            # A webhook cannot reply: its copy opens with a quote line linking the parent.
            line, _, content = content.partition("\n")
            found = _JUMP.search(line)
            reply_to = NativeId(found.group(1)) if found else None
        rich = from_discord(content)
        reactions = frozenset(
            r["emoji"]["name"] for r in message.get("reactions") or () if r.get("me")
        )
        return Seen(
            text=rich.text,
            rich=rich,
            sender_name=str(message["author"]["username"]),
            reply_to=reply_to,
            files=tuple(self.fake.file_bytes(a["url"]) for a in message.get("attachments") or ()),
            reactions=reactions,
            avatar=await self._avatar(int(native)),
        )

    async def _avatar(self, message_id: int) -> bytes | None:
        """The picture Discord shows next to a webhook message: what it fetched from the
        ``avatar_url`` the message was executed with."""
        for execution in self.fake.webhook_executions:
            message = execution.message
            if message is None or int(message["id"]) != message_id:
                continue
            url = execution.payload.get("avatar_url")
            if not isinstance(url, str):
                return None
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                return await response.read() if response.status == 200 else None
        return None

    async def posted(self) -> list[NativeId]:
        me = str(self.fake.bot_user.id)
        return [
            NativeId(str(m["id"]))
            for m in self.fake.messages(self.channel.id)
            if m.get("webhook_id") is not None or m["author"]["id"] == me
        ]

    # --- the world ----------------------------------------------------------------------------

    def avatar_url(self, data: bytes) -> str:
        return self._files.add(data)

    async def sever(self) -> None:
        self._proxy.sever()

    async def heal(self) -> None:
        self._proxy.heal()

    async def restart(self, while_down: Callable[[], Awaitable[object]] | None = None) -> None:
        await self.adapter.stop()
        if while_down is not None:
            await while_down()
        self.adapter = self._new_adapter()
        await self.start()


@contextlib.contextmanager
def _endpoints_restored() -> Iterator[None]:
    """The adapter points discord.py (process-wide) at the proxy; put it back afterwards."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


@contextlib.asynccontextmanager
async def discord_driver() -> AsyncIterator[DiscordDriver]:
    fake = _ProxiedDiscord()
    guild = fake.add_guild("Conformance")
    channel = fake.add_text_channel(guild, "general")
    alice = fake.add_member(guild, "alice", global_name="Alice")
    files = FileServer()
    with _endpoints_restored():
        async with fake:
            proxy = CuttableProxy(fake.port)
            await proxy.start()
            fake.proxy_port = proxy.port
            await files.server.start()
            driver = DiscordDriver(fake, channel, alice, proxy, files)
            try:
                await driver.start()
                yield driver
            finally:
                await driver.adapter.stop()
                await files.server.stop()
                await proxy.stop()


__all__ = ["DiscordDriver", "discord_driver"]
