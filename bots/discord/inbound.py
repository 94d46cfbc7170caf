"""Discord gateway events -> the bridge's neutral ``Inbound`` events.

The bot's own messages and its webhooks' echoes are dropped here, before the router. Catch-up
after downtime replays the messages after the cursor and compares the newest messages before
it with what the bridge stored (``known``): edits and deletes made meanwhile are applied.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

import discord

from bots.base import (
    Author,
    DeleteMessage,
    EditMessage,
    Inbound,
    InboundSink,
    NativeId,
    NewMessage,
    Reaction,
    RichText,
    UserId,
)
from bots.discord.common import (
    MAX_EMBED_TEXT,
    MAX_EMBEDS,
    MAX_INBOUND_ATTACHMENTS,
    MAX_REMEMBERED,
    RELAYED_TYPES,
    HistoryCursor,
    KnownMessages,
    append,
    author_of,
    chat_of,
    safe_filename,
)
from bots.discord.files import DiscordFiles
from bots.discord.state import DiscordState
from bots.discord.text import from_discord
from bridge.formatting import MentionKind, MentionResolver
from bridge.names import clean_text
from bridge.tasks import cancel_and_wait

__all__ = ["DiscordInbound"]

log = logging.getLogger(__name__)

_SINK_RETRY_MAX: Final = 5.0
# The cursor passing messages that relay nothing (chiefly the echoes of our own webhook
# copies, one per message relayed into Discord) is written at most this late, or after this
# many such messages in a channel: a write per echo was a store round trip per delivery, and
# all that a lagging cursor costs is re-reading (and dropping again) those messages at a
# restart, a few of them against the catch-up limit.
CURSOR_DELAY: Final = 2.0
CURSOR_MAX_UNSAVED: Final = 32


class DiscordInbound:
    """Relays the bridged channels' messages, edits, deletes and reactions to the sink."""

    def __init__(
        self,
        state: DiscordState,
        files: DiscordFiles,
        *,
        cursor: HistoryCursor | None,
        known: KnownMessages | None,
        catch_up_limit: int,
        recheck_window: int,
    ) -> None:
        self._state = state
        self._files = files
        self._cursor = cursor
        self._known = known
        self._catch_up_limit = catch_up_limit
        self._recheck_window = recheck_window
        self.sink: InboundSink | None = None
        self._last_id: dict[int, int] = {}
        self._handled: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._unsaved: dict[int, int] = {}  # channel -> messages past its stored cursor
        self._saver: asyncio.Task[None] | None = None
        self._echoes: set[asyncio.Task[None]] = set()  # referenced until done

    async def catch_up(self, client: discord.Client, channel_id: int, channel: Any) -> None:
        """Feed the sink what was said while the adapter was away (the router de-duplicates)."""
        if self._cursor is None or not isinstance(channel, discord.abc.Messageable):
            return
        async with self._state.locks[channel_id]:
            try:
                after = await self._cursor.get(channel_id)
                if after is None:
                    # First start: nothing to replay, but the next restart resumes from here.
                    # A channel nobody has written in yet resumes from now (a snowflake of this
                    # moment): what is said while the bridge is down is caught up all the same.
                    last = getattr(channel, "last_message_id", None)
                    if not isinstance(last, int):
                        last = discord.utils.time_snowflake(datetime.now(UTC))
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

    async def _recheck(
        self, client: discord.Client, channel_id: int, channel: Any, cursor: int
    ) -> None:
        """Edits and deletes made while the adapter was away, among the ``recheck_window``
        newest messages it had seen: the history is compared with what the bridge stored."""
        if self._known is None or self._recheck_window <= 0:
            return
        chat = chat_of(channel_id)
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

    def _is_own(self, client: discord.Client, message: discord.Message) -> bool:
        if client.user is not None and message.author.id == client.user.id:
            return True
        if message.webhook_id is None:
            return False
        if message.webhook_id in self._state.own_webhooks:
            return True
        # Webhooks our application made (and interaction replies) carry its id.
        app_id = client.application_id
        return app_id is not None and message.application_id == app_id

    async def on_message(self, client: discord.Client, message: discord.Message) -> None:
        channel_id = message.channel.id
        if channel_id not in self._state.channels or client is not self._state.client:
            return
        async with self._state.locks[channel_id]:
            await self._handle_message(client, message)

    async def _handle_message(self, client: discord.Client, message: discord.Message) -> None:
        """Relay one message (the caller holds the channel's lock)."""
        channel_id = message.channel.id
        if message.id in self._handled:
            return  # catch-up and the live gateway both saw it
        event = None
        if not self._is_own(client, message) and message.type in RELAYED_TYPES:
            event = await self._new_message(client, message)
        if event is not None:
            await self._deliver(event)
        await self._handled_now(channel_id, message.id, relayed=event is not None)

    async def _handled_now(self, channel_id: int, message_id: int, *, relayed: bool) -> None:
        self._handled[message_id] = None
        while len(self._handled) > MAX_REMEMBERED:
            self._handled.popitem(last=False)
        await self._advance(channel_id, message_id, relayed=relayed)

    def own_echo(self, client: discord.Client, data: Mapping[str, Any]) -> bool:
        """Take a gateway MESSAGE_CREATE that is the echo of one of our webhook copies from its
        raw payload (True), before discord.py builds and caches a full Message for it: one
        comes back for every copy the bridge posts, and nothing in it is relayed. Only the
        catch-up cursor moves past it. Anything else (False) goes through discord.py."""
        webhook = data.get("webhook_id")
        if webhook is None or client is not self._state.client:
            return False
        try:
            channel_id, message_id = int(data["channel_id"]), int(data["id"])
            ours = int(webhook) in self._state.own_webhooks or (
                # Webhooks our application made carry its id, as in _is_own.
                client.application_id is not None
                and int(data.get("application_id") or 0) == client.application_id
            )
        except (KeyError, TypeError, ValueError):
            return False
        if not ours or channel_id not in self._state.channels:
            return False
        task = asyncio.get_running_loop().create_task(self._echo(channel_id, message_id))
        self._echoes.add(task)
        task.add_done_callback(self._echoes.discard)
        return True

    async def _echo(self, channel_id: int, message_id: int) -> None:
        try:
            # In order with the channel's other messages, like discord.py's own events.
            async with self._state.locks[channel_id]:
                if message_id not in self._handled:
                    await self._handled_now(channel_id, message_id, relayed=False)
        except Exception:
            log.exception("Discord channel %s: the echo of our copy failed", channel_id)

    async def _advance(self, channel_id: int, message_id: int, *, relayed: bool = True) -> None:
        if message_id <= self._last_id.get(channel_id, 0):
            return
        self._last_id[channel_id] = message_id
        if self._cursor is None:
            return
        if not relayed:
            unsaved = self._unsaved.get(channel_id, 0) + 1
            if unsaved < CURSOR_MAX_UNSAVED:
                self._unsaved[channel_id] = unsaved
                if self._saver is None or self._saver.done():
                    self._saver = asyncio.create_task(self._save_later(), name="discord-cursor")
                return
        self._unsaved.pop(channel_id, None)
        await self._cursor.set(channel_id, message_id)

    def newest_seen(self, channel_id: int) -> int | None:
        """The id of the newest message handled in the channel (stored in the cursor or not)."""
        return self._last_id.get(channel_id)

    async def save_cursors(self) -> None:
        """At stop: store the cursors that lag behind the messages seen."""
        saver, self._saver = self._saver, None
        if saver is not None and saver is not asyncio.current_task():
            await cancel_and_wait(saver)
        await self._save_cursors()

    async def _save_later(self) -> None:
        await asyncio.sleep(CURSOR_DELAY)
        await self._save_cursors()

    async def _save_cursors(self) -> None:
        if not self._unsaved or self._cursor is None:
            return
        positions = {channel_id: self._last_id[channel_id] for channel_id in self._unsaved}
        self._unsaved.clear()
        try:
            await self._cursor.set_many(positions)
        except Exception as exc:
            # Only a longer catch-up at the next start; a later message tries again.
            log.warning("Discord cursors of %d channel(s) not stored: %s", len(positions), exc)

    async def _deliver(self, event: Inbound) -> None:
        """Hand ``event`` to the sink, trying again while the sink fails (the store is down)
        and the adapter runs: discord.py drops an event whose handler raised, and Discord does
        not send it again (the channel's lock keeps later events waiting, in order)."""
        failures = 0
        while (sink := self.sink) is not None and self._state.client is not None:
            try:
                await sink(event)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("the sink refused a Discord event (%s); retry #%d", exc, failures)
                await asyncio.sleep(min(_SINK_RETRY_MAX, 0.05 * 2 ** min(failures, 10)))

    def _resolver(self, client: discord.Client, message: discord.Message) -> MentionResolver:
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

    async def _new_message(
        self, client: discord.Client, message: discord.Message
    ) -> NewMessage | None:
        text = from_discord(message.content, self._resolver(client, message))
        attachments, notices = await self._files.inbound(message)
        for sticker in message.stickers:
            notices.append(f"[sticker: {sticker.name}]")
        forward = forwarded(message)
        if forward is not None:
            # Discord shows a forward as a snapshot of the original, without its author.
            snapshot = forward
            text = from_discord(snapshot.content, self._resolver(client, message))
            if not text.text.strip() and snapshot.embeds:
                text = embeds_text(snapshot.embeds)
            names = [f"[file: {safe_filename(a.filename)}]" for a in snapshot.attachments]
            if names:
                text = append(text, "\n".join(names[:MAX_INBOUND_ATTACHMENTS]))
            text = prepend(text, "[forwarded message]\n")
        if not text.text.strip() and message.embeds:
            # A message of embeds only (an integration's post): what the embeds say. With
            # text, embeds are link previews Discord unfurled and are left out.
            text = embeds_text(message.embeds)
        if notices:
            text = append(text, "\n".join(notices))
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
            source=chat_of(message.channel.id),
            native_id=NativeId(str(message.id)),
            author=author_of(message.author),
            text=text,
            timestamp=message.created_at,
            reply_to=reply_to,
            attachments=tuple(attachments),
        )

    async def on_raw_edit(
        self, client: discord.Client, payload: discord.RawMessageUpdateEvent
    ) -> None:
        if payload.channel_id not in self._state.channels or client is not self._state.client:
            return
        message = payload.message
        if self._is_own(client, message) or message.type not in RELAYED_TYPES:
            return
        before = payload.cached_message
        if before is not None and before.content == message.content:
            return  # an embed was unfurled or a flag changed, the text did not
        if before is None and payload.data.get("edited_timestamp") is None:
            return
        event = EditMessage(
            source=chat_of(payload.channel_id),
            native_id=NativeId(str(message.id)),
            text=from_discord(message.content, self._resolver(client, message)),
            timestamp=message.edited_at or datetime.now(UTC),
        )
        async with self._state.locks[payload.channel_id]:
            await self._deliver(event)

    async def on_raw_delete(
        self, client: discord.Client, channel_id: int, message_ids: Sequence[int]
    ) -> None:
        if channel_id not in self._state.channels or client is not self._state.client:
            return
        async with self._state.locks[channel_id]:
            for message_id in message_ids:
                if message_id in self._state.self_deleted:
                    continue
                await self._deliver(DeleteMessage(chat_of(channel_id), NativeId(str(message_id))))

    async def on_raw_reaction(
        self, client: discord.Client, payload: discord.RawReactionActionEvent, *, added: bool
    ) -> None:
        if payload.channel_id not in self._state.channels or client is not self._state.client:
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
            author = author_of(user)
        else:
            uid = str(payload.user_id)
            author = Author("discord", UserId(uid), uid)
        event = Reaction(
            source=chat_of(payload.channel_id),
            native_id=NativeId(str(payload.message_id)),
            emoji=name,
            added=added,
            author=author,
        )
        async with self._state.locks[payload.channel_id]:
            await self._deliver(event)


def forwarded(message: discord.Message) -> discord.MessageSnapshot | None:
    """The original of a forwarded message (None: not a forward)."""
    ref = message.reference
    if ref is None or ref.type is not discord.MessageReferenceType.forward:
        return None
    return message.message_snapshots[0] if message.message_snapshots else None


def prepend(text: RichText, head: str) -> RichText:
    shift = len(head)
    return RichText(
        head + text.text,
        tuple(replace(span, start=span.start + shift, end=span.end + shift) for span in text.spans),
    )


def embeds_text(embeds: Sequence[discord.Embed]) -> RichText:
    lines: list[str] = []
    for embed in embeds[:MAX_EMBEDS]:
        for value in (embed.title, embed.description, embed.url):
            if value:
                lines.append(clean_text(str(value), MAX_EMBED_TEXT))
        for item in embed.fields[:MAX_EMBEDS]:
            lines.append(f"{item.name}: {item.value}"[:MAX_EMBED_TEXT])
    text = "\n".join(line for line in lines if line)
    return RichText(text)
