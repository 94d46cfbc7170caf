"""The Discord adapter: carries one bridge's rooms in and out of Discord channels (discord.py).

Inbound, gateway events in the bridged channels become neutral ``Inbound`` values
(``inbound``), slash commands ``Command`` events that the sink answers (``commands``).
Outbound, a copy is posted through the channel's webhook (``webhooks``) so that it shows the
remote author's name and avatar, or, without Manage Webhooks, as a plain bot message with a
bold name prefix and a real reply reference (``outbound``); a send cut short by a crash is
found again after the restart (``recovery``). Files go through the guarded fetcher
(``files``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bots.base import (
    Adapter,
    Capabilities,
    ChatRef,
    Feature,
    InboundSink,
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    RetryableError,
    RichText,
)
from bots.discord.commands import DiscordCommands
from bots.discord.common import (
    DEFAULT_API_BASE_URL,
    DEFAULT_GATEWAY_URL,
    HistoryCursor,
    KnownMessages,
    MiB,
)
from bots.discord.files import DiscordFiles
from bots.discord.inbound import DiscordInbound
from bots.discord.outbound import DiscordOutbound
from bots.discord.recovery import Recovery
from bots.discord.state import DiscordState
from bots.discord.text import DISCORD_LIMIT, split_for_discord
from bots.discord.webhooks import Webhooks
from bridge.commands import CommandSpec
from bridge.nft.safe_fetch import ATTACHMENT_POLICY, FetchPolicy
from bridge.store.parts import PartsMemory
from bridge.tasks import cancel_and_wait

__all__ = ["DiscordAdapter"]

log = logging.getLogger(__name__)


class _Client(discord.Client):
    """discord.py's client, with its events forwarded to the adapter's parts."""

    def __init__(
        self, adapter: DiscordAdapter, *, intents: discord.Intents, **options: Any
    ) -> None:
        super().__init__(intents=intents, **options)
        self._adapter = adapter
        self._inbound = adapter.inbound
        self._commands = adapter.commands
        # The gateway hands events to this table's parsers: echoes of our own copies are taken
        # from the raw payload (DiscordInbound.own_echo), everything else goes on to discord.py.
        parsers = self._connection.parsers
        self._parse_message_create = parsers["MESSAGE_CREATE"]
        parsers["MESSAGE_CREATE"] = self._message_create

    def _message_create(self, data: Any) -> None:
        if not self._inbound.own_echo(self, data):
            self._parse_message_create(data)

    async def on_ready(self) -> None:
        await self._adapter.on_ready(self)

    async def on_resumed(self) -> None:
        self._adapter.state.gateway_up = True

    async def on_disconnect(self) -> None:
        self._adapter.state.gateway_up = False

    async def on_message(self, message: discord.Message) -> None:
        await self._inbound.on_message(self, message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self._inbound.on_raw_edit(self, payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._inbound.on_raw_delete(self, payload.channel_id, (payload.message_id,))

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        ids = tuple(sorted(payload.message_ids))
        await self._inbound.on_raw_delete(self, payload.channel_id, ids)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._inbound.on_raw_reaction(self, payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._inbound.on_raw_reaction(self, payload, added=False)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self._commands.on_interaction(self, interaction)


class DiscordAdapter(Adapter):
    """The bridge's Discord bot (see the module docstring).

    ``channels`` are the bridged channel ids; ``webhooks`` maps a channel to a configured
    webhook (id, token); other channels get a webhook named "Parley" created on first use when
    the bot has Manage Webhooks. ``admins`` are user ids allowed to run admin commands (guild
    administrators are admins too). ``history_cursor`` enables catch-up after a restart.
    Pointing ``api_base_url``/``gateway_url`` elsewhere changes discord.py process-wide.
    """

    platform = "discord"
    capabilities = Capabilities(
        features=Feature.EDIT
        | Feature.DELETE
        | Feature.REPLY
        | Feature.REACT
        | Feature.IDENTITY
        | Feature.ATTACHMENTS
        | Feature.PRIVATE_MESSAGES,
        max_text_length=DISCORD_LIMIT,
    )

    def __init__(
        self,
        *,
        token: str,
        commands: Sequence[CommandSpec] = (),
        channels: Collection[int],
        webhooks: Mapping[int, tuple[int, str]] | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        gateway_url: str = DEFAULT_GATEWAY_URL,
        admins: Collection[int] = (),
        max_attachment_bytes: int = 8 * MiB,
        history_cursor: HistoryCursor | None = None,
        catch_up_limit: int = 500,
        request_timeout: float = 60.0,
        command_defer_after: float = 2.0,
        guild_ready_timeout: float = 2.0,
        parts: PartsMemory | None = None,
        known: KnownMessages | None = None,
        recheck_window: int = 100,
        fetch_policy: FetchPolicy = ATTACHMENT_POLICY,
    ) -> None:
        """``fetch_policy``: what attachment URLs may reach (the shared guarded fetcher's
        policy); tests admit their own 127.0.0.1 servers with it, production keeps the default."""
        if not token:
            raise ValueError("a Discord bot token is required")
        if max_attachment_bytes <= 0:
            raise ValueError("max_attachment_bytes must be positive")
        self._token = token
        self._api_base_url = api_base_url.rstrip("/")
        self._gateway_url = gateway_url
        self._guild_ready_timeout = guild_ready_timeout
        configured = {int(c): (int(i), t) for c, (i, t) in (webhooks or {}).items()}
        self.state = DiscordState(
            channels=channels,
            own_webhooks={hook_id for hook_id, _ in configured.values()},
            timeout=request_timeout,
            max_bytes=max_attachment_bytes,
        )
        self._webhooks = Webhooks(self.state, configured)
        files = DiscordFiles(self.state, fetch_policy)
        self.inbound = DiscordInbound(
            self.state,
            files,
            cursor=history_cursor,
            known=known,
            catch_up_limit=catch_up_limit,
            recheck_window=recheck_window,
        )
        self.commands = DiscordCommands(
            self.state, commands, admins=admins, defer_after=command_defer_after
        )
        self._outbound = DiscordOutbound(self.state, self._webhooks, files, parts)
        self._recovery = Recovery(self.state, self._webhooks, self._outbound)
        self._task: asyncio.Task[None] | None = None
        self._synced = False
        self._last_error: str | None = None
        """Why the gateway connection ended for good (bad token, intent not granted)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self, sink: InboundSink) -> None:
        if self._task is not None:
            raise RuntimeError("the Discord adapter is already started")
        if self._api_base_url != DEFAULT_API_BASE_URL:
            discord.http.Route.BASE = self._api_base_url
        if self._gateway_url != DEFAULT_GATEWAY_URL:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self._gateway_url)
        self.inbound.sink = self.commands.sink = sink
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True
        intents.guild_reactions = True
        intents.dm_messages = True
        client = _Client(
            self,
            intents=intents,
            guild_ready_timeout=self._guild_ready_timeout,
            # A long rate limit becomes a RetryableError with its retry_after instead of a
            # sleep that would hold the outbox worker.
            max_ratelimit_timeout=30.0,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.state.client = client
        self._task = asyncio.create_task(self._run(client), name="discord-gateway")

    async def _run(self, client: _Client) -> None:
        delay = 1.0
        while True:
            try:
                await client.login(self._token)
                break
            except discord.LoginFailure as exc:
                self._last_error = f"Discord refused the bot token: {exc}"
                log.error("%s", self._last_error)
                return
            except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("Discord login failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            self._last_error = (
                "Discord refused the MESSAGE_CONTENT intent: enable it for the bot in the "
                "developer portal (Bot -> Privileged Gateway Intents)"
            )
            log.error("%s", self._last_error)
        except Exception as exc:
            self._last_error = f"the Discord gateway connection ended: {exc!r}"
            log.exception("the Discord gateway connection ended")
        finally:
            self.state.gateway_up = False

    async def stop(self) -> None:
        self.state.gateway_up = False
        client, task = self.state.client, self._task
        self.state.client = self._task = None
        if client is not None:
            await client.close()
        # The connection task may have failed already (bad token): nothing to report at stop.
        with contextlib.suppress(Exception):
            await cancel_and_wait(task)
        await self.inbound.save_cursors()

    def is_connected(self) -> bool:
        client = self.state.client
        return (
            client is not None
            and self.state.gateway_up
            and client.is_ready()
            and not client.is_closed()
        )

    async def on_ready(self, client: _Client) -> None:
        if client is not self.state.client:
            return  # an event of a client that stop() already closed
        self.state.gateway_up = True
        try:
            await self._prepare(client)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            if not client.is_closed():
                log.warning("Discord start-up work failed: %s", exc)

    async def _prepare(self, client: _Client) -> None:
        """Register the slash commands, learn our webhooks, and catch up on missed messages."""
        log.info("Discord gateway ready as %s", client.user)
        if not self._synced:
            self._synced = True
            await self.commands.sync(client)
        for channel_id in sorted(self.state.channels):
            channel = client.get_channel(channel_id)
            if channel is None:
                log.warning("bridged Discord channel %s is not visible to the bot", channel_id)
                continue
            if isinstance(channel, discord.TextChannel):
                # Knowing our webhooks before catch-up keeps their old echoes out of it.
                with contextlib.suppress(discord.HTTPException, RetryableError, PermanentError):
                    await self._webhooks.webhook_for(channel, create=False)
            await self.inbound.catch_up(client, channel_id, channel)

    # ------------------------------------------------------------------ the contract

    async def send(self, delivery: OutboundMessage) -> NativeId:
        return await self._outbound.send(delivery)

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        return await self._recovery.recover(delivery)

    async def edit(self, delivery: OutboundEdit) -> None:
        await self._outbound.edit(delivery)

    async def delete(self, delivery: OutboundDelete) -> None:
        await self._outbound.delete(delivery)

    async def react(self, delivery: OutboundReaction) -> None:
        await self._outbound.react(delivery)

    # ------------------------------------------------------------------ bridge services

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def join_chat(self, chat: ChatRef) -> None:
        # The adapter reads only the channels it watches (for catch-up after downtime): a
        # room joined at run time is relayed from now on.
        if chat.chat_id.isdigit():
            self.state.channels = self.state.channels | {int(chat.chat_id)}

    def leave_chat(self, chat: ChatRef) -> None:
        if chat.chat_id.isdigit():
            self.state.channels = self.state.channels - {int(chat.chat_id)}

    async def send_private(self, user_id: str, text: str) -> bool:
        """Send ``text`` (plain) to one user as a DM; False when Discord refuses (DMs closed,
        unknown user) or the bot is not connected. Never raises for that."""
        client = self.state.client
        if client is None or not self.is_connected():
            return False
        try:
            user = client.get_user(int(user_id)) or await client.fetch_user(int(user_id))
            channel = await user.create_dm()
            for part in split_for_discord(RichText.plain(text)):
                await channel.send(part, allowed_mentions=discord.AllowedMentions.none())
        except ValueError:
            return False
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("Discord: private message to %s not sent: %s", user_id, exc)
            return False
        return True

    async def say_in_chat(self, chat_id: str, text: str) -> bool:
        """Post ``text`` (plain) as the bot in a channel it can write to (a DM channel too)."""
        client = self.state.client
        if client is None or not self.is_connected() or not chat_id.isdigit():
            return False
        try:
            target = client.get_partial_messageable(int(chat_id))
            for part in split_for_discord(RichText.plain(text)):
                await target.send(part, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("Discord: message to channel %s not sent: %s", chat_id, exc)
            return False
        return True
