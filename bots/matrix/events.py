"""Matrix events pushed by the homeserver -> the bridge's neutral inbound events.

Everything in an event is hostile: fields are type-checked before use, media downloads are
capped, caches are bounded. Events sent by the bridge's own users (the bot and the puppets)
are its echoes and are dropped here, before the sink.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from mautrix.errors import MatrixConnectionError, MatrixRequestError
from mautrix.types import EventType, Membership, RoomID, UserID

from bots.matrix.formatting import from_matrix
from bots.matrix.puppets import remember as _remember
from bridge.model import (
    Attachment,
    AttachmentKind,
    Author,
    ChatRef,
    DeleteMessage,
    EditMessage,
    InboundSink,
    NativeId,
    NewMessage,
    Reaction,
    RichText,
    UserId,
)
from bridge.store.platform_kv import KvLimitError, PlatformKv

if TYPE_CHECKING:
    from mautrix.appservice import IntentAPI

    from bots.matrix.commands import MatrixCommands
    from bots.matrix.puppets import Puppets

__all__ = ["EventReader"]

log = logging.getLogger(__name__)


class _Adapter(Protocol):
    """What the reader asks of ``bots.matrix.adapter.MatrixAdapter`` (which imports this
    module: a protocol keeps the dependency one-way)."""

    @property
    def bot(self) -> IntentAPI: ...

    @property
    def puppets(self) -> Puppets: ...

    def serves(self, room: str) -> bool: ...

    def chat(self, room: str) -> ChatRef: ...

    async def download(self, mxc: str) -> bytes | None: ...


_KIND: Final[dict[str, AttachmentKind]] = {
    "m.image": "photo",
    "m.video": "video",
    "m.audio": "audio",
    "m.file": "file",
}
_MXC: Final = re.compile(r"^mxc://([A-Za-z0-9.:\-\[\]]{1,255})/([A-Za-z0-9_\-]{1,255})$")
_CACHE = 10_000
_REACTION_KEY = "reaction."  # under the platform's namespace: matrix.reaction.<event>
# Un-reacting weeks later is rare; the records would otherwise grow with every reaction.
REACTION_RETENTION = 30 * 86400.0
_MAX_KEY = 64  # a reaction key is one emoji (or a short text); longer is not a reaction


class EventReader:
    def __init__(
        self,
        adapter: _Adapter,
        sink: InboundSink,
        *,
        bot_mxid: UserID,
        commands: MatrixCommands,
        admins: frozenset[str],
        max_attachment_bytes: int,
        kv: PlatformKv | None = None,
    ) -> None:
        self._adapter = adapter
        self._sink = sink
        self._bot_mxid = bot_mxid
        self._commands = commands
        self._admins = admins
        self._max_attachment = max_attachment_bytes
        self._kv = kv
        self._names: OrderedDict[tuple[str, str], str] = OrderedDict()
        # reaction event -> (the message it annotates, its key): a redaction of it is an
        # un-react. Also kept in the store, so that an un-react after a restart is one.
        self._reactions: OrderedDict[str, tuple[str, str]] = OrderedDict()

    async def handle(self, event: dict[str, Any]) -> None:
        kind, room, sender = event.get("type"), event.get("room_id"), event.get("sender")
        content = event.get("content")
        if not (isinstance(kind, str) and isinstance(room, str) and isinstance(sender, str)):
            return
        if not isinstance(content, dict):
            content = {}
        if kind == EventType.ROOM_MEMBER.t:
            await self._member(room, sender, event, content)
            return
        if sender == self._bot_mxid or self._adapter.puppets.is_ours(sender):
            return  # our own echo
        # Every room the bot is in counts: it joins only the configured rooms and those an
        # admin invites it to (for "!room join"); the router ignores chats in no room.
        event_id = event.get("event_id")
        if not isinstance(event_id, str):
            return
        chat = self._adapter.chat(room)
        if kind == EventType.ROOM_MESSAGE.t:
            await self._message(chat, room, sender, event_id, event, content)
        elif kind == EventType.REACTION.t:
            await self._reaction(chat, room, sender, event_id, content)
        elif kind == EventType.ROOM_REDACTION.t:
            redacts = event.get("redacts") or content.get("redacts")  # room v11 moved it
            if isinstance(redacts, str):
                await self._redaction(chat, room, sender, redacts)

    async def _member(
        self, room: str, sender: str, event: dict[str, Any], content: dict[str, Any]
    ) -> None:
        user = event.get("state_key")
        membership = content.get("membership")
        if not isinstance(user, str) or not isinstance(membership, str):
            return
        name = content.get("displayname")
        if membership == "join" and isinstance(name, str) and name.strip():
            _remember(self._names, (room, user), name.strip()[:255])
        if user == self._bot_mxid or self._adapter.puppets.is_ours(user):
            with contextlib.suppress(ValueError):  # a membership this mautrix does not know
                await self._adapter.bot.state_store.set_membership(
                    RoomID(room), UserID(user), Membership(membership)
                )
        invited = user == self._bot_mxid and membership == "invite"
        if invited and (self._adapter.serves(room) or sender in self._admins):
            try:
                await self._adapter.bot.join_room(RoomID(room), max_retries=0)
            except (MatrixRequestError, MatrixConnectionError) as exc:
                log.warning("could not accept the invite to %s: %s", room, exc)

    async def _author(self, room: str, sender: str) -> Author:
        name = self._names.get((room, sender))
        if name is None:
            name = await self._member_name(room, sender)
            _remember(self._names, (room, sender), name)
        return Author("matrix", UserId(sender), name, username=sender)

    async def _member_name(self, room: str, user: str) -> str:
        try:
            state = await self._adapter.bot.get_state_event(
                RoomID(room), EventType.ROOM_MEMBER, user
            )
            name = getattr(state, "displayname", None)
        except (MatrixRequestError, MatrixConnectionError):
            name = None
        if isinstance(name, str) and name.strip():
            return name.strip()[:255]
        return user.removeprefix("@").split(":", 1)[0]

    async def _message(
        self,
        chat: ChatRef,
        room: str,
        sender: str,
        event_id: str,
        event: dict[str, Any],
        content: dict[str, Any],
    ) -> None:
        relates = content.get("m.relates_to")
        relates = relates if isinstance(relates, dict) else {}
        when = _timestamp(event)
        if relates.get("rel_type") == "m.replace":
            target, new = relates.get("event_id"), content.get("m.new_content")
            if isinstance(target, str) and isinstance(new, dict):
                await self._sink(EditMessage(chat, NativeId(target), from_matrix(new), when))
            return
        reply = relates.get("m.in_reply_to")
        reply_to = reply.get("event_id") if isinstance(reply, dict) else None
        msgtype = content.get("msgtype")
        attachments: tuple[Attachment, ...] = ()
        if msgtype in _KIND:
            filename = content.get("filename")
            # With "filename" set, "body" is a caption (Matrix 1.10); without it, the name.
            caption = content.get("body") if isinstance(filename, str) else None
            text = RichText(caption if isinstance(caption, str) and caption != filename else "")
            attachment = await self._attachment(str(msgtype), content)
            if attachment is None:
                name = filename or content.get("body") or "file"
                text = RichText(f"{text.text}\n[{str(name)[:255]}: not relayed]".strip())
            else:
                attachments = (attachment,)
        elif msgtype in ("m.text", "m.notice", "m.emote"):
            text = from_matrix(content)
            if reply_to is not None and content.get("format") is None:
                text = RichText(_strip_reply_fallback(text.text))
        else:
            return
        author = await self._author(room, sender)
        command = await self._commands.command(chat, room, author, event_id, text, reply_to)
        if command is not None:
            await self._sink(command)
            return
        await self._sink(
            NewMessage(
                chat,
                NativeId(event_id),
                author,
                text,
                when,
                reply_to=NativeId(reply_to) if isinstance(reply_to, str) else None,
                attachments=attachments,
            )
        )

    async def _attachment(self, msgtype: str, content: dict[str, Any]) -> Attachment | None:
        url = content.get("url")
        if not isinstance(url, str) or _MXC.match(url) is None:
            return None  # encrypted (``file``) or malformed media: nothing to relay
        info = content.get("info")
        info = info if isinstance(info, dict) else {}
        mime = info.get("mimetype")
        mime = mime if isinstance(mime, str) and "/" in mime else "application/octet-stream"
        name = content.get("filename") or content.get("body") or "file"
        data = await self._adapter.download(url)
        if data is None:
            return None
        return Attachment(_KIND[msgtype], str(name)[:255], mime[:127], size=len(data), data=data)

    async def _reaction(
        self, chat: ChatRef, room: str, sender: str, event_id: str, content: dict[str, Any]
    ) -> None:
        relates = content.get("m.relates_to")
        if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation":
            return
        target, key = relates.get("event_id"), relates.get("key")
        if not isinstance(target, str) or not isinstance(key, str) or not 0 < len(key) <= _MAX_KEY:
            return
        _remember(self._reactions, event_id, (target, key))
        if self._kv is not None:
            try:
                await self._kv.set(f"{_REACTION_KEY}{event_id}", json.dumps([target, key]))
            except KvLimitError as exc:  # no homeserver makes such ids: remembered in memory
                log.warning("matrix reaction %.64s not kept across restarts: %s", event_id, exc)
        author = await self._author(room, sender)
        await self._sink(Reaction(chat, NativeId(target), key, True, author))

    async def _redaction(self, chat: ChatRef, room: str, sender: str, redacts: str) -> None:
        reaction = self._reactions.pop(redacts, None)
        if reaction is None and self._kv is not None:
            reaction = await self._stored_reaction(redacts)
        if reaction is not None:
            author = await self._author(room, sender)
            await self._sink(Reaction(chat, NativeId(reaction[0]), reaction[1], False, author))
            return
        await self._sink(DeleteMessage(chat, NativeId(redacts)))

    async def _stored_reaction(self, event_id: str) -> tuple[str, str] | None:
        assert self._kv is not None
        key = f"{_REACTION_KEY}{event_id}"
        try:
            raw = await self._kv.get(key)
        except KvLimitError:
            return None  # never stored
        if raw is None:
            return None
        await self._kv.delete(key)
        try:
            target, emoji = json.loads(raw)
        except (ValueError, TypeError):
            return None
        return (str(target), str(emoji))


async def prune_reactions(kv: PlatformKv) -> None:
    await kv.prune(_REACTION_KEY, REACTION_RETENTION)


def _timestamp(event: dict[str, Any]) -> datetime:
    ts = event.get("origin_server_ts")
    if isinstance(ts, int) and 0 < ts < 2**53:
        return datetime.fromtimestamp(ts / 1000, UTC)
    return datetime.now(UTC)


def _strip_reply_fallback(body: str) -> str:
    """Old clients quote the parent in ``body`` ("> <@a:b> text" lines, then a blank line)."""
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index and index < len(lines) and lines[index] == "":
        return "\n".join(lines[index + 1 :])
    return body
