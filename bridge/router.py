"""Rooms and fan-out: turns one inbound event into durable outbox rows, in one transaction.

The router owns the relaying policy: which chats form a room, what is a duplicate, what is
the bridge's own echo, and where edits, deletes and reactions must follow a message. It never
talks to a platform: delivery is the outbox's job, and the router only tells it (``notify``)
which targets have new rows.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, assert_never

import aiosqlite

from bridge.flood import FloodLimiter, Verdict
from bridge.model import (
    Author,
    ChatRef,
    DeleteMessage,
    DeliveryKind,
    EditMessage,
    MessageId,
    NativeId,
    NewMessage,
    Reaction,
    Relayed,
    RichText,
    UserId,
)
from bridge.store import Store, messages, outbox_rows, reactions
from bridge.store.group_commit import GroupCommit
from bridge.store.messages import StoredMessage
from bridge.store.outbox_rows import NewRow, OutboxRow

__all__ = [
    "SYSTEM_USER_ID",
    "Notify",
    "Room",
    "RoomSettings",
    "Router",
    "RouterObserver",
    "rooms_from_settings",
]

log = logging.getLogger(__name__)

SYSTEM_USER_ID = UserId("parley:system")
"""The author id of the bridge's own announcements (``Router.announce``)."""
ANNOUNCE_PREFIX = "announce:"
"""Native ids the router makes up for announcements (replaced by the delivered copy's id)."""


class Notify(Protocol):
    """The outbox's wake-up call: the target of every row just committed (one entry per row),
    for a new message the message as stored, and the rows themselves (so that their
    deliveries need not read either back)."""

    def __call__(
        self,
        targets: Sequence[ChatRef],
        message: StoredMessage | None = None,
        rows: Sequence[OutboxRow] | None = None,
        /,
    ) -> None: ...


class RouterObserver(Protocol):
    """Told about committed changes (the feed implements it). Called after the commit, in
    order, one event at a time; an observer that raises is logged and does not undo anything."""

    async def on_new_message(self, stored: StoredMessage) -> None: ...

    async def on_deleted(self, message_id: MessageId) -> None: ...


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
    def members(self) -> Sequence[ChatRef]: ...


