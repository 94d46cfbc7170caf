"""Telegram updates -> the bridge's neutral ``Inbound`` events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from telegram import (
    Chat,
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    MessageReactionUpdated,
    ReactionTypeEmoji,
    Update,
    User,
)
from telegram.error import TelegramError

from bots.base import (
    Author,
    EditMessage,
    Inbound,
    NativeId,
    NewMessage,
    Reaction,
    RichText,
    UserId,
)
from bots.telegram.commands import TelegramCommands
from bots.telegram.common import DownloadFailed, SinkFailure, concat, display_safe
from bots.telegram.files import TelegramFiles
from bots.telegram.ids import TelegramChatId, telegram_chat
from bots.telegram.session import BotSession
from bots.telegram.text import from_telegram
from bridge.names import clean_text

__all__ = ["TelegramInbound"]

log = logging.getLogger(__name__)

_ANONYMOUS_ADMIN_BOT: Final = 1087968824  # @GroupAnonymousBot, the "from" of anonymous admins
_MAX_POLL_OPTIONS: Final = 12


class TelegramInbound:
    """Turns one update into events for the sink (commands too: the sink answers them)."""

    def __init__(
        self,
        session: BotSession,
        files: TelegramFiles,
        commands: TelegramCommands,
        deliver: Callable[[Inbound], Awaitable[None]],
    ) -> None:
        self._session = session
        self._files = files
        self._commands = commands
        self._deliver = deliver

    async def process(self, update: Update, *, final_attempt: bool) -> None:
        try:
            if update.message is not None:
                await self._on_message(update.message, final_attempt=final_attempt)
            elif update.edited_message is not None:
                await self._on_edit(update.edited_message)
            elif update.message_reaction is not None:
                await self._on_reaction(update.message_reaction)
            elif update.callback_query is not None:
                with contextlib.suppress(TelegramError):
                    await update.callback_query.answer()
        except SinkFailure as failure:
            raise failure.cause from None
        except DownloadFailed:
            raise  # transient: retried (a bounded number of times)
        except Exception:
            # A malformed or unexpected update must not block the chat forever.
            log.exception("Telegram update %d skipped: cannot convert it", update.update_id)

    def _author(self, user: User | None, sender_chat: Chat | None) -> Author | None:
        if sender_chat is not None and (user is None or user.id == _ANONYMOUS_ADMIN_BOT):
            # An anonymous admin or a linked channel speaks as the chat itself.
            return Author(
                "telegram",
                UserId(str(sender_chat.id)),
                display_safe(sender_chat.title or sender_chat.username or "anonymous"),
                username=sender_chat.username,
            )
        if user is None or user.is_bot:
            return None
        return Author(
            "telegram",
            UserId(str(user.id)),
            display_safe(user.full_name),
            username=user.username,
            is_bot=user.is_bot,
        )

    def _note_migration(self, message: Message) -> bool:
        migrated = self._session.migrated
        if message.migrate_to_chat_id is not None:
            migrated[message.chat.id] = message.migrate_to_chat_id
            log.warning(
                "Telegram group %d was upgraded to supergroup %d: replace %d with %d in the "
                "room config; until then messages from it are not relayed",
                message.chat.id,
                message.migrate_to_chat_id,
                message.chat.id,
                message.migrate_to_chat_id,
            )
            return True
        if message.migrate_from_chat_id is not None:
            migrated[message.migrate_from_chat_id] = message.chat.id
            log.warning(
                "Telegram supergroup %d replaces group %d: update the room config",
                message.chat.id,
                message.migrate_from_chat_id,
            )
            return True
        return False

    async def _on_message(self, message: Message, *, final_attempt: bool) -> None:
        if self._note_migration(message):
            return
        author = self._author(message.from_user, message.sender_chat)
        if author is None:
            return  # bots (including other bridges) are not relayed: no loops
        text = message.text
        command = self._commands.command(message, text, author) if text is not None else None
        if command is not None:
            await self._sink_event(command)
            return
        body = text if text is not None else (message.caption or "")
        entities = message.entities if text is not None else message.caption_entities
        rich = from_telegram(body, [e.to_dict() for e in entities])
        attachments, notices = await self._files.inbound(message, final_attempt=final_attempt)
        other = _other_content(message)
        if other:
            notices.append(other)
        if notices:
            suffix = "\n".join(notices)
            rich = concat(rich, RichText(("\n" if rich.text else "") + suffix))
        if not rich.text and not attachments:
            return  # service messages (joins, pins, ...) are not conversation
        origin = _forwarded_from(message)
        if origin:
            rich = concat(RichText(f"[forwarded from {origin}]\n"), rich)
        reply_to = None
        parent = message.reply_to_message
        # In forum topics every message "replies" to the topic's first message.
        if parent is not None and not (
            message.is_topic_message and parent.message_id == message.message_thread_id
        ):
            reply_to = NativeId(str(parent.message_id))
        await self._sink_event(
            NewMessage(
                source=telegram_chat(TelegramChatId(message.chat.id)),
                native_id=NativeId(str(message.message_id)),
                author=author,
                text=rich,
                timestamp=_aware(message.date),
                reply_to=reply_to,
                attachments=tuple(attachments),
            )
        )

    async def _sink_event(self, event: Inbound) -> None:
        try:
            await self._deliver(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise SinkFailure(exc) from exc

    async def _on_edit(self, message: Message) -> None:
        if self._author(message.from_user, message.sender_chat) is None:
            return
        text = message.text
        if text is not None and self._commands.is_command(text):
            return
        body = text if text is not None else (message.caption or "")
        entities = message.entities if text is not None else message.caption_entities
        await self._sink_event(
            EditMessage(
                source=telegram_chat(TelegramChatId(message.chat.id)),
                native_id=NativeId(str(message.message_id)),
                text=from_telegram(body, [e.to_dict() for e in entities]),
                timestamp=_aware(message.edit_date or message.date),
            )
        )

    async def _on_reaction(self, update: MessageReactionUpdated) -> None:
        if update.user is not None and update.user.id == self._session.bot.id:
            return  # our own reaction: an echo
        author = self._author(update.user, update.actor_chat)
        if author is None:
            return

        def emoji(reactions: Sequence[object]) -> list[str]:
            return [r.emoji for r in reactions if isinstance(r, ReactionTypeEmoji)]

        old, new = emoji(update.old_reaction), emoji(update.new_reaction)
        source = telegram_chat(TelegramChatId(update.chat.id))
        native = NativeId(str(update.message_id))
        for removed in [e for e in old if e not in new]:
            await self._sink_event(Reaction(source, native, removed, False, author))
        for added in [e for e in new if e not in old]:
            await self._sink_event(Reaction(source, native, added, True, author))


def _one_line(text: str, limit: int = 300) -> str:
    return clean_text(text, limit)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _forwarded_from(message: Message) -> str | None:
    """Who a forwarded message came from, as Telegram shows it (None: not forwarded)."""
    origin = message.forward_origin
    if origin is None:
        return None
    name: str | None = None
    if isinstance(origin, MessageOriginUser):
        name = origin.sender_user.full_name
    elif isinstance(origin, MessageOriginHiddenUser):
        name = origin.sender_user_name
    elif isinstance(origin, MessageOriginChat):
        name = origin.sender_chat.title or origin.sender_chat.username
    elif isinstance(origin, MessageOriginChannel):
        name = origin.chat.title or origin.chat.username
        if origin.author_signature:
            name = f"{name} ({origin.author_signature})"
    return display_safe(name or "someone")


def _other_content(message: Message) -> str | None:
    """A short notice for content that has no file and no text (so it is not silently lost)."""
    if message.poll is not None:
        poll = message.poll
        lines = [f"[poll: {_one_line(poll.question)}]"]
        lines += [f"• {_one_line(o.text)}" for o in poll.options[:_MAX_POLL_OPTIONS]]
        return "\n".join(lines)
    if message.venue is not None:
        return f"[venue: {message.venue.title}]"
    if message.location is not None:
        loc = message.location
        return f"[location: {loc.latitude:.5f}, {loc.longitude:.5f}]"
    if message.contact is not None:
        # The phone number was shared in the message itself, by the person who sent it.
        contact = message.contact
        name = display_safe(" ".join(p for p in (contact.first_name, contact.last_name) if p))
        return f"[contact: {name}, {_one_line(contact.phone_number)}]"
    if message.dice is not None:
        return f"[{message.dice.emoji} {message.dice.value}]"
    return None
