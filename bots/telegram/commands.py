"""Bridge commands on Telegram: the published menu, ``/command`` messages -> ``Command`` events
for the sink, and the answers."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from telegram import BotCommand, Chat, Message, ReplyParameters
from telegram.error import Forbidden, TelegramError

from bots.base import Author, NativeId, RichText
from bots.telegram.common import display_safe, to_entities
from bots.telegram.ids import TelegramChatId, telegram_chat
from bots.telegram.session import BotSession
from bots.telegram.text import split_for_telegram
from bridge.commands import (
    Command,
    CommandReply,
    CommandRequest,
    CommandSpec,
    parse_command_text,
    split_args,
)

__all__ = ["TelegramCommands"]

log = logging.getLogger(__name__)


class TelegramCommands:
    def __init__(
        self, session: BotSession, commands: Sequence[CommandSpec], admins: Collection[int]
    ) -> None:
        self._session = session
        self._specs = tuple(commands)
        self._names = frozenset(spec.name for spec in self._specs)
        self._admins = frozenset(admins)

    async def publish(self) -> None:
        commands = [
            BotCommand(spec.name, (spec.description or spec.name)[:256]) for spec in self._specs
        ]
        try:
            await self._session.bot.set_my_commands(commands[:100])
        except TelegramError as exc:  # only the menu suffers; commands still work
            log.warning("Telegram: could not publish the command list: %s", exc)

    def is_command(self, text: str) -> bool:
        return parse_command_text(text, self._session.username) is not None

    def command(self, message: Message, text: str, author: Author) -> Command | None:
        """The ``Command`` event of ``text`` if it is a command for this bot, else None."""
        parsed = parse_command_text(text, self._session.username)
        if parsed is None:
            return None
        name, raw = parsed
        private = message.chat.type == Chat.PRIVATE
        if name not in self._names and name == "start" and private:
            name = "help"  # the DM opener: answer with the command list
        # An unknown /foo gets a short answer listing the commands; a command meant for
        # another bot names it (/foo@otherbot), and parse_command_text leaves that alone.
        user = message.from_user
        request = CommandRequest(
            name=name,
            args=split_args(raw),
            raw_args=raw,
            chat=telegram_chat(TelegramChatId(message.chat.id)),
            author=author,
            is_private=private,
            is_admin=user is not None and user.id in self._admins,
            reply_to=(
                NativeId(str(message.reply_to_message.message_id))
                if message.reply_to_message is not None
                and message.reply_to_message.message_id != message.message_thread_id
                else None
            ),
            native_id=NativeId(str(message.message_id)),
        )

        async def answer(reply: CommandReply) -> None:
            await self._answer(message, reply, private)

        return Command(request, answer)

    async def _answer(self, message: Message, reply: CommandReply, private: bool) -> None:
        """Show a command's reply; never raises (the command itself already ran)."""
        user = message.from_user
        try:
            if reply.private and not private and user is not None:
                try:
                    await self.send_plain(user.id, reply.text, None)
                    return
                except Forbidden:
                    who = f"@{user.username}" if user.username else display_safe(user.full_name)
                    hint = (
                        f"{who}, open a private chat with @{self._session.bot.username} and "
                        "press Start, then try again."
                    )
                    await self.send_plain(message.chat.id, hint, message.message_id)
                    return
            await self.send_plain(message.chat.id, reply.text, message.message_id)
        except TelegramError as exc:
            log.warning("Telegram: could not answer /command in %d: %s", message.chat.id, exc)

    async def send_plain(self, chat: int, text: str, reply_to: int | None) -> None:
        for i, (part, raw) in enumerate(split_for_telegram(RichText.plain(text))):
            await self._session.bot.send_message(
                chat,
                part,
                entities=to_entities(raw),
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to is not None and i == 0
                    else None
                ),
            )