def rooms_from_settings(rooms: Iterable[RoomSettings]) -> list[Room]:
    """Rooms from the typed config (``settings.rooms``)."""
    found: list[Room] = []
    for room in rooms:
        found.append(Room(room.name, tuple(room.members)))
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
        notify: Notify | None = None,
        clock: Callable[[], float] = time.time,
        flood: FloodLimiter | None = None,
    ) -> None:
        """``flood``: the per-sender, per-room limit on new messages (None: no limit)."""
        self._store = store
        self._flood = flood
        self._writes = GroupCommit(store)
        self._rooms: dict[str, Room] = {}
        self._notify = notify
        self._clock = clock
        self._by_chat: dict[ChatRef, Room] = {}
        self._observers: list[RouterObserver] = []
        for room in rooms:
            if room.name in self._rooms:
                raise ValueError(f"room {room.name!r} is defined twice")
            self._rooms[room.name] = room
            for chat in room.members:
                other = self._by_chat.setdefault(chat, room)
                if other is not room:
                    raise ValueError(f"{chat} is in two rooms: {other.name!r} and {room.name!r}")
        self._unknown_logged: set[ChatRef] = set()

    @property
    def rooms(self) -> tuple[Room, ...]:
        return tuple(self._rooms.values())

    def room(self, name: str) -> Room | None:
        return self._rooms.get(name)

    def add_observer(self, observer: RouterObserver) -> None:
        """Call ``observer`` after each committed new message and delete (see the protocol)."""
        self._observers.append(observer)

    # Dynamic rooms (``/room join``): the caller persists them; the router only routes.

    def add_member(self, room_name: str, chat: ChatRef) -> Room:
        """Put ``chat`` into ``room_name`` (created if new); returns the room as it is now."""
        current = self._by_chat.get(chat)
        if current is not None and current.name != room_name:
            raise ValueError(f"{chat} is already in room {current.name!r}")
        room = self._rooms.get(room_name) or Room(room_name, ())
        if chat not in room.members:
            room = Room(room.name, (*room.members, chat))
        self._replace(room)
        self._unknown_logged.discard(chat)
        return room

    def remove_member(self, chat: ChatRef) -> Room | None:
        """Take ``chat`` out of its room; returns the room as it was, or None."""
        room = self._by_chat.get(chat)
        if room is None:
            return None
        self._replace(Room(room.name, tuple(c for c in room.members if c != chat)))
        del self._by_chat[chat]
        return room

    def _replace(self, room: Room) -> None:
        self._rooms[room.name] = room
        for member in room.members:
            self._by_chat[member] = room

    def room_of(self, chat: ChatRef) -> Room | None:
        return self._by_chat.get(chat)

    async def lookup(self, chat: ChatRef, native_id: NativeId) -> StoredMessage | None:
        """The relayed message that ``native_id`` is (its original or a copy) in ``chat``."""
        hit = await messages.lookup_native(self._store.db, chat, native_id)
        if hit is None:
            return None
        return await messages.get(self._store.db, hit.message_id)

    async def handle(self, event: Relayed) -> None:
        """Record ``event`` and its deliveries; returns once they are committed (or ignored).

        A ``Command`` is no relayed event: the sink runs it (``Commands.run``) and never hands
        it here, which the type says so that mypy catches a caller that would."""
        room = self.room_of(event.source)
        if room is None:
            if event.source not in self._unknown_logged:
                self._unknown_logged.add(event.source)
                log.info("ignoring %s: the chat is in no room", event.source)
            return
        created: StoredMessage | None = None
        deleted: MessageId | None = None
        match event:
            case NewMessage():
                if not await self._within_flood_limit(room, event):
                    return
                rows, created = await self._writes.run_many(self._new_many, (room, event))
            case EditMessage() | DeleteMessage():
                rows, changed = await self._writes.run(
                    lambda db: self._change(db, event), key=room.name
                )
                if isinstance(event, DeleteMessage):
                    deleted = changed
            case Reaction():
                rows = await self._writes.run(lambda db: self._react(db, event), key=room.name)
            case _:
                assert_never(event)
        if rows and self._notify is not None:
            self._notify([row.target for row in rows], created, rows)
        if self._observers and (created is not None or deleted is not None):
            await self._tell_observers(created, deleted)

    async def _within_flood_limit(self, room: Room, event: NewMessage) -> bool:
        """Count ``event`` against its sender's limit; a refused one is dropped (its sender
        told once per flood, in the chat they wrote in)."""
        flood = self._flood
        if flood is None or event.author.user_id == SYSTEM_USER_ID:
            return True
        at = min(event.timestamp.timestamp(), self._clock())
        author = event.author
        verdict = flood.check(room.name, author.platform, author.user_id, at)
        if verdict is Verdict.RELAY:
            return True
        if verdict is Verdict.REFUSE_AND_TELL:
            log.warning(
                "flood limit: %s:%s in room %s; their messages are refused until they slow down",
                author.platform,
                author.user_id,
                room.name,
            )
            await self.announce(event.source, flood.notice(author.display_name))
        return False

    async def _tell_observers(
        self, stored: StoredMessage | None, deleted: MessageId | None
    ) -> None:
        for observer in self._observers:
            try:
                if stored is not None:
                    await observer.on_new_message(stored)
                if deleted is not None:
                    await observer.on_deleted(deleted)
            except Exception:
                log.exception("router observer %r failed", observer)

    async def announce(
        self, chat: ChatRef, text: str, *, author_name: str = "parley"
    ) -> MessageId | None:
        """Post ``text`` as the bridge in ``chat`` (that chat only), durably: a message by the
        system author and one outbox row, committed before this returns. None when the chat
        is in no room (the bridge has no adapter route to it then)."""
        room = self.room_of(chat)
        if room is None:
            log.info("announcement to %s dropped: the chat is in no room", chat)
            return None
        author = Author(chat.platform, SYSTEM_USER_ID, author_name, is_bot=True)
        event = NewMessage(
            source=chat,
            native_id=NativeId(ANNOUNCE_PREFIX + secrets.token_hex(8)),
            author=author,
            text=RichText.plain(text),
            timestamp=datetime.fromtimestamp(self._clock(), UTC),
        )

        async def write(db: aiosqlite.Connection) -> tuple[StoredMessage, list[OutboxRow]]:
            stored = await messages.insert_new(
                db, room.name, event, None, self._clock(), check_known=False
            )
            assert stored is not None
            rows = await outbox_rows.insert(db, [NewRow(stored.id, chat, "send")], self._clock())
            return stored, rows

        stored, rows = await self._writes.run(write, key=room.name)
        if self._notify is not None:
            self._notify([chat], stored, rows)
        return stored.id

    # The three writers below run inside a (shared) transaction: see GroupCommit.

    async def _new_many(
        self, db: aiosqlite.Connection, batch: Sequence[tuple[Room, NewMessage]]
    ) -> list[tuple[list[OutboxRow], StoredMessage | None]]:
        """Record the batch's new messages and their deliveries: one INSERT for the messages
        and one for their outbox rows, not two per message. A message that replies to another
        of the batch goes in after it (a later wave), so that its parent resolves."""
        results: list[tuple[list[OutboxRow], StoredMessage | None]] = [([], None) for _ in batch]
        remaining = list(range(len(batch)))
        while remaining:
            pending = {(batch[i][1].source, batch[i][1].native_id) for i in remaining}
            wave = [
                i
                for i in remaining
                if batch[i][1].reply_to is None
                or (batch[i][1].source, batch[i][1].reply_to) not in pending
            ] or remaining  # only a cycle of replies, which no platform makes, gets here
            taken = set(wave)
            remaining = [i for i in remaining if i not in taken]
            await self._new_wave(db, [(i, *batch[i]) for i in wave], results)
        return results

    async def _new_wave(
        self,
        db: aiosqlite.Connection,
        wave: Sequence[tuple[int, Room, NewMessage]],
        results: list[tuple[list[OutboxRow], StoredMessage | None]],
    ) -> None:
        items: list[tuple[str, NewMessage, MessageId | None]] = []
        for _, room, event in wave:
            parent = None
            if event.reply_to is not None:
                hit = await messages.lookup_native(db, event.source, event.reply_to)
                parent = None if hit is None else hit.message_id
            items.append((room.name, event, parent))
        # Not inserted when the id map knows the native id: origin = a duplicate, a copy = the
        # bridge's own echo.
        now = self._clock()
        stored = await messages.insert_new_many(db, items, now)
        new_rows = [
            NewRow(message.id, chat, "send")
            for (_, room, event), message in zip(wave, stored, strict=True)
            if message is not None
            for chat in room.members
            if chat != event.source
        ]
        by_message: dict[MessageId, list[OutboxRow]] = {}
        for row in await outbox_rows.insert(db, new_rows, now):
            by_message.setdefault(row.message_id, []).append(row)
        for (index, _, _), message in zip(wave, stored, strict=True):
            if message is not None:
                results[index] = (by_message.get(message.id, []), message)

    async def _change(
        self, db: aiosqlite.Connection, event: EditMessage | DeleteMessage
    ) -> tuple[list[OutboxRow], MessageId | None]:
        hit = await messages.lookup_native(db, event.source, event.native_id)
        # Only the author's own message changes; a change to a copy is the bridge's echo.
        if hit is None or not hit.origin:
            return [], None
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
        rows = await outbox_rows.insert(
            db,
            [NewRow(hit.message_id, chat, kind, payload) for chat in targets],
            self._clock(),
        )
        return rows, hit.message_id

    async def _react(self, db: aiosqlite.Connection, event: Reaction) -> list[OutboxRow]:
        hit = await messages.lookup_native(db, event.source, event.native_id)
        if hit is None:
            return []
        changed = await reactions.apply(
            db, hit.message_id, event.source, event.author, event.emoji, event.added, self._clock()
        )
        if not changed:
            return []  # a repeat (catch-up, redelivery): what each side shows stays the same
        # A reaction may be put on the original or on any copy; it goes everywhere else, as
        # the aggregate of everyone who reacted outside that chat: one person taking theirs
        # back never removes what someone else still has.
        chats = await messages.chats_of(db, hit.message_id)
        chats += await outbox_rows.followup_targets(db, hit.message_id)
        targets = [chat for chat in dict.fromkeys(chats) if chat != event.source]
        rows = []
        for chat in targets:
            counts = await reactions.counts(db, hit.message_id, chat)
            present = any(emoji == event.emoji for emoji, _ in counts)
            payload = outbox_rows.encode_react(event.emoji, present, event.author, counts)
            rows.append(NewRow(hit.message_id, chat, "react", payload))
        return await outbox_rows.insert(db, rows, self._clock())
