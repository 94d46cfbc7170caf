"""Bridge commands on Matrix: ``!name args`` -> ``Command`` events for the sink, and answers.

Matrix clients keep ``/`` for their own commands, so the bridge's start with ``!``; text that
starts with ``!`` but names no bridge command stays an ordinary message. Answers are notices
from the bot in the room; a private answer (a one-time link) goes to the person's direct room
with the bot instead (``bots.matrix.direct``), and the room is told where to look.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

import aiohttp
from mautrix.errors import IntentError, MatrixConnectionError, MatrixRequestError
from mautrix.types import RoomID

from bridge.commands import (
    Command,
    CommandReply,
    CommandRequest,
    CommandSpec,
    parse_command_text,
    split_args,
)
from bridge.model import Author, ChatRef, NativeId, RichText

__all__ = ["POST_ERRORS", "MatrixCommands"]

POST_ERRORS: Final = (
    IntentError,
    MatrixRequestError,
    MatrixConnectionError,
    aiohttp.ClientError,
    TimeoutError,
)
"""What a notice from the bot that cannot be posted raises: the homeserver refuses (the bot is
not in the room, the user is unknown) or cannot be reached."""

log = logging.getLogger(__name__)


class _Adapter(Protocol):
    async def say(self, room: RoomID, text: str) -> None: ...

    async def send_private(self, user_id: str, text: str) -> bool: ...

    async def is_direct(self, room: str, user_id: str) -> bool: ...


class MatrixCommands:
    def __init__(
        self, adapter: _Adapter, specs: Sequence[CommandSpec], admins: Iterable[str]
    ) -> None:
        self._adapter = adapter
        self._names = frozenset(spec.name for spec in specs)
        self._admins = frozenset(admins)

    async def command(
        self,
        chat: ChatRef,
        room: str,
        author: Author,
        event_id: str,
        text: RichText,
        reply_to: object,
    ) -> Command | None:
        """The ``Command`` event of ``!name args`` naming a bridge command, else None."""
        if not text.text.startswith("!"):
            return None
        parsed = parse_command_text("/" + text.text[1:], None)
        if parsed is None or parsed[0] not in self._names:
            return None
        name, raw = parsed
        private = await self._adapter.is_direct(room, author.user_id)
        request = CommandRequest(
            name=name,
            args=split_args(raw),
            raw_args=raw,
            chat=chat,
            author=author,
            is_private=private,
            is_admin=author.user_id in self._admins,
            reply_to=NativeId(reply_to) if isinstance(reply_to, str) else None,
            native_id=NativeId(event_id),
        )

        async def answer(reply: CommandReply) -> None:
            await self._answer(RoomID(room), author, reply, private)

        return Command(request, answer)

    async def _answer(
        self, room: RoomID, author: Author, reply: CommandReply, private: bool
    ) -> None:
        """Show a command's reply; never raises (the command itself already ran)."""
        text = reply.text
        if reply.private and not private:
            # Never in the room, where everyone could read it (a /link URL).
            if await self._adapter.send_private(author.user_id, reply.text):
                text = f"{author.user_id}: the answer is in your direct chat with me."
            else:
                text = (
                    f"{author.user_id}: that answer is private, and I could not open a "
                    "direct chat with you."
                )
        try:
            await self._adapter.say(room, text)
        except POST_ERRORS as exc:
            log.warning("could not answer a command in %s: %s", room, exc)
