"""The bridge's copies on Telegram: send (in parts), edit, delete, react.

A relayed message longer than Telegram's 4096 UTF-16 units is sent in parts (a file's caption
holds 1,024; the rest follows as text). Its native id is the first part's id; how the copy was
laid out is recorded (memory, and the store through ``parts``), so edits rewrite, add and delete
parts and deletes reach every part, after a restart too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from telegram import Message, ReactionTypeEmoji, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, TelegramError

from bots.base import (
    Attachment,
    Author,
    ChatRef,
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    RichText,
    Span,
)
from bots.telegram.common import (
    CAPTION_LIMIT,
    LRU,
    PHOTO_LIMIT,
    VERIFIED_MARK,
    TooLarge,
    Unavailable,
    chat_id_of,
    concat,
    delivery_error,
    display_safe,
    message_id_of,
    reaction_emoji,
    to_entities,
)
from bots.telegram.files import TelegramFiles
from bots.telegram.session import BotSession
from bots.telegram.text import from_telegram, split_for_telegram, to_telegram
from bridge.formatting import human_size, split_rich, utf16_len
from bridge.store.parts import PartsMemory

__all__ = ["TelegramOutbound"]

log = logging.getLogger(__name__)

_TEXT: Final = "t"
_FILE: Final = "f"
_CAPTIONED: Final = "c"
"""Kinds of the parts of a copy: a text message, a file, the file that carries the caption."""


class TelegramOutbound:
    """Posts and maintains the bridge's copies (the outbox's deliveries)."""

    def __init__(
        self, session: BotSession, files: TelegramFiles, memory: PartsMemory | None
    ) -> None:
        self._session = session
        self._files = files
        self._memory = memory
        # (chat, first part id) -> the other parts of a split message
        self._parts: LRU[tuple[int, int], list[tuple[int, str]]] = LRU()
        # idempotency key -> ids already posted by an interrupted multi-part send
        self._progress: LRU[str, list[int]] = LRU()
        # (chat, message) -> the emoji the bridge shows on it ("" none; a bot has one)
        self._reactions: LRU[tuple[int, int], str] = LRU()

    def _display_name(self, author: Author) -> str:
        """The name shown in the bold header.

        An author the bridge's records show with a verified NFT avatar (``author.verified``,
        set by the core) gets a small mark: Telegram cannot show a per-message avatar, so the
        name is all there is. Names never carry a mark of their own (``bridge.names``).
        """
        name = display_safe(author.display_name)
        if author.verified:
            name = f"{name} {VERIFIED_MARK}"
        return name

    def _header(self, author: Author, source: ChatRef) -> RichText:
        name = self._display_name(author)
        return RichText(f"{name} ({source.platform}): ", (Span("bold", 0, len(name)),))

    def _with_header(self, author: Author, source: ChatRef, text: RichText) -> RichText:
        return concat(self._header(author, source), text)

    def _target(self, ref: ChatRef) -> int:
        chat = chat_id_of(ref)
        return self._session.migrated.get(chat, chat)

    async def send(self, delivery: OutboundMessage) -> NativeId:
        rich = (
            delivery.text
            if delivery.is_announcement
            else self._with_header(delivery.author, delivery.source, delivery.text)
        )
        # Every file of a message carries the sender's name, not only the first.
        label = RichText("")
        if not delivery.is_announcement:
            header = self._header(delivery.author, delivery.source)
            label = RichText(header.text.removesuffix(": "), header.spans)
        chat = self._target(delivery.target)
        reply_to = message_id_of(delivery.reply_to) if delivery.reply_to is not None else None
        try:
            posted = await self._post(
                delivery.idempotency_key, chat, rich, label, delivery, reply_to
            )
        except ChatMigrated as exc:
            self._session.migrated[chat] = exc.new_chat_id
            log.warning(
                "Telegram group %d is now supergroup %d: sending there; update the room config",
                chat,
                exc.new_chat_id,
            )
            try:
                posted = await self._post(
                    delivery.idempotency_key, exc.new_chat_id, rich, label, delivery, None
                )
            except TelegramError as again:
                raise delivery_error(again) from again
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        self._progress.pop(delivery.idempotency_key)
        first = posted[0][0]
        if len(posted) > 1 or posted[0][1] == _CAPTIONED:
            await self._keep_layout(chat_id_of(delivery.target), first, posted)
        return NativeId(str(first))

    async def _keep_layout(self, chat: int, first: int, layout: list[tuple[int, str]]) -> None:
        """Remember how a copy was posted (memory, and the store across restarts)."""
        self._parts[(chat, first)] = layout
        if self._memory is None:
            return
        try:
            await self._memory.put(str(chat), str(first), [list(p) for p in layout])
        except Exception:
            log.exception("Telegram: could not record the parts of %d/%d", chat, first)

    async def _layout(self, chat: int, first: int) -> list[tuple[int, str]]:
        known = self._parts.get((chat, first))
        if known is None and self._memory is not None:
            try:
                raw = await self._memory.get(str(chat), str(first))
            except Exception:
                log.exception("Telegram: could not read the parts of %d/%d", chat, first)
                raw = None
            known = _parse_layout(raw)
            if known:
                self._parts[(chat, first)] = known
        return known or [(first, _TEXT)]

    async def _post(
        self,
        key: str,
        chat: int,
        rich: RichText,
        label: RichText,
        delivery: OutboundMessage,
        reply_to: int | None,
    ) -> list[tuple[int, str]]:
        """Post every part of a message; on a retry, skip the parts an earlier attempt posted.
        Returns (message id, kind) per part: ``_CAPTIONED``, ``_FILE`` or ``_TEXT``."""
        steps = await self._plan(rich, label, delivery.attachments)
        done = self._progress.get(key) or []
        self._progress[key] = done
        for i, step in enumerate(steps):
            if i < len(done):
                continue
            reply = (
                ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to is not None and i == 0
                else None
            )
            done.append(await self._post_one(chat, step, reply))
        kinds = [_TEXT if att is None else _FILE for _, att, _ in steps]
        if _FILE in kinds:
            kinds[kinds.index(_FILE)] = _CAPTIONED
        return list(zip(done, kinds, strict=True))

    async def _plan(
        self, rich: RichText, label: RichText, attachments: Sequence[Attachment]
    ) -> list[tuple[RichText, Attachment | None, bytes | None]]:
        """The messages to send, in order: (text or caption, file, its bytes)."""
        files: list[tuple[Attachment, bytes]] = []
        notices: list[str] = []
        for att in attachments:
            try:
                data = await self._files.outbound(att)
            except TooLarge as exc:
                size = att.size if att.size is not None else exc.size
                notices.append(f"[file too large to relay: {att.filename} ({human_size(size)})]")
                continue
            except Unavailable:
                notices.append(f"[file could not be relayed: {att.filename}]")
                continue
            files.append((att, data))
        if notices:
            rich = concat(rich, RichText("\n" + "\n".join(notices)))
        steps: list[tuple[RichText, Attachment | None, bytes | None]] = []
        rest = rich
        if files:
            caption, rest = _caption_and_rest(rich)
            for i, (att, data) in enumerate(files):
                steps.append((caption if i == 0 else label, att, data))
        for text, entities in split_for_telegram(rest):
            steps.append((_to_rich(text, entities), None, None))
        return steps

    async def _post_one(
        self,
        chat: int,
        step: tuple[RichText, Attachment | None, bytes | None],
        reply: ReplyParameters | None,
    ) -> int:
        rich, att, data = step
        text, raw = to_telegram(rich)
        entities = to_entities(raw) if raw else None
        if att is None or data is None:
            sent = await self._session.bot.send_message(
                chat, text, entities=entities, reply_parameters=reply
            )
            return sent.message_id
        caption = text or None
        bot = self._session.bot
        # Photos and GIFs (or GIF-like videos) show inline; anything Telegram refuses that way
        # goes as a file.
        inline: tuple[Callable[..., Awaitable[Message]], str] | None = None
        if att.kind == "photo" and len(data) <= PHOTO_LIMIT:
            inline = (bot.send_photo, "a photo")
        elif att.kind == "animation":
            inline = (bot.send_animation, "an animation")
        if inline is not None:
            send_inline, what = inline
            try:
                sent = await send_inline(
                    chat,
                    data,
                    caption=caption,
                    caption_entities=entities,
                    reply_parameters=reply,
                    filename=att.filename,
                )
                return sent.message_id
            except BadRequest as exc:  # not something Telegram can show inline
                log.info("Telegram refused %s (%s); sending it as a file", what, exc.message)
        sent = await self._session.bot.send_document(
            chat,
            data,
            caption=caption,
            caption_entities=entities,
            reply_parameters=reply,
            filename=att.filename,
        )
        return sent.message_id

    async def edit(self, delivery: OutboundEdit) -> None:
        """Rewrite every part of the copy: the caption of its file (1,024 units), then the
        text parts, sending new parts when the text grew and deleting those it no longer
        needs (the layout is recorded, so this holds after a restart too)."""
        key_chat = chat_id_of(delivery.target)
        chat = self._target(delivery.target)
        first = message_id_of(delivery.native_id)
        rich = self._with_header(delivery.author, delivery.source, delivery.text)
        layout = await self._layout(key_chat, first)
        captioned = [mid for mid, kind in layout if kind == _CAPTIONED]
        if captioned:
            caption, rest = _caption_and_rest(rich)
            texts = split_for_telegram(rest) if rest.text else []
        else:
            texts = split_for_telegram(rich)
        old_texts = [mid for mid, kind in layout if kind == _TEXT]
        kept = [(mid, kind) for mid, kind in layout if kind != _TEXT]
        try:
            if captioned:
                await self._edit_caption(chat, captioned[0], caption)
            for i, (text, entities) in enumerate(texts):
                if i < len(old_texts):
                    await self._edit_one(chat, old_texts[i], text, entities)
                    kept.append((old_texts[i], _TEXT))
                    continue
                # The new text is longer: the overflow follows as new messages, remembered at
                # once so that a retry of this edit rewrites them instead of posting them again.
                sent = await self._session.bot.send_message(
                    chat, text, entities=to_entities(entities)
                )
                kept.append((sent.message_id, _TEXT))
                await self._keep_layout(key_chat, first, list(kept))
            stale = old_texts[len(texts) :]
            if stale:
                await self._session.bot.delete_messages(chat, stale)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        if kept != layout:
            await self._keep_layout(key_chat, first, kept)

    async def _edit_caption(self, chat: int, mid: int, caption: RichText) -> None:
        text, raw = to_telegram(caption)
        try:
            await self._session.bot.edit_message_caption(
                chat_id=chat, message_id=mid, caption=text, caption_entities=to_entities(raw)
            )
        except BadRequest as exc:
            if "message is not modified" not in exc.message.lower():
                raise

    async def _edit_one(
        self, chat: int, mid: int, text: str, entities: list[dict[str, Any]]
    ) -> None:
        try:
            await self._session.bot.edit_message_text(
                text, chat_id=chat, message_id=mid, entities=to_entities(entities)
            )
        except BadRequest as exc:
            lowered = exc.message.lower()
            if "message is not modified" in lowered:
                return
            if "no text in the message" not in lowered:
                raise
            # A file with a caption: edit the caption instead (shorter limit).
            pieces = split_rich(_to_rich(text, entities), CAPTION_LIMIT, measure="utf16")
            caption, raw = to_telegram(pieces[0])
            try:
                await self._session.bot.edit_message_caption(
                    chat_id=chat, message_id=mid, caption=caption, caption_entities=to_entities(raw)
                )
            except BadRequest as again:
                if "message is not modified" not in again.message.lower():
                    raise

    async def delete(self, delivery: OutboundDelete) -> None:
        key_chat = chat_id_of(delivery.target)
        chat = self._target(delivery.target)
        first = message_id_of(delivery.native_id)
        ids = [mid for mid, _ in await self._layout(key_chat, first)]
        try:
            if len(ids) == 1:
                await self._session.bot.delete_message(chat, first)
            else:
                # deleteMessages skips messages that are already gone.
                await self._session.bot.delete_messages(chat, ids)
        except BadRequest as exc:
            if "message to delete not found" not in exc.message.lower():
                raise delivery_error(exc) from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        if self._parts.pop((key_chat, first)) is not None and self._memory is not None:
            with contextlib.suppress(Exception):
                await self._memory.forget(str(key_chat), str(first))

    async def react(self, delivery: OutboundReaction) -> None:
        # A bot shows one reaction per message: the most used emoji of the people elsewhere
        # that Telegram offers (the list is most used first), or none once nobody has one.
        chat = chat_id_of(delivery.target)
        mid = message_id_of(delivery.native_id)
        key = (chat, mid)
        current = self._reactions.get(key)  # "" = none shown; None = unknown (a restart)
        if delivery.counts is not None:
            chosen = next((e for e in (reaction_emoji(em) for em, _ in delivery.counts) if e), None)
        else:  # a row queued by an older bridge: this person's change alone
            emoji = reaction_emoji(delivery.emoji)
            if emoji is None or (not delivery.added and current not in (None, emoji)):
                return
            chosen = emoji if delivery.added else None
        if current is not None and current == (chosen or ""):
            return  # what the bridge shows stays the same
        if current is None and chosen is None and reaction_emoji(delivery.emoji) is None:
            return  # nothing Telegram could have shown
        try:
            await self._session.bot.set_message_reaction(
                chat, mid, [ReactionTypeEmoji(chosen)] if chosen is not None else []
            )
        except BadRequest as exc:
            # The chat limits reactions, or the message is gone: nothing to retry.
            log.info("Telegram: reaction %s on %d/%d refused: %s", chosen, chat, mid, exc.message)
            return
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        self._reactions[key] = chosen or ""


def _parse_layout(raw: Any) -> list[tuple[int, str]] | None:
    if not isinstance(raw, list) or not raw:
        return None
    layout: list[tuple[int, str]] = []
    for item in raw:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], int)
            or item[1] not in (_TEXT, _FILE, _CAPTIONED)
        ):
            return None
        layout.append((item[0], item[1]))
    return layout


def _caption_and_rest(rich: RichText) -> tuple[RichText, RichText]:
    """A file's caption (Telegram allows 1,024 UTF-16 units) and the text that follows it."""
    if utf16_len(rich.text) <= CAPTION_LIMIT:
        return rich, RichText("")
    pieces = split_rich(rich, CAPTION_LIMIT, measure="utf16")
    return pieces[0], concat(*pieces[1:])


def _to_rich(text: str, raw: Sequence[Mapping[str, Any]]) -> RichText:
    return from_telegram(text, raw)
