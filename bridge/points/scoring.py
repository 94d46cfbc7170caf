"""Scoring: entries for messages, replies, reactions and tips, and their reversals.

Messages and deletes come from what the router commits, reactions from the relay's inbound
listener, tips from the chain watcher's table; the rules are in ``bridge.points.service``.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bridge.model import Author, ChatRef, MessageId, NativeId, Reaction
from bridge.points.people import People, PointsContext, bare_name
from bridge.router import SYSTEM_USER_ID
from bridge.store import links as links_store
from bridge.store import messages as messages_store
from bridge.store import points as points_store
from bridge.store.messages import StoredMessage
from bridge.store.points import Entry, EntryKind

__all__ = ["MessageLookup", "RoomLookup", "Scoring", "is_person"]

log = logging.getLogger(__name__)

# Past this many tracked accounts the flood counter forgets the quiet ones (bounds memory).
_MAX_TRACKED = 10_000
_QUIET_SECONDS = 60
_TIPS_PER_RUN = 500


class _Room(Protocol):
    @property
    def name(self) -> str: ...


class RoomLookup(Protocol):
    def room_of(self, chat: ChatRef) -> _Room | None: ...


MessageLookup = Callable[[ChatRef, NativeId], Awaitable[StoredMessage | None]]


def is_person(author: Author) -> bool:
    return not author.is_bot and author.user_id != SYSTEM_USER_ID


def _account(author: Author) -> tuple[str, str]:
    return (author.platform, str(author.user_id))


def _actor(author: Author) -> str:
    return f"{author.platform}:{author.user_id}"


class Scoring:
    """Turns what happens in points rooms into ledger entries, within the caps."""

    def __init__(
        self,
        context: PointsContext,
        people: People,
        *,
        rooms: RoomLookup | None,
        lookup: MessageLookup | None,
    ) -> None:
        self._context = context
        self.config = context.config
        self._people = people
        self._rooms = rooms
        self._lookup = lookup
        self._recent: defaultdict[tuple[str, str, str], deque[float]] = defaultdict(deque)

    async def _credit(
        self,
        room: str,
        account: tuple[str, str],
        kind: EntryKind,
        weight: int,
        actor: str,
        reason: str,
        ref: str,
    ) -> int:
        """Add an automatic entry within the daily cap; returns the points given."""
        if weight <= 0:
            return 0
        now = self._context.now()
        person = await self._people.person_of(*account)
        async with self._context.store.transaction() as db:
            used = await points_store.day_total(db, room, person, now // 86400)
            amount = min(weight, self.config.daily_cap - used)
            if amount <= 0:
                return 0
            cycle = await points_store.current_cycle(db)
            entry = Entry(cycle, room, *account, person, kind, amount, actor, reason, ref, now)
            return amount if await points_store.add_entry(db, entry) else 0

    async def seen(self, author: Author) -> None:
        """Remember the account's name (the leaderboard shows it)."""
        async with self._context.store.transaction() as db:
            await points_store.upsert_account(
                db,
                author.platform,
                str(author.user_id),
                bare_name(author.display_name),
                author.username,
                self._context.now(),
            )

    def _flood(self, room: str, author: Author) -> bool:
        """Count this message; True when it is over the flood limit."""
        key = (room, author.platform, str(author.user_id))
        now = self._context.clock()
        recent = self._recent[key]
        while recent and now - recent[0] > self.config.flood_seconds:
            recent.popleft()
        recent.append(now)
        if len(self._recent) > _MAX_TRACKED:
            for stale in [k for k, q in self._recent.items() if now - q[-1] > _QUIET_SECONDS]:
                del self._recent[stale]
        return len(recent) > self.config.flood_messages

    async def on_new_message(self, stored: StoredMessage) -> None:
        if not self._context.counts(stored.room) or not is_person(stored.author):
            return
        author = stored.author
        await self.seen(author)
        if self._flood(stored.room, author):
            log.info("points: %s is over the flood limit in %s", author.user_id, stored.room)
            return
        if len(stored.text.text.strip()) < self.config.min_message_length:
            return
        account = _account(author)
        await self._credit(
            stored.room,
            account,
            "message",
            self.config.weight_message,
            _actor(author),
            "message",
            f"msg:{stored.id}",
        )
        if stored.reply_to is not None:
            await self._credit_reply(stored, stored.reply_to, account)

    async def _credit_reply(
        self, stored: StoredMessage, parent_id: MessageId, account: tuple[str, str]
    ) -> None:
        parent = await messages_store.get(self._context.store.db, parent_id)
        if parent is None or not is_person(parent.author):
            return
        owner = _account(parent.author)
        if await self._people.same_person(owner, account):
            return
        await self._credit(
            stored.room,
            owner,
            "reply",
            self.config.weight_reply,
            _actor(stored.author),
            f"reply to message {parent.id}",
            f"reply:{stored.id}",
        )

    async def on_deleted(self, message_id: MessageId) -> None:
        for prefix in (f"msg:{message_id}", f"reply:{message_id}"):
            await self._reverse_ref(prefix, "message deleted", f"del:{prefix}")

    async def _reverse_ref(self, ref: str, reason: str, reversal_ref: str) -> None:
        """Reverse the entries whose ref is exactly ``ref``."""
        for entry in await points_store.entries_with_ref_prefix(self._context.store.db, ref):
            if entry.ref == ref:
                await self._reverse(entry, reason, reversal_ref)

    async def _reverse(self, entry: Entry, reason: str, ref: str) -> None:
        now = self._context.now()
        async with self._context.store.transaction() as db:
            cycle = await points_store.current_cycle(db)
            await points_store.add_entry(
                db,
                Entry(
                    cycle,
                    entry.room,
                    entry.platform,
                    entry.user_id,
                    entry.person,
                    "reversal",
                    -entry.amount,
                    "system",
                    f"{reason} (entry {entry.id})",
                    ref,
                    now,
                ),
            )

    async def on_inbound(self, event: object) -> None:
        """The relay's inbound listener: reactions (messages come through the observer)."""
        if not isinstance(event, Reaction) or self._lookup is None:
            return
        if not is_person(event.author):
            return
        stored = await self._lookup(event.source, event.native_id)
        if stored is None or not self._context.counts(stored.room) or not is_person(stored.author):
            return
        reactor = _account(event.author)
        owner = _account(stored.author)
        if await self._people.same_person(owner, reactor):
            return
        ref = f"react:{stored.id}:{await self._people.person_of(*reactor)}"
        if not event.added:
            await self._reverse_ref(ref, "reaction removed", f"un{ref}")
            return
        await self.seen(event.author)
        await self._credit(
            stored.room,
            owner,
            "reaction",
            self.config.weight_reaction,
            _actor(event.author),
            f"reaction {event.emoji[:20]} on message {stored.id}",
            ref,
        )

    async def ingest_tips(self) -> int:
        """Credit confirmed tips made in a points room to their recipient (once each)."""
        if self._rooms is None or self.config.weight_tip <= 0:
            return 0
        async with self._context.store.db.execute(
            "SELECT t.tx_hash, t.log_index, t.chat_platform, t.chat_id, t.sender, t.recipient,"
            " i.recipient_platform, i.recipient_user_id, i.tipper_platform, i.tipper_user_id"
            " FROM tips t LEFT JOIN tip_intents i ON i.id = t.intent_id"
            " WHERE t.chat_platform IS NOT NULL AND NOT EXISTS (SELECT 1 FROM points_entries"
            " WHERE ref = 'tip:' || t.tx_hash || ':' || t.log_index)"
            " ORDER BY t.block_number LIMIT ?",
            (_TIPS_PER_RUN,),
        ) as cur:
            rows = await cur.fetchall()
        credited = 0
        for row in rows:
            credited += await self._credit_tip(self._rooms, row)
        return credited

    async def _credit_tip(self, rooms: RoomLookup, row: Sequence[Any]) -> int:
        """One row of ``ingest_tips``'s query: the points it gave."""
        chat = ChatRef(messages_store.platform_of(str(row[2])), row[3])
        room = rooms.room_of(chat)
        if room is None or not self._context.counts(room.name):
            return 0
        owner = await self._tip_owner(row)
        if owner is None:
            return 0
        tipper = await self._tipper(row)
        if tipper is not None and await self._people.same_person(owner, tipper):
            return 0
        return await self._credit(
            room.name,
            owner,
            "tip",
            self.config.weight_tip,
            "chain:" + str(row[4]),
            f"tip received (tx {row[0]})",
            f"tip:{row[0]}:{row[1]}",
        )

    async def _tip_owner(self, row: Sequence[Any]) -> tuple[str, str] | None:
        """The recipient's account: the tip intent's, else the latest linked to the wallet."""
        if row[6] is not None and row[7] is not None:
            return (str(row[6]), str(row[7]))
        accounts = await links_store.accounts_of(self._context.store.db, str(row[5]))
        return (accounts[-1].platform, accounts[-1].user_id) if accounts else None

    async def _tipper(self, row: Sequence[Any]) -> tuple[str, str] | None:
        if row[8] is not None:
            return (str(row[8]), str(row[9]))
        senders = await links_store.accounts_of(self._context.store.db, str(row[4]))
        return (senders[-1].platform, senders[-1].user_id) if senders else None
