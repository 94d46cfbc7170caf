"""The Discord adapter: carries one bridge's rooms in and out of Discord channels with discord.py.

Inbound, gateway events in the bridged channels become neutral ``Inbound`` values (the bot's
own messages and its webhooks' echoes are dropped here, before the router); slash commands are
answered through ``bridge.commands``. Outbound, a copy is posted through the channel's webhook
so that it shows the remote author's name and avatar, or, without Manage Webhooks, as a plain
bot message with a bold name prefix and a real reply reference.

Native ids: a posted copy's native id is its first Discord message id (what a Discord user
replies to or reacts on). A text longer than 2000 characters is posted as several messages; the
adapter records the parts (in memory, and in the store through ``parts``) so that a delete
removes all of them and an edit rewrites them, posting more when the text grew and deleting
those it no longer needs, after a restart too.

Catch-up after downtime replays the messages after the cursor and compares the newest
messages before it with what the bridge stored (``known``): edits and deletes made meanwhile
are applied.

A send cut short by a crash is looked up in the channel's recent history after the restart
(``recover``): Discord keeps no key a message can be found by, so our copy is recognised by its
author (our webhook with the relayed name, or our bot user) and its exact rendered text.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import io
import logging
import mimetypes
import re
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol, cast
from urllib.parse import urlsplit

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bots.base import (
    Adapter,
    Attachment,
    AttachmentKind,
    Author,
    Capabilities,
    ChatRef,
    DeleteMessage,
    DiscordChannelId,
    EditMessage,
    Feature,
    Inbound,
    InboundSink,
    NativeId,
    NewMessage,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    Platform,
    Reaction,
    RetryableError,
    RichText,
    UserId,
)
from bots.discord.text import DISCORD_LIMIT, escape_discord, from_discord, split_for_discord
from bridge.commands import CommandReply, CommandRequest, Commands, CommandSpec
from bridge.formatting import MentionKind, MentionResolver, human_size
from bridge.names import clean_name, clean_text
from bridge.nft.safe_fetch import ATTACHMENT_POLICY, FetchError, FetchPolicy, fetch
from bridge.store.parts import PartsMemory
from bridge.tasks import cancel_and_wait

__all__ = ["DEFAULT_API_BASE_URL", "DEFAULT_GATEWAY_URL", "DiscordAdapter", "HistoryCursor"]

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL: Final = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL: Final = "wss://gateway.discord.gg/"
WEBHOOK_NAME: Final = "Parley"
JUMP_URL: Final = "https://discord.com/channels/{guild}/{channel}/{message}"
REPLY_PREFIX: Final = "> ↩ replying to "

_MiB: Final = 1024 * 1024
_MAX_FILES_PER_MESSAGE: Final = 10
_MAX_INBOUND_ATTACHMENTS: Final = 10
_MAX_EMBEDS: Final = 5
_MAX_EMBED_TEXT: Final = 1024
_MAX_USERNAME: Final = 80
_MAX_FILENAME: Final = 100
_MAX_AVATAR_URL: Final = 2048
_MAX_REMEMBERED: Final = 10_000
_UNKNOWN_EMOJI: Final = 10014
_UNKNOWN_WEBHOOK: Final = 10015
# recover: how far back the history is read (newest first), and how much earlier than the
# source's timestamp a copy may be (whole-second timestamps, clock skew between platforms).
_RECOVER_LIMIT: Final = 100
_RECOVER_MARGIN: Final = timedelta(seconds=3)
_NOTICE_LINE = re.compile(r"\\?\[file (?:too large to relay|could not be relayed): .*\\?\]")
# Message types that carry something a person (or another bot) said; joins, pins, boosts and
# the like are Discord's own notices and are not relayed.
_RELAYED_TYPES: Final = frozenset(
    {discord.MessageType.default, discord.MessageType.reply, discord.MessageType.chat_input_command}
)


class KnownMessages(Protocol):
    """The bridge's record of a channel's messages: for edits and deletes made while away."""

    async def between(self, chat: ChatRef, low: int, high: int, limit: int) -> dict[int, RichText]:
        """Message id -> the text the bridge has for the live originals with ids in
        ``[low, high]``, the newest ``limit``."""
        ...


class HistoryCursor(Protocol):
    """Where catch-up resumes: the newest message id seen per channel, kept across restarts."""

    async def get(self, channel_id: int) -> int | None: ...

    async def set(self, channel_id: int, message_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class _Sent:
    """What the adapter posted for one delivery, for later edits and deletes."""

    webhook_id: int | None
    part_ids: tuple[int, ...]
    prefix: str
    kinds: str = ""
    """Per part: "t" text, "a" text with files, "f" files only ("" = all text)."""

    def kind(self, index: int) -> str:
        return self.kinds[index] if index < len(self.kinds) else "t"

    def to_json(self) -> dict[str, Any]:
        return {"w": self.webhook_id, "ids": list(self.part_ids), "p": self.prefix, "k": self.kinds}

    @classmethod
    def from_json(cls, raw: Any) -> _Sent | None:
        if not isinstance(raw, dict):
            return None
        hook, ids, prefix, kinds = raw.get("w"), raw.get("ids"), raw.get("p"), raw.get("k")
        if (
            not (hook is None or isinstance(hook, int))
            or not isinstance(ids, list)
            or not ids
            or not all(isinstance(i, int) for i in ids)
            or not isinstance(prefix, str)
            or not isinstance(kinds, str)
            or set(kinds) - set("taf")
        ):
            return None
        return cls(hook, tuple(ids), prefix, kinds)


class _FetchError(Exception):
    """A file could not be fetched; ``retryable`` says whether trying later may help."""

    def __init__(self, reason: str, *, retryable: bool, too_large: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.too_large = too_large


class _Client(discord.Client):
    """discord.py's client, with its events forwarded to the adapter."""

    def __init__(
        self, adapter: DiscordAdapter, *, intents: discord.Intents, **options: Any
    ) -> None:
        super().__init__(intents=intents, **options)
        self._adapter = adapter

    async def on_ready(self) -> None:
        await self._adapter._on_ready(self)

    async def on_resumed(self) -> None:
        self._adapter._gateway_up = True

    async def on_disconnect(self) -> None:
        self._adapter._gateway_up = False

    async def on_message(self, message: discord.Message) -> None:
        await self._adapter._on_message(self, message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self._adapter._on_raw_edit(self, payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._adapter._on_raw_delete(self, payload.channel_id, (payload.message_id,))

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        ids = tuple(sorted(payload.message_ids))
        await self._adapter._on_raw_delete(self, payload.channel_id, ids)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._adapter._on_raw_reaction(self, payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._adapter._on_raw_reaction(self, payload, added=False)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self._adapter._on_interaction(self, interaction)


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
        | Feature.ATTACHMENTS,
        max_text_length=DISCORD_LIMIT,
    )

    def __init__(
        self,
        *,
        token: str,
        commands: Commands,
        channels: Collection[int],
        webhooks: Mapping[int, tuple[int, str]] | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        gateway_url: str = DEFAULT_GATEWAY_URL,
        admins: Collection[int] = (),
        max_attachment_bytes: int = 8 * _MiB,
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
        self._fetch_policy = fetch_policy
        if max_attachment_bytes <= 0:
            raise ValueError("max_attachment_bytes must be positive")
        self._token = token
        self._commands = commands
        self._channels = frozenset(int(c) for c in channels)
        self._configured = {int(c): (int(i), t) for c, (i, t) in (webhooks or {}).items()}
        self._api_base_url = api_base_url.rstrip("/")
        self._gateway_url = gateway_url
        self._admins = frozenset(int(a) for a in admins)
        self._max_bytes = max_attachment_bytes
        self._cursor = history_cursor
        self._memory = parts
        self._known = known
        self._recheck_window = recheck_window
        self._catch_up_limit = catch_up_limit
        self._timeout = request_timeout
        self._defer_after = command_defer_after
        self._guild_ready_timeout = guild_ready_timeout

        self._client: _Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._sink: InboundSink | None = None
        self._gateway_up = False
        self._synced = False
        self.last_error: str | None = None
        """Why the gateway connection ended for good (bad token, intent not granted)."""

        # Our webhooks: the loop-prevention list. Configured ids are known before any echo.
        self._own_webhooks: set[int] = {hook_id for hook_id, _ in self._configured.values()}
        self._webhooks: dict[int, discord.Webhook] = {}
        self._webhook_lock = asyncio.Lock()
        self._locks: dict[int, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self._last_id: dict[int, int] = {}
        self._handled: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._sent: collections.OrderedDict[int, _Sent] = collections.OrderedDict()
        self._self_deleted: collections.OrderedDict[int, None] = collections.OrderedDict()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, sink: InboundSink) -> None:
        if self._task is not None:
            raise RuntimeError("the Discord adapter is already started")
        if self._api_base_url != DEFAULT_API_BASE_URL:
            discord.http.Route.BASE = self._api_base_url
        if self._gateway_url != DEFAULT_GATEWAY_URL:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self._gateway_url)
        self._sink = sink
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True
        intents.guild_reactions = True
        intents.dm_messages = True
        self._client = _Client(
            self,
            intents=intents,
            guild_ready_timeout=self._guild_ready_timeout,
            # A long rate limit becomes a RetryableError with its retry_after instead of a
            # sleep that would hold the outbox worker.
            max_ratelimit_timeout=30.0,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self._task = asyncio.create_task(self._run(self._client), name="discord-gateway")

    async def _run(self, client: _Client) -> None:
        delay = 1.0
        while True:
            try:
                await client.login(self._token)
                break
            except discord.LoginFailure as exc:
                self.last_error = f"Discord refused the bot token: {exc}"
                log.error("%s", self.last_error)
                return
            except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("Discord login failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            self.last_error = (
                "Discord refused the MESSAGE_CONTENT intent: enable it for the bot in the "
                "developer portal (Bot -> Privileged Gateway Intents)"
            )
            log.error("%s", self.last_error)
        except Exception as exc:
            self.last_error = f"the Discord gateway connection ended: {exc!r}"
            log.exception("the Discord gateway connection ended")
        finally:
            self._gateway_up = False

    async def stop(self) -> None:
        self._gateway_up = False
        client, task = self._client, self._task
        self._client = self._task = None
        if client is not None:
            await client.close()
        # The connection task may have failed already (bad token): nothing to report at stop.
        with contextlib.suppress(Exception):
            await cancel_and_wait(task)

    def is_connected(self) -> bool:
        client = self._client
        return (
            client is not None and self._gateway_up and client.is_ready() and not client.is_closed()
        )

    # ------------------------------------------------------------------ ready: commands, catch-up

    async def _on_ready(self, client: _Client) -> None:
        if client is not self._client:
            return  # an event of a client that stop() already closed
        self._gateway_up = True
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
            await self._sync_commands(client)
        for channel_id in sorted(self._channels):
            channel = client.get_channel(channel_id)
            if channel is None:
                log.warning("bridged Discord channel %s is not visible to the bot", channel_id)
                continue
            if isinstance(channel, discord.TextChannel):
                # Knowing our webhooks before catch-up keeps their old echoes out of it.
                with contextlib.suppress(discord.HTTPException, RetryableError, PermanentError):
                    await self._webhook_for(channel, create=False)
            await self._catch_up(client, channel_id, channel)

    async def _sync_commands(self, client: _Client) -> None:
        app_id = client.application_id
        if app_id is None:
            log.warning("no Discord application id: slash commands are not registered")
            return
        payload = [_command_payload(spec) for spec in self._commands.specs()]
        guild_ids = set()
        for channel_id in self._channels:
            channel = client.get_channel(channel_id)
            guild = getattr(channel, "guild", None)
            if isinstance(guild, discord.Guild):
                guild_ids.add(guild.id)
        # Guild commands appear at once; global ones can take an hour to propagate.
        for guild_id in sorted(guild_ids):
            try:
                await client.http.bulk_upsert_guild_commands(app_id, guild_id, payload)
            except discord.HTTPException as exc:
                log.warning(
                    "could not register slash commands in guild %s (%s); was the bot invited "
                    "with the applications.commands scope?",
                    guild_id,
                    exc,
                )

    async def _catch_up(self, client: _Client, channel_id: int, channel: Any) -> None:
        """Feed the sink what was said while the adapter was away (the router de-duplicates)."""
        if self._cursor is None or not isinstance(channel, discord.abc.Messageable):
            return
        async with self._locks[channel_id]:
            try:
                after = await self._cursor.get(channel_id)
                if after is None:
                    # First start: nothing to replay, but the next restart resumes from here.
                    last = getattr(channel, "last_message_id", None)
                    if isinstance(last, int):
                        await self._advance(channel_id, last)
                    return
                await self._recheck(client, channel_id, channel, after)
                count = 0
                async for message in channel.history(
                    limit=self._catch_up_limit, after=discord.Object(after), oldest_first=True
                ):
                    await self._handle_message(client, message)
                    count += 1
                if count:
                    log.info("caught up %d message(s) in Discord channel %s", count, channel_id)
            except discord.HTTPException as exc:
                log.warning("catch-up in Discord channel %s failed: %s", channel_id, exc)

    async def _recheck(self, client: _Client, channel_id: int, channel: Any, cursor: int) -> None:
        """Edits and deletes made while the adapter was away, among the ``recheck_window``
        newest messages it had seen: the history is compared with what the bridge stored."""
        if self._known is None or self._recheck_window <= 0:
            return
        chat = self._chat(channel_id)
        stored = await self._known.between(chat, 0, cursor, self._recheck_window)
        if not stored:
            return  # nobody wrote here lately (a channel that only receives): nothing to ask
        window = [
            m
            async for m in channel.history(
                limit=self._recheck_window, before=discord.Object(cursor + 1), oldest_first=False
            )
        ]
        if len(window) >= self._recheck_window:
            # Only the stretch the window covers can be judged; older messages are left be.
            low = min(m.id for m in window)
            stored = {mid: text for mid, text in stored.items() if mid >= low}
        present = {m.id: m for m in window}
        edits = deletes = 0
        for message_id, text in sorted(stored.items()):
            message = present.get(message_id)
            if message is None:
                await self._deliver(DeleteMessage(chat, NativeId(str(message_id))))
                deletes += 1
                continue
            if message.edited_at is None:
                continue
            current = from_discord(message.content, self._resolver(client, message))
            if current != text:
                await self._deliver(
                    EditMessage(chat, NativeId(str(message_id)), current, message.edited_at)
                )
                edits += 1
        if edits or deletes:
            log.info(
                "Discord channel %s: %d edit(s) and %d delete(s) made while away applied",
                channel_id,
                edits,
                deletes,
            )

    # ------------------------------------------------------------------ inbound

    def _is_own(self, client: _Client, message: discord.Message) -> bool:
        if client.user is not None and message.author.id == client.user.id:
            return True
        if message.webhook_id is None:
            return False
        if message.webhook_id in self._own_webhooks:
            return True
        # Webhooks our application made (and interaction replies) carry its id.
        app_id = client.application_id
        return app_id is not None and message.application_id == app_id

    async def _on_message(self, client: _Client, message: discord.Message) -> None:
        channel_id = message.channel.id
        if channel_id not in self._channels or client is not self._client:
            return
        async with self._locks[channel_id]:
            await self._handle_message(client, message)

    async def _handle_message(self, client: _Client, message: discord.Message) -> None:
        """Relay one message (the caller holds the channel's lock)."""
        channel_id = message.channel.id
        if message.id in self._handled:
            return  # catch-up and the live gateway both saw it
        event = None
        if not self._is_own(client, message) and message.type in _RELAYED_TYPES:
            event = await self._new_message(client, message)
        if event is not None:
            await self._deliver(event)
        self._handled[message.id] = None
        while len(self._handled) > _MAX_REMEMBERED:
            self._handled.popitem(last=False)
        await self._advance(channel_id, message.id)

    async def _advance(self, channel_id: int, message_id: int) -> None:
        if message_id > self._last_id.get(channel_id, 0):
            self._last_id[channel_id] = message_id
            if self._cursor is not None:
                await self._cursor.set(channel_id, message_id)

    async def _deliver(self, event: Inbound) -> None:
        if self._sink is None:
            return
        await self._sink(event)

    def _author(self, user: discord.abc.User) -> Author:
        return Author(
            platform="discord",
            user_id=UserId(str(user.id)),
            display_name=user.display_name,
            username=user.name,
            avatar_url=user.display_avatar.url,
            is_bot=user.bot,
        )

    def _resolver(self, client: _Client, message: discord.Message) -> MentionResolver:
        guild = message.guild

        def resolve(kind: MentionKind, ident: str) -> str | None:
            try:
                key = int(ident)
            except ValueError:
                return None
            if kind == "user":
                for user in message.mentions:
                    if user.id == key:
                        return user.display_name
                member = guild.get_member(key) if guild is not None else None
                if member is not None:
                    return member.display_name
                found = client.get_user(key)
                return found.display_name if found is not None else None
            if kind == "role":
                role = guild.get_role(key) if guild is not None else None
                return role.name if role is not None else None
            channel = client.get_channel(key)
            name = getattr(channel, "name", None)
            return name if isinstance(name, str) else None

        return resolve

    async def _new_message(self, client: _Client, message: discord.Message) -> NewMessage | None:
        text = from_discord(message.content, self._resolver(client, message))
        notices: list[str] = []
        attachments: list[Attachment] = []
        for item in message.attachments[:_MAX_INBOUND_ATTACHMENTS]:
            name = _safe_filename(item.filename)
            if item.size > self._max_bytes:
                notices.append(f"[file too large to relay: {name} ({human_size(item.size)})]")
                continue
            mime = item.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            try:
                data = await self._fetch(item.url, self._max_bytes)
            except _FetchError as exc:
                if exc.too_large:
                    notices.append(f"[file too large to relay: {name}]")
                else:
                    log.warning("could not read Discord attachment %s: %s", name, exc)
                    notices.append(f"[file could not be relayed: {name}]")
                continue
            attachments.append(
                Attachment(_kind_of(mime), name, mime.split(";")[0], len(data), data=data)
            )
        for sticker in message.stickers:
            notices.append(f"[sticker: {sticker.name}]")
        forward = _forwarded(message)
        if forward is not None:
            # Discord shows a forward as a snapshot of the original, without its author.
            snapshot = forward
            text = from_discord(snapshot.content, self._resolver(client, message))
            if not text.text.strip() and snapshot.embeds:
                text = _embeds_text(snapshot.embeds)
            names = [f"[file: {_safe_filename(a.filename)}]" for a in snapshot.attachments]
            if names:
                text = _append(text, "\n".join(names[:_MAX_INBOUND_ATTACHMENTS]))
            text = _prepend(text, "[forwarded message]\n")
        if not text.text.strip() and message.embeds:
            # A message of embeds only (an integration's post): what the embeds say. With
            # text, embeds are link previews Discord unfurled and are left out.
            text = _embeds_text(message.embeds)
        if notices:
            text = _append(text, "\n".join(notices))
        if not text.text.strip() and not attachments:
            return None
        reply_to = None
        ref = message.reference
        if (
            ref is not None
            and forward is None
            and ref.message_id is not None
            and ref.channel_id == message.channel.id
        ):
            reply_to = NativeId(str(ref.message_id))
        return NewMessage(
            source=self._chat(message.channel.id),
            native_id=NativeId(str(message.id)),
            author=self._author(message.author),
            text=text,
            timestamp=message.created_at,
            reply_to=reply_to,
            attachments=tuple(attachments),
        )

    async def _on_raw_edit(self, client: _Client, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.channel_id not in self._channels or client is not self._client:
            return
        message = payload.message
        if self._is_own(client, message) or message.type not in _RELAYED_TYPES:
            return
        before = payload.cached_message
        if before is not None and before.content == message.content:
            return  # an embed was unfurled or a flag changed, the text did not
        if before is None and payload.data.get("edited_timestamp") is None:
            return
        event = EditMessage(
            source=self._chat(payload.channel_id),
            native_id=NativeId(str(message.id)),
            text=from_discord(message.content, self._resolver(client, message)),
            timestamp=message.edited_at or datetime.now(UTC),
        )
        async with self._locks[payload.channel_id]:
            await self._deliver(event)

    async def _on_raw_delete(
        self, client: _Client, channel_id: int, message_ids: Sequence[int]
    ) -> None:
        if channel_id not in self._channels or client is not self._client:
            return
        async with self._locks[channel_id]:
            for message_id in message_ids:
                if message_id in self._self_deleted:
                    continue
                await self._deliver(
                    DeleteMessage(self._chat(channel_id), NativeId(str(message_id)))
                )

    async def _on_raw_reaction(
        self, client: _Client, payload: discord.RawReactionActionEvent, *, added: bool
    ) -> None:
        if payload.channel_id not in self._channels or client is not self._client:
            return
        if client.user is not None and payload.user_id == client.user.id:
            return
        emoji = payload.emoji
        name = emoji.name if emoji.is_unicode_emoji() else f":{emoji.name}:"
        if not name:
            return
        user: discord.abc.User | None = payload.member
        if user is None and payload.guild_id is not None:
            guild = client.get_guild(payload.guild_id)
            user = guild.get_member(payload.user_id) if guild is not None else None
        if user is None:
            user = client.get_user(payload.user_id)
        if user is not None:
            author = self._author(user)
        else:
            uid = str(payload.user_id)
            author = Author("discord", UserId(uid), uid)
        event = Reaction(
            source=self._chat(payload.channel_id),
            native_id=NativeId(str(payload.message_id)),
            emoji=name,
            added=added,
            author=author,
        )
        async with self._locks[payload.channel_id]:
            await self._deliver(event)

    # ------------------------------------------------------------------ slash commands

    async def _on_interaction(self, client: _Client, interaction: discord.Interaction) -> None:
        if client is not self._client:
            return
        if interaction.type is not discord.InteractionType.application_command:
            return
        data = cast(Mapping[str, Any], interaction.data or {})
        name = str(data.get("name", "")).lower()
        spec = self._commands.spec(name)
        options: dict[str, str] = {}
        for option in data.get("options") or []:
            if isinstance(option, Mapping) and "value" in option:
                options[str(option.get("name", ""))] = str(option["value"])[:2000]
        order = [o.name for o in spec.options] if spec is not None else list(options)
        args = tuple(options[key] for key in order if key in options)
        user = interaction.user
        is_private = interaction.guild_id is None
        is_admin = user.id in self._admins or (
            not is_private and interaction.permissions.administrator
        )
        request = CommandRequest(
            name=name,
            args=args,
            raw_args=" ".join(args),
            chat=self._chat(interaction.channel_id or 0),
            author=self._author(user),
            is_private=is_private,
            is_admin=is_admin,
            options=options,
        )
        task = asyncio.ensure_future(self._commands.handle(request))
        try:
            done, _ = await asyncio.wait({task}, timeout=self._defer_after)
            if done:
                reply = task.result()
                await interaction.response.send_message(
                    _reply_text(reply),
                    ephemeral=reply.private or is_private,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
                return
            # Discord drops an interaction not answered within 3 s. The deferral's visibility
            # is fixed now, so only commands declared private are deferred privately.
            private = spec is None or spec.private_reply
            await interaction.response.defer(ephemeral=private, thinking=True)
            reply = await task
            await interaction.edit_original_response(
                content=_reply_text(reply), allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as exc:
            log.warning("could not answer /%s: %s", name, exc)
        finally:
            if not task.done():
                task.cancel()

    # ------------------------------------------------------------------ outbound: send

    async def send(self, delivery: OutboundMessage) -> NativeId:
        client = self._connected_client()
        channel_id = _channel_id(delivery.target)
        async with self._errors("send"):
            channel = await self._channel(client, channel_id)
            files, notices = await self._outbound_files(delivery.attachments)
            text = delivery.text
            if notices:
                text = _append(text, "\n".join(notices))
            webhook = None
            if delivery.is_announcement:
                pass  # the bridge speaks as its bot user, not through a relayed identity
            elif isinstance(channel, discord.TextChannel):
                webhook = await self._webhook_for(channel, create=True)
            elif channel_id in self._configured:
                webhook = self._configured_webhook(client, channel_id)
            if webhook is not None:
                sent = await self._send_webhook(webhook, channel, delivery, text, files)
            else:
                sent = await self._send_bot(client, channel_id, delivery, text, files)
        await self._keep(channel_id, sent)
        return NativeId(str(sent.part_ids[0]))

    async def _send_webhook(
        self,
        webhook: discord.Webhook,
        channel: Any,
        delivery: OutboundMessage,
        text: RichText,
        files: list[tuple[str, bytes]],
    ) -> _Sent:
        prefix = _reply_prefix(channel, delivery)
        contents = _render(text, prefix)
        avatar = _avatar_url(delivery.author.avatar_url)
        username = webhook_username(delivery.author.display_name, delivery.source.platform)
        ids: list[int] = []
        plan = _plan(contents, files, self._max_bytes)
        try:
            for content, batch in plan:
                message = await webhook.send(
                    content=content if content is not None else discord.utils.MISSING,
                    username=username,
                    avatar_url=avatar if avatar is not None else discord.utils.MISSING,
                    allowed_mentions=discord.AllowedMentions.none(),
                    files=[discord.File(io.BytesIO(data), name) for name, data in batch],
                    wait=True,
                )
                ids.append(message.id)
        except BaseException as exc:
            if isinstance(exc, discord.NotFound) and exc.code == _UNKNOWN_WEBHOOK:
                self._forget_webhook(webhook)
                raise RetryableError("the channel's webhook was deleted") from exc
            await self._undo(ids, lambda mid: webhook.delete_message(mid))
            raise
        return _Sent(webhook.id, tuple(ids), prefix, _kinds(plan))

    async def _send_bot(
        self,
        client: _Client,
        channel_id: int,
        delivery: OutboundMessage,
        text: RichText,
        files: list[tuple[str, bytes]],
    ) -> _Sent:
        target = client.get_partial_messageable(channel_id)
        contents = _render(text, _bot_prefix(delivery), newline=False)
        reply: dict[str, Any] = {}
        if delivery.reply_to is not None and delivery.reply_to.isdigit():
            reply["reference"] = discord.MessageReference(
                message_id=int(delivery.reply_to), channel_id=channel_id, fail_if_not_exists=False
            )
        # Discord keeps a nonce for a few minutes: a retry after a lost answer is not doubled.
        base = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:20]
        ids: list[int] = []
        plan = _plan(contents, files, self._max_bytes)
        try:
            for index, (content, batch) in enumerate(plan):
                message = await target.send(
                    content=content,
                    **(reply if index == 0 else {}),
                    allowed_mentions=discord.AllowedMentions.none(),
                    files=[discord.File(io.BytesIO(data), name) for name, data in batch],
                    nonce=f"{base}{index}",
                )
                ids.append(message.id)
        except BaseException:
            await self._undo(ids, lambda mid: target.get_partial_message(mid).delete())
            raise
        return _Sent(None, tuple(ids), "", _kinds(plan))

    async def _undo(self, ids: Sequence[int], delete: Any) -> None:
        """Remove the parts already posted, so that the retry does not repeat them."""
        for message_id in ids:
            self._mark_self_deleted(message_id)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._timeout):
                    await delete(message_id)

    # ------------------------------------------------------------------ outbound: recovery

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        """The copy of ``delivery`` that a send cut short by a crash posted, or None.

        Discord cannot find a message by our key (a bot message's nonce is not in the
        history), so the channel's newest messages since shortly before ``delivery.sent_at``
        are read instead. Our copy is the newest one posted by one of our webhooks under the
        name this delivery is sent with, or by our bot user, whose text is exactly the first
        part this delivery renders to; its later parts must follow, and all are remembered
        for edits and deletes. A copy cut short between parts is removed and None returned,
        so that the resend is whole. Any failure answers None, and the outbox sends again
        (at-least-once, as without this check).
        """
        try:
            async with asyncio.timeout(self._timeout):
                found = await self._recover(delivery)
        except Exception as exc:
            log.warning(
                "Discord: could not check whether %s was already posted (%s); sending again",
                delivery.idempotency_key,
                exc,
            )
            return None
        if found is None:
            return None
        self._remember(found)
        return NativeId(str(found.part_ids[0]))

    async def _recover(self, delivery: OutboundMessage) -> _Sent | None:
        client = self._connected_client()
        channel_id = _channel_id(delivery.target)
        channel = await self._channel(client, channel_id)
        if isinstance(channel, discord.TextChannel):
            # A restarted adapter may not know the channel's webhook yet.
            with contextlib.suppress(discord.HTTPException, RetryableError, PermanentError):
                await self._webhook_for(channel, create=False)
        elif channel_id in self._configured:
            self._configured_webhook(client, channel_id)
        text, loose = _expected_text(delivery, self._max_bytes)
        sent_at = delivery.sent_at
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        after = sent_at - _RECOVER_MARGIN
        target = client.get_partial_messageable(channel_id)
        history = [
            m async for m in target.history(limit=_RECOVER_LIMIT, after=after, oldest_first=False)
        ]
        history.sort(key=lambda m: m.id)
        files = bool(delivery.attachments)
        if not delivery.is_announcement:
            username = webhook_username(delivery.author.display_name, delivery.source.platform)
            prefix = _reply_prefix(channel, delivery)
            hooked = [
                m
                for m in history
                if m.webhook_id is not None
                and m.webhook_id in self._own_webhooks
                and m.author.name == username
            ]
            rendered = _render(text, prefix)
            found = _find_copy(hooked, rendered, loose=loose, files=files)
            if found is not None:
                ids, complete = found
                webhook_id = next(m.webhook_id or 0 for m in hooked if m.id == ids[0])
                if complete:
                    return _Sent(webhook_id, ids, prefix, _found_kinds(ids, rendered, files))
                hook = await self._webhook_by_id(client, channel_id, webhook_id)
                if hook is not None:
                    await self._undo(ids, lambda mid: hook.delete_message(mid))
                return None
        me = client.user.id if client.user is not None else None
        posted = [m for m in history if m.webhook_id is None and m.author.id == me]
        contents = _render(text, _bot_prefix(delivery), newline=False)
        found = _find_copy(posted, contents, loose=loose, files=files)
        if found is None:
            return None
        ids, complete = found
        if complete:
            return _Sent(None, ids, "", _found_kinds(ids, contents, files))
        await self._undo(ids, lambda mid: target.get_partial_message(mid).delete())
        return None

    # ------------------------------------------------------------------ outbound: other kinds

    async def edit(self, delivery: OutboundEdit) -> None:
        client = self._connected_client()
        channel_id = _channel_id(delivery.target)
        message_id = _message_id(delivery.native_id)
        async with self._errors("edit"):
            sent = await self._sent_record(client, channel_id, message_id)
            if sent is None:
                raise PermanentError(f"message {message_id} is gone from channel {channel_id}")
            target = client.get_partial_messageable(channel_id)
            if sent.webhook_id is not None:
                hook = await self._webhook_by_id(client, channel_id, sent.webhook_id)
                if hook is None:
                    raise PermanentError("the webhook that posted this message is gone")
                webhook = hook
                contents = _render(delivery.text, sent.prefix)

                async def rewrite(part_id: int, content: str) -> None:
                    await webhook.edit_message(
                        part_id, content=content, allowed_mentions=discord.AllowedMentions.none()
                    )

                async def remove(part_id: int) -> None:
                    await webhook.delete_message(part_id)

            else:
                header = _bot_header(delivery.author.display_name, delivery.source.platform)
                contents = _render(delivery.text, header, newline=False)

                async def rewrite(part_id: int, content: str) -> None:
                    await target.get_partial_message(part_id).edit(
                        content=content, allowed_mentions=discord.AllowedMentions.none()
                    )

                async def remove(part_id: int) -> None:
                    await target.get_partial_message(part_id).delete()

            # The text parts follow the new text: rewritten, new ones posted after them when it
            # grew, those it no longer needs deleted (a part that carries files is emptied
            # instead, so the files stay).
            ids, kinds = list(sent.part_ids), [sent.kind(i) for i in range(len(sent.part_ids))]
            texts = [i for i, kind in enumerate(kinds) if kind != "f"]
            contents = contents or [""]
            try:
                for n, content in enumerate(contents):
                    if n < len(texts):
                        await rewrite(ids[texts[n]], content)
                        continue
                    new_id = await self._post_part(client, channel_id, sent, delivery, content)
                    ids.append(new_id)
                    kinds.append("t")
                    texts.append(len(ids) - 1)
                for index in texts[len(contents) :]:
                    if kinds[index] == "a":
                        await rewrite(ids[index], "")
                        continue
                    self._mark_self_deleted(ids[index])
                    with contextlib.suppress(discord.NotFound):
                        await remove(ids[index])
                    kinds[index] = "-"
            finally:
                kept = [(i, k) for i, k in zip(ids, kinds, strict=True) if k != "-"]
                updated = _Sent(
                    sent.webhook_id,
                    tuple(i for i, _ in kept),
                    sent.prefix,
                    "".join(k for _, k in kept),
                )
                if updated != sent:
                    await self._keep(channel_id, updated, changed=True)

    async def _post_part(
        self,
        client: _Client,
        channel_id: int,
        sent: _Sent,
        delivery: OutboundEdit,
        content: str,
    ) -> int:
        """Post one more part of a copy whose text grew, as the copy was posted."""
        if sent.webhook_id is not None:
            hook = await self._webhook_by_id(client, channel_id, sent.webhook_id)
            if hook is None:
                raise PermanentError("the webhook that posted this message is gone")
            avatar = _avatar_url(delivery.author.avatar_url)
            message = await hook.send(
                content=content,
                username=webhook_username(delivery.author.display_name, delivery.source.platform),
                avatar_url=avatar if avatar is not None else discord.utils.MISSING,
                allowed_mentions=discord.AllowedMentions.none(),
                wait=True,
            )
            return message.id
        target = client.get_partial_messageable(channel_id)
        posted = await target.send(content=content, allowed_mentions=discord.AllowedMentions.none())
        return posted.id

    async def delete(self, delivery: OutboundDelete) -> None:
        client = self._connected_client()
        channel_id = _channel_id(delivery.target)
        message_id = _message_id(delivery.native_id)
        async with self._errors("delete"):
            sent = await self._sent_record(client, channel_id, message_id)
            if sent is None:
                return  # already deleted
            webhook = None
            if sent.webhook_id is not None:
                webhook = await self._webhook_by_id(client, channel_id, sent.webhook_id)
            target = client.get_partial_messageable(channel_id)
            for part_id in sent.part_ids:
                self._mark_self_deleted(part_id)
                with contextlib.suppress(discord.NotFound):
                    if webhook is not None:
                        await webhook.delete_message(part_id)
                    else:
                        # Someone else's webhook (or a lost one): needs Manage Messages.
                        await target.get_partial_message(part_id).delete()
            if self._sent.pop(message_id, None) is not None or self._memory is not None:
                with contextlib.suppress(Exception):
                    if self._memory is not None:
                        await self._memory.forget(str(channel_id), str(message_id))

    async def react(self, delivery: OutboundReaction) -> None:
        client = self._connected_client()
        if not _is_unicode_emoji(delivery.emoji):
            return  # a custom emoji from elsewhere has no Discord equivalent
        channel_id = _channel_id(delivery.target)
        message = client.get_partial_messageable(channel_id).get_partial_message(
            _message_id(delivery.native_id)
        )
        async with self._errors("react"):
            try:
                if delivery.added:
                    await message.add_reaction(delivery.emoji)
                elif client.user is not None:
                    await message.remove_reaction(delivery.emoji, client.user)
            except discord.NotFound as exc:
                if delivery.added and exc.code != _UNKNOWN_EMOJI:
                    raise
            except discord.HTTPException as exc:
                if exc.code != _UNKNOWN_EMOJI:
                    raise

    # ------------------------------------------------------------------ bridge services

    def watch_channel(self, channel_id: int) -> None:
        """Relay ``channel_id`` from now on (a room joined at runtime with ``/room join``)."""
        self._channels = self._channels | {int(channel_id)}

    def unwatch_channel(self, channel_id: int) -> None:
        self._channels = self._channels - {int(channel_id)}

    async def send_private(self, user_id: str, text: str) -> bool:
        """Send ``text`` (plain) to one user as a DM; False when Discord refuses (DMs closed,
        unknown user) or the bot is not connected. Never raises for that."""
        client = self._client
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
        client = self._client
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

    # ------------------------------------------------------------------ webhooks

    def _configured_webhook(self, client: _Client, channel_id: int) -> discord.Webhook | None:
        hook = self._configured.get(channel_id)
        if hook is None:
            return None
        webhook = self._webhooks.get(channel_id)
        if webhook is None or webhook.id != hook[0]:
            webhook = discord.Webhook.partial(hook[0], hook[1], client=client)
            self._webhooks[channel_id] = webhook
        return webhook

    async def _webhook_for(
        self, channel: discord.TextChannel, *, create: bool
    ) -> discord.Webhook | None:
        """The webhook that posts into ``channel``: configured, found, or made; None if none."""
        client = self._require_client()
        configured = self._configured_webhook(client, channel.id)
        if configured is not None:
            return configured
        cached = self._webhooks.get(channel.id)
        if cached is not None:
            return cached
        if not channel.permissions_for(channel.guild.me).manage_webhooks:
            return None
        async with self._webhook_lock:
            cached = self._webhooks.get(channel.id)
            if cached is not None:
                return cached
            try:
                found = await self._find_webhook(client, channel)
                if found is None and create:
                    found = await channel.create_webhook(
                        name=WEBHOOK_NAME, reason="Parley bridge: relays messages from other chats"
                    )
            except discord.Forbidden:
                return None
            if found is not None:
                self._own_webhooks.add(found.id)
                self._webhooks[channel.id] = found
            return found

    async def _find_webhook(
        self, client: _Client, channel: discord.TextChannel
    ) -> discord.Webhook | None:
        me = client.user.id if client.user is not None else None
        candidates = [
            w
            for w in await channel.webhooks()
            if w.token is not None and w.name == WEBHOOK_NAME and w.channel_id == channel.id
        ]
        # Prefer one this bot made: a same-named webhook of someone else is not ours to reuse.
        candidates.sort(key=lambda w: w.user is None or w.user.id != me)
        return candidates[0] if candidates else None

    async def _webhook_by_id(
        self, client: _Client, channel_id: int, webhook_id: int
    ) -> discord.Webhook | None:
        configured = self._configured_webhook(client, channel_id)
        if configured is not None and configured.id == webhook_id:
            return configured
        cached = self._webhooks.get(channel_id)
        if cached is not None and cached.id == webhook_id:
            return cached
        channel = client.get_channel(channel_id)
        if isinstance(channel, discord.TextChannel):
            found = await self._webhook_for(channel, create=False)
            if found is not None and found.id == webhook_id:
                return found
        return None

    def _forget_webhook(self, webhook: discord.Webhook) -> None:
        for channel_id, known in list(self._webhooks.items()):
            if known.id == webhook.id:
                del self._webhooks[channel_id]
                self._configured.pop(channel_id, None)
                log.warning(
                    "the webhook of Discord channel %s was deleted; a new one will be used",
                    channel_id,
                )

    # ------------------------------------------------------------------ helpers

    def _require_client(self) -> _Client:
        if self._client is None:
            raise RuntimeError("the Discord adapter is not started")
        return self._client

    def _connected_client(self) -> _Client:
        client = self._client
        if client is None or client.is_closed() or not client.is_ready():
            raise RetryableError("the Discord bot is not connected")
        return client

    @staticmethod
    def _chat(channel_id: int) -> ChatRef:
        return ChatRef.discord(DiscordChannelId(channel_id))

    async def _channel(self, client: _Client, channel_id: int) -> Any:
        channel = client.get_channel(channel_id)
        if channel is None:
            channel = await client.fetch_channel(channel_id)
        return channel

    async def _keep(self, channel_id: int, sent: _Sent, *, changed: bool = False) -> None:
        """Remember how a copy was posted: in memory, and in the store when it took several
        messages (an edit or delete after a restart must reach every part) or an edit
        ``changed`` a recorded layout (which must not outlive the parts it names)."""
        self._remember(sent)
        if self._memory is None or (len(sent.part_ids) < 2 and not changed):
            return
        try:
            await self._memory.put(str(channel_id), str(sent.part_ids[0]), sent.to_json())
        except Exception:
            log.exception("Discord: could not record the parts of %s", sent.part_ids[0])

    def _remember(self, sent: _Sent) -> None:
        self._sent[sent.part_ids[0]] = sent
        while len(self._sent) > _MAX_REMEMBERED:
            self._sent.popitem(last=False)

    def _mark_self_deleted(self, message_id: int) -> None:
        self._self_deleted[message_id] = None
        while len(self._self_deleted) > _MAX_REMEMBERED:
            self._self_deleted.popitem(last=False)

    async def _sent_record(self, client: _Client, channel_id: int, message_id: int) -> _Sent | None:
        """How ``message_id`` was posted: remembered, or read back from Discord; None if gone."""
        sent = self._sent.get(message_id)
        if sent is not None:
            return sent
        if self._memory is not None:
            try:
                sent = _Sent.from_json(await self._memory.get(str(channel_id), str(message_id)))
            except Exception:
                log.exception("Discord: could not read the parts of %s", message_id)
            if sent is not None and sent.part_ids[0] == message_id:
                self._remember(sent)
                return sent
        try:
            message = await client.get_partial_messageable(channel_id).fetch_message(message_id)
        except discord.NotFound:
            return None
        prefix = ""
        if message.webhook_id is not None and message.content.startswith(REPLY_PREFIX):
            prefix = message.content.split("\n", 1)[0]
        return _Sent(message.webhook_id, (message_id,), prefix, "a" if message.attachments else "t")

    async def _outbound_files(
        self, attachments: Sequence[Attachment]
    ) -> tuple[list[tuple[str, bytes]], list[str]]:
        files: list[tuple[str, bytes]] = []
        notices: list[str] = []
        for attachment in attachments:
            name = _safe_filename(attachment.filename)
            if attachment.size is not None and attachment.size > self._max_bytes:
                notices.append(f"[file too large to relay: {name} ({human_size(attachment.size)})]")
                continue
            data = attachment.data
            if data is None and attachment.url is not None:
                try:
                    data = await self._fetch(attachment.url, self._max_bytes)
                except _FetchError as exc:
                    if exc.retryable:
                        raise RetryableError(f"could not fetch {name}: {exc}") from exc
                    notices.append(
                        f"[file too large to relay: {name}]"
                        if exc.too_large
                        else f"[file could not be relayed: {name}]"
                    )
                    continue
            if data is None:
                continue
            if len(data) > self._max_bytes:
                notices.append(f"[file too large to relay: {name} ({human_size(len(data))})]")
                continue
            files.append((name, data))
        return files, notices

    async def _fetch(self, url: str, cap: int) -> bytes:
        """GET ``url`` through the shared guarded fetcher: at most ``cap`` bytes, within the
        request timeout, never into the bridge's own network (unless the policy says so)."""
        if self._client is None:
            raise _FetchError("the adapter is stopped", retryable=True)
        try:
            result = await fetch(
                url, policy=self._fetch_policy, max_bytes=cap, accept=None, timeout=self._timeout
            )
        except FetchError as exc:
            raise _FetchError(str(exc), retryable=exc.retryable, too_large=exc.too_large) from exc
        return result.body

    @contextlib.asynccontextmanager
    async def _errors(self, what: str) -> AsyncIterator[None]:
        """Turn discord.py and network failures into the outbox's two delivery errors."""
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except (RetryableError, PermanentError):
            raise
        except discord.RateLimited as exc:
            raise RetryableError(f"{what}: rate limited", exc.retry_after) from exc
        except discord.HTTPException as exc:
            raise _classify(what, exc) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise RetryableError(f"{what}: {type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------------- pure helpers


def _classify(what: str, exc: discord.HTTPException) -> RetryableError | PermanentError:
    reason = f"{what}: Discord answered {exc.status} (code {exc.code}): {exc.text}"
    if exc.status == 429:
        return RetryableError(reason, _retry_after(exc))
    if exc.status >= 500:
        return RetryableError(reason)
    return PermanentError(reason)


def _retry_after(exc: discord.HTTPException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = float(headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if 0 <= value <= 86_400 else None


def _channel_id(chat: ChatRef) -> int:
    if chat.platform != "discord" or not chat.chat_id.isdigit():
        raise PermanentError(f"{chat} is not a Discord channel")
    return int(chat.chat_id)


def _message_id(native_id: NativeId) -> int:
    if not native_id.isdigit():
        raise PermanentError(f"{native_id!r} is not a Discord message id")
    return int(native_id)


def webhook_username(display_name: str, platform: Platform) -> str:
    """``"name (platform)"`` as a webhook username Discord accepts (1-80 characters).

    Discord refuses names containing "discord" or "clyde" and the names "everyone"/"here".
    """
    suffix = f" ({platform})"
    name = clean_name(display_name) or "someone"
    name = name[: _MAX_USERNAME - len(suffix)].rstrip()
    full = name + suffix
    full = re.sub(r"(?i)(disc)o(rd)", r"\g<1>0\g<2>", full)
    full = re.sub(r"(?i)(cl)y(de)", r"\g<1>¡\g<2>", full)
    if full.strip().lower() in ("everyone", "here"):
        full = f"{full}."
    return full


def _bot_header(display_name: str, platform: Platform) -> str:
    name = clean_name(display_name)[:_MAX_USERNAME] or "someone"
    return f"**{escape_discord(name)}** ({platform}): "


def _reply_prefix(channel: Any, delivery: OutboundMessage) -> str:
    """The quote line a webhook copy of a reply starts with ("" for a message that is none)."""
    if delivery.reply_to is None or not delivery.reply_to.isdigit():
        return ""
    guild = getattr(channel, "guild", None)
    return REPLY_PREFIX + JUMP_URL.format(
        guild=guild.id if isinstance(guild, discord.Guild) else "@me",
        channel=_channel_id(delivery.target),
        message=delivery.reply_to,
    )


def _bot_prefix(delivery: OutboundMessage) -> str:
    """The name in front of a bot-posted copy ("" when the bridge itself speaks)."""
    if delivery.is_announcement:
        return ""
    return _bot_header(delivery.author.display_name, delivery.source.platform)


def _expected_text(delivery: OutboundMessage, max_bytes: int) -> tuple[RichText, bool]:
    """The text ``send`` posts for ``delivery``, with the notices known without fetching a file,
    and whether a file fetched by URL may have added another notice."""
    notices: list[str] = []
    loose = False
    for attachment in delivery.attachments:
        name = _safe_filename(attachment.filename)
        if attachment.size is not None and attachment.size > max_bytes:
            notices.append(f"[file too large to relay: {name} ({human_size(attachment.size)})]")
        elif attachment.data is not None:
            if len(attachment.data) > max_bytes:
                size = human_size(len(attachment.data))
                notices.append(f"[file too large to relay: {name} ({size})]")
        elif attachment.url is not None:
            loose = True
    text = _append(delivery.text, "\n".join(notices)) if notices else delivery.text
    return text, loose


def _without_notices(content: str) -> str:
    lines = content.strip().split("\n")
    while lines and _NOTICE_LINE.fullmatch(lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def _same_part(content: str, expected: str, *, loose: bool) -> bool:
    # Discord trims the whitespace around a message's content.
    if content.strip() == expected.strip():
        return True
    return loose and _without_notices(content) == _without_notices(expected)


def _find_copy(
    mine: Sequence[discord.Message], contents: Sequence[str], *, loose: bool, files: bool
) -> tuple[tuple[int, ...], bool] | None:
    """The ids of the newest copy of ``contents`` among ``mine`` (our messages, oldest first)
    and whether every text part is there; None if there is no first part.

    ``loose`` lets the last text part carry notices of files that could not be fetched;
    ``files`` takes the file-only messages that follow the text as later parts too.
    """
    first = contents[0] if contents else ""
    last = len(contents) - 1
    starts = [
        i for i, m in enumerate(mine) if _same_part(m.content, first, loose=loose and last <= 0)
    ]
    if not starts:
        return None
    at = starts[-1]
    ids = [mine[at].id]
    for index in range(1, len(contents)):
        at += 1
        if at >= len(mine) or not _same_part(
            mine[at].content, contents[index], loose=loose and index == last
        ):
            return tuple(ids), False
        ids.append(mine[at].id)
    if files:
        for message in mine[at + 1 :]:
            if message.content.strip() or not message.attachments:
                break
            ids.append(message.id)
    return tuple(ids), True


def _render(text: RichText, prefix: str, *, newline: bool = True) -> list[str]:
    """Discord markdown parts of ``text``, with ``prefix`` (a quote line or a name) on the first."""
    if not prefix:
        return split_for_discord(text, DISCORD_LIMIT)
    joiner = "\n" if newline else ""
    parts = split_for_discord(text, DISCORD_LIMIT - len(prefix) - len(joiner))
    if not parts:
        return [prefix.rstrip()]
    return [prefix + joiner + parts[0], *parts[1:]]


def _plan(
    contents: list[str], files: list[tuple[str, bytes]], max_bytes: int
) -> list[tuple[str | None, list[tuple[str, bytes]]]]:
    """The messages to post: text parts, the first batch of files on the last text part."""
    batches: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = 0
    for name, data in files:
        if current and (len(current) >= _MAX_FILES_PER_MESSAGE or size + len(data) > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append((name, data))
        size += len(data)
    if current:
        batches.append(current)
    plan: list[tuple[str | None, list[tuple[str, bytes]]]] = [(c, []) for c in contents]
    if batches:
        if plan:
            plan[-1] = (plan[-1][0], batches.pop(0))
        plan.extend((None, batch) for batch in batches)
    if not plan:
        raise PermanentError("nothing to send: no text and no file")
    return plan


def _found_kinds(ids: Sequence[int], contents: Sequence[str], files: bool) -> str:
    """The kinds of a copy found by ``recover``: its text parts, the first batch of files on
    the last of them, and file-only messages after."""
    texts = min(len(ids), max(1, len(contents)))
    kinds = ["t"] * texts + ["f"] * (len(ids) - texts)
    if files:
        kinds[texts - 1] = "a"
    return "".join(kinds)


def _forwarded(message: discord.Message) -> discord.MessageSnapshot | None:
    """The original of a forwarded message (None: not a forward)."""
    ref = message.reference
    if ref is None or ref.type is not discord.MessageReferenceType.forward:
        return None
    return message.message_snapshots[0] if message.message_snapshots else None


def _prepend(text: RichText, head: str) -> RichText:
    shift = len(head)
    return RichText(
        head + text.text,
        tuple(replace(span, start=span.start + shift, end=span.end + shift) for span in text.spans),
    )


def _embeds_text(embeds: Sequence[discord.Embed]) -> RichText:
    lines: list[str] = []
    for embed in embeds[:_MAX_EMBEDS]:
        for value in (embed.title, embed.description, embed.url):
            if value:
                lines.append(clean_text(str(value), _MAX_EMBED_TEXT))
        for item in embed.fields[:_MAX_EMBEDS]:
            lines.append(f"{item.name}: {item.value}"[:_MAX_EMBED_TEXT])
    text = "\n".join(line for line in lines if line)
    return RichText(text)


def _kinds(plan: Sequence[tuple[str | None, Sequence[object]]]) -> str:
    """The parts' kinds of a ``_plan``: "t" text, "a" text with files, "f" files only."""
    return "".join("f" if content is None else "a" if batch else "t" for content, batch in plan)


def _append(text: RichText, line: str) -> RichText:
    separator = "\n" if text.text else ""
    return RichText(text.text + separator + line, text.spans)


def _reply_text(reply: CommandReply) -> str:
    text = escape_discord(reply.text) or "Done."
    return text if len(text) <= DISCORD_LIMIT else text[: DISCORD_LIMIT - 1] + "…"


def _avatar_url(url: str | None) -> str | None:
    if not url or len(url) > _MAX_AVATAR_URL:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = clean_text(base).lstrip(".")
    if not base:
        return "file"
    if len(base) > _MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: _MAX_FILENAME - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else base
        base = base[:_MAX_FILENAME]
    return base


def _kind_of(mime: str) -> AttachmentKind:
    mime = mime.lower()
    if mime.startswith("image/gif"):
        return "animation"
    if mime.startswith("image/"):
        return "photo"
    if mime.startswith("video/"):
        return "video"
    if mime.startswith("audio/"):
        return "audio"
    return "file"


def _is_unicode_emoji(emoji: str) -> bool:
    # Custom emoji arrive as ":name:" or "<:name:id>"; plain words are not emoji either.
    if not emoji or len(emoji) > 16 or emoji.isascii():
        return False
    return not any(ch in emoji for ch in ":<> \t\n")


def _command_payload(spec: CommandSpec) -> dict[str, Any]:
    # Discord refuses a required option after an optional one; keep spec order otherwise.
    options = sorted(spec.options, key=lambda o: not o.required)
    return {
        "type": 1,
        "name": spec.name,
        "description": (spec.description or spec.name)[:100],
        "options": [
            {
                "type": 3,
                "name": option.name[:32].lower(),
                "description": (option.description or option.name)[:100],
                "required": option.required,
            }
            for option in options[:25]
        ],
    }
