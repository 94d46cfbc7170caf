"""The bridge's copies on Discord: send (through the channel's webhook, or as the bot with a
bold name), edit, delete, react.

A copy's native id is its first Discord message id. A text longer than 2000 characters is
posted as several messages; the parts are recorded (in memory, and in the store through
``parts``) so that a delete removes all of them and an edit rewrites them, posting more when the
text grew and deleting those it no longer needs, after a restart too.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import io
import logging
from collections.abc import Sequence
from typing import Any

import discord

from bots.base import (
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    RetryableError,
    RichText,
)
from bots.discord.common import (
    MAX_REMEMBERED,
    REPLY_PREFIX,
    UNKNOWN_EMOJI,
    UNKNOWN_WEBHOOK,
    Sent,
    append,
    avatar_url,
    bot_header,
    bot_prefix,
    channel_id_of,
    is_unicode_emoji,
    message_id_of,
    part_kinds,
    plan_parts,
    render,
    reply_prefix,
    webhook_username,
)
from bots.discord.files import DiscordFiles
from bots.discord.state import DiscordState
from bots.discord.webhook_send import WebhookSender
from bots.discord.webhooks import Webhooks
from bridge.store.parts import PartsMemory

__all__ = ["DiscordOutbound"]

log = logging.getLogger(__name__)


class DiscordOutbound:
    def __init__(
        self,
        state: DiscordState,
        webhooks: Webhooks,
        files: DiscordFiles,
        memory: PartsMemory | None,
    ) -> None:
        self._state = state
        self._webhooks = webhooks
        self._files = files
        self._memory = memory
        self._sent: collections.OrderedDict[int, Sent] = collections.OrderedDict()
        self._text_sender = WebhookSender()

    async def send(self, delivery: OutboundMessage) -> NativeId:
        client = self._state.connected_client()
        channel_id = channel_id_of(delivery.target)
        async with self._state.errors("send"):
            channel = await self._state.channel(client, channel_id)
            files, notices = await self._files.outbound(delivery.attachments)
            text = delivery.text
            if notices:
                text = append(text, "\n".join(notices))
            webhook = None
            if delivery.is_announcement:
                pass  # the bridge speaks as its bot user, not through a relayed identity
            elif isinstance(channel, discord.TextChannel):
                webhook = await self._webhooks.webhook_for(channel, create=True)
            elif channel_id in self._webhooks.configured:
                webhook = self._webhooks.configured_webhook(client, channel_id)
            if webhook is not None:
                sent = await self._send_webhook(webhook, channel, delivery, text, files)
            else:
                sent = await self._send_bot(client, channel_id, delivery, text, files)
        await self.keep(channel_id, sent)
        return NativeId(str(sent.part_ids[0]))

    async def _send_webhook(
        self,
        webhook: discord.Webhook,
        channel: Any,
        delivery: OutboundMessage,
        text: RichText,
        files: list[tuple[str, bytes]],
    ) -> Sent:
        prefix = reply_prefix(channel, delivery)
        contents = render(text, prefix)
        avatar = avatar_url(delivery.author.avatar_url)
        username = webhook_username(delivery.author.display_name, delivery.source.platform)
        ids: list[int] = []
        plan = plan_parts(contents, files, self._state.max_bytes)
        try:
            for content, batch in plan:
                if content is not None and not batch:
                    ids.append(
                        await self._text_sender.send_text(
                            webhook, content=content, username=username, avatar_url=avatar
                        )
                    )
                    continue
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
            if isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_WEBHOOK:
                self._webhooks.forget(webhook)
                raise RetryableError("the channel's webhook was deleted") from exc
            await self.undo(ids, lambda mid: webhook.delete_message(mid))
            raise
        return Sent(webhook.id, tuple(ids), prefix, part_kinds(plan))

    async def _send_bot(
        self,
        client: discord.Client,
        channel_id: int,
        delivery: OutboundMessage,
        text: RichText,
        files: list[tuple[str, bytes]],
    ) -> Sent:
        target = client.get_partial_messageable(channel_id)
        contents = render(text, bot_prefix(delivery), newline=False)
        reply: dict[str, Any] = {}
        if delivery.reply_to is not None and delivery.reply_to.isdigit():
            reply["reference"] = discord.MessageReference(
                message_id=int(delivery.reply_to), channel_id=channel_id, fail_if_not_exists=False
            )
        # Discord keeps a nonce for a few minutes: a retry after a lost answer is not doubled.
        base = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:20]
        ids: list[int] = []
        plan = plan_parts(contents, files, self._state.max_bytes)
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
            await self.undo(ids, lambda mid: target.get_partial_message(mid).delete())
            raise
        return Sent(None, tuple(ids), "", part_kinds(plan))

    async def undo(self, ids: Sequence[int], delete: Any) -> None:
        """Remove the parts already posted, so that the retry does not repeat them."""
        for message_id in ids:
            self._state.mark_self_deleted(message_id)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._state.timeout):
                    await delete(message_id)

    async def edit(self, delivery: OutboundEdit) -> None:
        client = self._state.connected_client()
        channel_id = channel_id_of(delivery.target)
        message_id = message_id_of(delivery.native_id)
        async with self._state.errors("edit"):
            sent = await self.sent_record(client, channel_id, message_id)
            if sent is None:
                raise PermanentError(f"message {message_id} is gone from channel {channel_id}")
            target = client.get_partial_messageable(channel_id)
            if sent.webhook_id is not None:
                hook = await self._webhooks.by_id(client, channel_id, sent.webhook_id)
                if hook is None:
                    raise PermanentError("the webhook that posted this message is gone")
                webhook = hook
                contents = render(delivery.text, sent.prefix)

                async def rewrite(part_id: int, content: str) -> None:
                    await webhook.edit_message(
                        part_id, content=content, allowed_mentions=discord.AllowedMentions.none()
                    )

                async def remove(part_id: int) -> None:
                    await webhook.delete_message(part_id)

            else:
                header = bot_header(delivery.author.display_name, delivery.source.platform)
                contents = render(delivery.text, header, newline=False)

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
                    self._state.mark_self_deleted(ids[index])
                    with contextlib.suppress(discord.NotFound):
                        await remove(ids[index])
                    kinds[index] = "-"
            finally:
                kept = [(i, k) for i, k in zip(ids, kinds, strict=True) if k != "-"]
                updated = Sent(
                    sent.webhook_id,
                    tuple(i for i, _ in kept),
                    sent.prefix,
                    "".join(k for _, k in kept),
                )
                if updated != sent:
                    await self.keep(channel_id, updated, changed=True)

    async def _post_part(
        self,
        client: discord.Client,
        channel_id: int,
        sent: Sent,
        delivery: OutboundEdit,
        content: str,
    ) -> int:
        """Post one more part of a copy whose text grew, as the copy was posted."""
        if sent.webhook_id is not None:
            hook = await self._webhooks.by_id(client, channel_id, sent.webhook_id)
            if hook is None:
                raise PermanentError("the webhook that posted this message is gone")
            avatar = avatar_url(delivery.author.avatar_url)
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
        client = self._state.connected_client()
        channel_id = channel_id_of(delivery.target)
        message_id = message_id_of(delivery.native_id)
        async with self._state.errors("delete"):
            sent = await self.sent_record(client, channel_id, message_id)
            if sent is None:
                return  # already deleted
            webhook = None
            if sent.webhook_id is not None:
                webhook = await self._webhooks.by_id(client, channel_id, sent.webhook_id)
            target = client.get_partial_messageable(channel_id)
            for part_id in sent.part_ids:
                self._state.mark_self_deleted(part_id)
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
        client = self._state.connected_client()
        if not is_unicode_emoji(delivery.emoji):
            return  # a custom emoji from elsewhere has no Discord equivalent
        channel_id = channel_id_of(delivery.target)
        message = client.get_partial_messageable(channel_id).get_partial_message(
            message_id_of(delivery.native_id)
        )
        async with self._state.errors("react"):
            try:
                if delivery.added:
                    await message.add_reaction(delivery.emoji)
                elif client.user is not None:
                    await message.remove_reaction(delivery.emoji, client.user)
            except discord.NotFound as exc:
                if delivery.added and exc.code != UNKNOWN_EMOJI:
                    raise
            except discord.HTTPException as exc:
                if exc.code != UNKNOWN_EMOJI:
                    raise

    async def keep(self, channel_id: int, sent: Sent, *, changed: bool = False) -> None:
        """Remember how a copy was posted: in memory, and in the store when it took several
        messages (an edit or delete after a restart must reach every part) or an edit
        ``changed`` a recorded layout (which must not outlive the parts it names)."""
        self.remember(sent)
        if self._memory is None or (len(sent.part_ids) < 2 and not changed):
            return
        try:
            await self._memory.put(str(channel_id), str(sent.part_ids[0]), sent.to_json())
        except Exception:
            log.exception("Discord: could not record the parts of %s", sent.part_ids[0])

    def remember(self, sent: Sent) -> None:
        self._sent[sent.part_ids[0]] = sent
        while len(self._sent) > MAX_REMEMBERED:
            self._sent.popitem(last=False)

    async def sent_record(
        self, client: discord.Client, channel_id: int, message_id: int
    ) -> Sent | None:
        """How ``message_id`` was posted: remembered, or read back from Discord; None if gone."""
        sent = self._sent.get(message_id)
        if sent is not None:
            return sent
        if self._memory is not None:
            try:
                sent = Sent.from_json(await self._memory.get(str(channel_id), str(message_id)))
            except Exception:
                log.exception("Discord: could not read the parts of %s", message_id)
            if sent is not None and sent.part_ids[0] == message_id:
                self.remember(sent)
                return sent
        try:
            message = await client.get_partial_messageable(channel_id).fetch_message(message_id)
        except discord.NotFound:
            return None
        prefix = ""
        if message.webhook_id is not None and message.content.startswith(REPLY_PREFIX):
            prefix = message.content.split("\n", 1)[0]
        return Sent(message.webhook_id, (message_id,), prefix, "a" if message.attachments else "t")
