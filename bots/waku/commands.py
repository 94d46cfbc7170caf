"""Bridge commands on Status: a member's ``/name args`` -> a ``Command`` event, and its answer.

Status has no bot-command convention, so the bridge reads the one its other platforms' users
know: a plain Status message whose text is ``/name args`` for a registered command name is a
command, is not relayed, and is answered by the bridge in the chat, as a reply to it. Any other
``/word`` stays an ordinary message. Messages another bridge relayed (``BRIDGE_MESSAGE``) are
never commands: their authors gave them elsewhere.

What Status cannot do shapes the rest. The bridge has no way to answer one member privately
there, so a command whose answer is private (a ``/link`` sign-in link) is not run at all: the
chat is told, in public, where to use it instead. The bridge has no Status admins, so an
admin-only command is refused (by ``Commands``; the answer says why).

A command runs at most once: a restart re-reads a margin of history (``CatchUp``), so each
command message's id is recorded in the platform's kv (``waku.command.<id>``) before it runs,
and a command seen again is skipped. The records are pruned once older than any catch-up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from bots.waku.outbound import Publisher
from bots.waku.rooms import AdapterState, Room
from bots.waku.status_format import bounded_id
from bridge.commands import (
    Command,
    CommandReply,
    CommandRequest,
    CommandSpec,
    parse_command_text,
    split_args,
)
from bridge.model import Author, NativeId
from bridge.router import SYSTEM_USER_ID

__all__ = ["WakuCommands"]

log = logging.getLogger("bots.waku.adapter")

_SEEN: Final = "command."
"""kv key prefix of the command messages already taken."""
_ANSWER: Final = "answer:"
"""``BridgeMessage.messageID`` prefix of an answer (the command's Status id follows)."""


def private_notice(name: str) -> str:
    return (
        f"/{name} answers privately, and the bridge cannot answer privately on Status: "
        f"give /{name} to the bridge in a private chat on another platform of this room."
    )


class WakuCommands:
    """Tells commands from text in Status messages and answers them in the chat."""

    def __init__(
        self,
        state: AdapterState,
        publisher: Publisher,
        specs: Sequence[CommandSpec],
        bridge_name: str,
    ) -> None:
        self._state = state
        self._publisher = publisher
        self._specs = {spec.name: spec for spec in specs}
        self._bridge = Author("waku", SYSTEM_USER_ID, bridge_name, is_bot=True)

    async def prune(self, older_than: float) -> None:
        """Forget the command messages taken more than ``older_than`` seconds ago (no catch-up
        reaches that far back)."""
        if self._specs:
            await self._state.kv.prune(_SEEN, older_than)

    async def take(
        self, room: Room, native_id: NativeId, author: Author, text: str, reply_to: str | None
    ) -> Command | str | None:
        """The ``Command`` event of ``text`` if it names a registered command; None for text
        to relay; else why there is no event (the command was taken before, or needs a private
        answer and the chat has been told so)."""
        parsed = parse_command_text(text.strip(), None)
        if parsed is None or parsed[0] not in self._specs:
            return None
        name, raw = parsed
        if await self._state.kv.get(_SEEN + native_id) is not None:
            return "command_repeated"
        # Recorded before it runs: at most once, even if a crash follows.
        await self._state.kv.set(_SEEN + native_id, "1")
        spec = self._specs[name]
        if spec.private_reply:
            await self._say(room, native_id, private_notice(name))
            return "command_private"
        request = CommandRequest(
            name=name,
            args=split_args(raw),
            raw_args=raw,
            chat=room.ref,
            author=author,
            reply_to=None if reply_to is None else NativeId(reply_to),
            native_id=native_id,
        )

        async def answer(reply: CommandReply) -> None:
            await self._answer(room, native_id, spec, reply)

        return Command(request, answer)

    async def _answer(
        self, room: Room, native_id: NativeId, spec: CommandSpec, reply: CommandReply
    ) -> None:
        text = reply.text
        if reply.private:
            # Never in the chat, where every member reads it.
            text = private_notice(spec.name)
        elif spec.admin_only:
            text += " The bridge has no admins on Status."
        await self._say(room, native_id, text)

    async def _say(self, room: Room, native_id: NativeId, text: str) -> None:
        """Post an answer; never raises (the command itself already ran)."""
        try:
            await self._publisher.notice(
                room, self._bridge, text, bounded_id(_ANSWER + native_id), native_id
            )
        except Exception as exc:
            log.warning("could not answer a command in %s: %s", room.ref.chat_id, exc)
