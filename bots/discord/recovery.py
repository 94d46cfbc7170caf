"""Finding the copy a send cut short by a crash posted (``Adapter.recover``).

Discord keeps no key a message can be found by, so our copy is recognised by its author (our
webhook with the relayed name, or our bot user) and its exact rendered text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC

import discord

from bots.base import NativeId, OutboundMessage, PermanentError, RetryableError, RichText
from bots.discord.common import (
    NOTICE_LINE,
    RECOVER_LIMIT,
    RECOVER_MARGIN,
    Sent,
    append,
    bot_prefix,
    channel_id_of,
    found_kinds,
    render,
    reply_prefix,
    safe_filename,
    webhook_username,
)
from bots.discord.outbound import DiscordOutbound
from bots.discord.state import DiscordState
from bots.discord.webhooks import Webhooks
from bridge.formatting import human_size

__all__ = ["Recovery"]

log = logging.getLogger(__name__)


class Recovery:
    def __init__(self, state: DiscordState, webhooks: Webhooks, outbound: DiscordOutbound) -> None:
        self._state = state
        self._webhooks = webhooks
        self._outbound = outbound

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
            async with asyncio.timeout(self._state.timeout):
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
        self._outbound.remember(found)
        return NativeId(str(found.part_ids[0]))

    async def _recover(self, delivery: OutboundMessage) -> Sent | None:
        client = self._state.connected_client()
        channel_id = channel_id_of(delivery.target)
        channel = await self._state.channel(client, channel_id)
        if isinstance(channel, discord.TextChannel):
            # A restarted adapter may not know the channel's webhook yet.
            with contextlib.suppress(discord.HTTPException, RetryableError, PermanentError):
                await self._webhooks.webhook_for(channel, create=False)
        elif channel_id in self._webhooks.configured:
            self._webhooks.configured_webhook(client, channel_id)
        text, loose = expected_text(delivery, self._state.max_bytes)
        sent_at = delivery.sent_at
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        after = sent_at - RECOVER_MARGIN
        target = client.get_partial_messageable(channel_id)
        history = [
            m async for m in target.history(limit=RECOVER_LIMIT, after=after, oldest_first=False)
        ]
        history.sort(key=lambda m: m.id)
        files = bool(delivery.attachments)
        if not delivery.is_announcement:
            username = webhook_username(delivery.author.display_name, delivery.source.platform)
            prefix = reply_prefix(channel, delivery)
            hooked = [
                m
                for m in history
                if m.webhook_id is not None
                and m.webhook_id in self._state.own_webhooks
                and m.author.name == username
            ]
            rendered = render(text, prefix)
            found = find_copy(hooked, rendered, loose=loose, files=files)
            if found is not None:
                ids, complete = found
                webhook_id = next(m.webhook_id or 0 for m in hooked if m.id == ids[0])
                if complete:
                    return Sent(webhook_id, ids, prefix, found_kinds(ids, rendered, files))
                hook = await self._webhooks.by_id(client, channel_id, webhook_id)
                if hook is not None:
                    await self._outbound.undo(ids, lambda mid: hook.delete_message(mid))
                return None
        me = client.user.id if client.user is not None else None
        posted = [m for m in history if m.webhook_id is None and m.author.id == me]
        contents = render(text, bot_prefix(delivery), newline=False)
        found = find_copy(posted, contents, loose=loose, files=files)
        if found is None:
            return None
        ids, complete = found
        if complete:
            return Sent(None, ids, "", found_kinds(ids, contents, files))
        await self._outbound.undo(ids, lambda mid: target.get_partial_message(mid).delete())
        return None


def expected_text(delivery: OutboundMessage, max_bytes: int) -> tuple[RichText, bool]:
    """The text ``send`` posts for ``delivery``, with the notices known without fetching a file,
    and whether a file fetched by URL may have added another notice."""
    notices: list[str] = []
    loose = False
    for attachment in delivery.attachments:
        name = safe_filename(attachment.filename)
        if attachment.size is not None and attachment.size > max_bytes:
            notices.append(f"[file too large to relay: {name} ({human_size(attachment.size)})]")
        elif attachment.data is not None:
            if len(attachment.data) > max_bytes:
                size = human_size(len(attachment.data))
                notices.append(f"[file too large to relay: {name} ({size})]")
        elif attachment.url is not None:
            loose = True
    text = append(delivery.text, "\n".join(notices)) if notices else delivery.text
    return text, loose


def without_notices(content: str) -> str:
    lines = content.strip().split("\n")
    while lines and NOTICE_LINE.fullmatch(lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def same_part(content: str, expected: str, *, loose: bool) -> bool:
    # Discord trims the whitespace around a message's content.
    if content.strip() == expected.strip():
        return True
    return loose and without_notices(content) == without_notices(expected)


def find_copy(
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
        i for i, m in enumerate(mine) if same_part(m.content, first, loose=loose and last <= 0)
    ]
    if not starts:
        return None
    at = starts[-1]
    ids = [mine[at].id]
    for index in range(1, len(contents)):
        at += 1
        if at >= len(mine) or not same_part(
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
