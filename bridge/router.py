"""Rooms and fan-out: turns one inbound event into durable outbox rows, in one transaction.

The router owns the relaying policy: which chats form a room, what is a duplicate, what is
the bridge's own echo, and where edits, deletes and reactions must follow a message. It never
talks to a platform: delivery is the outbox's job, and the router only tells it (``notify``)
which targets have new rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from bridge.model import (
    ChatRef,
    DeleteMessage,
    DeliveryKind,
    DiscordChannelId,
    EditMessage,
    Inbound,
    NativeId,
    NewMessage,
    Reaction,
    TelegramChatId,
    WakuChatId,
)
from bridge.store import Store, messages, outbox_rows
from bridge.store.group_commit import GroupCommit
from bridge.store.messages import StoredMessage
from bridge.store.outbox_rows import NewRow

__all__ = ["Room", "RoomSettings", "Router", "rooms_from_settings"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Room:
    """A named set of chats that see each other's messages."""

    name: str
    members: tuple[ChatRef, ...]


class RoomSettings(Protocol):
    """The shape of ``bridge.config.RoomSettings`` that the router needs."""

    @property
    def name(self) -> str: ...
    @property
    def telegram_chats(self) -> Sequence[int]: ...
    @property
    def discord_channels(self) -> Sequence[int]: ...
    @property
    def waku_chat(self) -> str | None: ...


def rooms_from_settings(rooms: Iterable[RoomSettings]) -> list[Room]:
    """Rooms from the typed config (``settings.rooms``)."""
    found: list[Room] = []
    for room in rooms:
        members = [ChatRef.telegram(TelegramChatId(c)) for c in room.telegram_chats]
        members += [ChatRef.discord(DiscordChannelId(c)) for c in room.discord_channels]
        if room.waku_chat is not None:
            members.append(ChatRef.waku(WakuChatId(room.waku_chat)))
        found.append(Room(room.name, tuple(members)))
    return found


class Router:
    """The inbound sink of every adapter (``handle``) and the room directory.

    ``notify`` receives, after each commit, the target of every outbox row just added (one
    entry per row); the outbox uses it to wake the right workers at once.
    """

    def __init__(
        self,
        store: Store,
        rooms: Iterable[Room],
        *,
        notify: Callable[[Sequence[ChatRef]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._writes = GroupCommit(store)
        self._rooms = tuple(rooms)
        self._notify = notify
        self._clock = clock
        self._by_chat: dict[ChatRef, Room] = {}
        for room in self._rooms:
            for chat in room.members:
                other = self._by_chat.setdefault(chat, room)
                if other is not room:
                    raise ValueError(f"{chat} is in two rooms: {other.name!r} and {room.name!r}")
        self._unknown_logged: set[ChatRef] = set()

    @property
    def rooms(self) -> tuple[Room, ...]:
        return self._rooms

    def room_of(self, chat: ChatRef) -> Room | None:
        return self._by_chat.get(chat)

    async def lookup(self, chat: ChatRef, native_id: NativeId) -> StoredMessage | None:
        """The relayed message that ``native_id`` is (its original or a copy) in ``chat``."""
        hit = await messages.lookup_native(self._store.db, chat, native_id)
        if hit is None:
            return None
        return await messages.get(self._store.db, hit.message_id)

    async def handle(self, event: Inbound) -> None:
        """Record ``event`` and its deliveries; returns once they are committed (or ignored)."""
        room = self.room_of(event.source)
        if room is None:
            if event.source not in self._unknown_logged:
                self._unknown_logged.add(event.source)
                log.info("ignoring %s: the chat is in no room", event.source)
            return
        match event:
            case NewMessage():
                targets = await self._writes.run(lambda db: self._new(db, room, event))
            case EditMessage() | DeleteMessage():
                targets = await self._writes.run(lambda db: self._change(db, event))
            case Reaction():
                targets = await self._writes.run(lambda db: self._react(db, event))
        if targets and self._notify is not None:
            self._notify(targets)

    # The three writers below run inside a (shared) transaction: see GroupCommit.

    async def _new(self, db: aiosqlite.Connection, room: Room, event: NewMessage) -> list[ChatRef]:
        targets = [chat for chat in room.members if chat != event.source]
        # One lookup answers both: origin = a duplicate, a copy = the bridge's own echo.
        if await messages.lookup_native(db, event.source, event.native_id) is not None:
            return []
        parent = None
        if event.reply_to is not None:
            hit = await messages.lookup_native(db, event.source, event.reply_to)
            parent = None if hit is None else hit.message_id
        message_id = await messages.insert(db, room.name, event, parent, self._clock())
        await outbox_rows.insert(
            db, [NewRow(message_id, chat, "send") for chat in targets], self._clock()
        )
        return targets

    async def _change(
        self, db: aiosqlite.Connection, event: EditMessage | DeleteMessage
    ) -> list[ChatRef]:
        hit = await messages.lookup_native(db, event.source, event.native_id)
        # Only the author's own message changes; a change to a copy is the bridge's echo.
        if hit is None or not hit.origin:
            return []
        kind: DeliveryKind
        if isinstance(event, EditMessage):
            await messages.set_text(db, hit.message_id, event.text)
            kind, payload = "edit", outbox_rows.encode_edit(event.text)
        else:
            await messages.mark_deleted(db, hit.message_id)
            kind, payload = "delete", None
        targets = [
            chat
            for chat in await outbox_rows.followup_targets(db, hit.message_id)
            if chat != event.source
        ]
        await outbox_rows.insert(
            db,
            [NewRow(hit.message_id, chat, kind, payload) for chat in targets],
            self._clock(),
        )
        return targets

    async def _react(self, db: aiosqlite.Connection, event: Reaction) -> list[ChatRef]:
        hit = await messages.lookup_native(db, event.source, event.native_id)
        if hit is None:
            return []
        # A reaction may be put on the original or on any copy; it goes everywhere else.
        chats = await messages.chats_of(db, hit.message_id)
        chats += await outbox_rows.followup_targets(db, hit.message_id)
        targets = [chat for chat in dict.fromkeys(chats) if chat != event.source]
        payload = outbox_rows.encode_react(event.emoji, event.added, event.author)
        await outbox_rows.insert(
            db,
            [NewRow(hit.message_id, chat, "react", payload) for chat in targets],
            self._clock(),
        )
        return targets
