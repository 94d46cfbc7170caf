"""Scoring and the chat commands of community points.

Points come from what the router commits (a :class:`~bridge.router.RouterObserver` for new
and deleted messages) and from reactions (the relay's inbound listener); every change is one
:class:`~bridge.store.points.Entry` with who caused it, why and when. The rules:

- a message of at least ``min_message_length`` characters earns its author ``weight_message``;
- a reply earns the *parent's* author ``weight_reply``, a reaction earns the reacted message's
  author ``weight_reaction`` (once per reacting person and message), a confirmed tip earns the
  recipient ``weight_tip`` — each only when it comes from *another* person: one person is all
  their linked accounts (accounts sharing a wallet), so a Telegram reply to one's own Discord
  message does not count either;
- automatic points are capped per person, room and UTC day (``daily_cap``); a message beyond
  ``flood_messages`` within ``flood_seconds`` earns nothing, nor do the replies it makes;
- a removed reaction or a deleted message takes its points back (a reversal entry); the same
  reaction added again earns nothing;
- admins ``/award`` and ``/deduct`` with a reason.

Points belong to chat accounts and accrue whether or not a wallet is linked; at each cycle
close (``bridge.points.closing``) they are handed to the account's most recently linked wallet.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from bridge.commands import CommandReply, CommandRequest, UsageError
from bridge.model import Author, ChatRef, MessageId, NativeId, Reaction
from bridge.platform_index import PlatformIndex
from bridge.router import SYSTEM_USER_ID
from bridge.store import Store
from bridge.store import links as links_store
from bridge.store import messages as messages_store
from bridge.store import points as points_store
from bridge.store.messages import StoredMessage
from bridge.store.points import Entry, EntryKind

if TYPE_CHECKING:
    from bridge.config import PointsSettings

__all__ = ["PointsService", "Standing", "person_key"]

log = logging.getLogger(__name__)

# The user id in "platform:id" (the platform is any of the bridge's: PlatformIndex).
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,130}")
_SHOWN = re.compile(r" · -?\d+ pts$")
MAX_REASON = 200
LEADERBOARD_SIZE = 10


class _Room(Protocol):
    @property
    def name(self) -> str: ...


class RoomLookup(Protocol):
    def room_of(self, chat: ChatRef) -> _Room | None: ...


MessageLookup = Callable[[ChatRef, NativeId], Awaitable[StoredMessage | None]]


def person_key(platform: str, user_id: str, wallet: str | None) -> str:
    """One person: their wallet when linked (shared by all their linked accounts)."""
    return f"wallet:{wallet.lower()}" if wallet else f"account:{platform}:{user_id}"


@dataclass(frozen=True, slots=True)
class Standing:
    """A person's points in one room (or everywhere when ``room`` is None)."""

    name: str
    accounts: tuple[tuple[str, str], ...]
    wallet: str | None
    cycle_points: int
    total_points: int
    rank: int | None  # in this cycle, among people with points
    ranked: int


class PointsService:
    def __init__(
        self,
        config: PointsSettings,
        store: Callable[[], Store],
        *,
        rooms: RoomLookup | None = None,
        lookup: MessageLookup | None = None,
        public_url: str = "",
        clock: Callable[[], float] = time.time,
        index: PlatformIndex | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._index = index if index is not None else PlatformIndex(())
        self.rooms = rooms
        self.lookup = lookup
        self.public_url = public_url.rstrip("/")
        self._clock = clock
        self._recent: defaultdict[tuple[str, str, str], deque[float]] = defaultdict(deque)
        self._flooding: set[MessageId] = set()

    @property
    def store(self) -> Store:
        return self._store()

    def now(self) -> int:
        return int(self._clock())

    def counts(self, room: str) -> bool:
        return room in self.config.rooms

    # --- people ---------------------------------------------------------------------------

    async def wallet_of(self, platform: str, user_id: str) -> str | None:
        """The wallet an account's points go to: its most recently linked one."""
        wallets = await links_store.wallets_of(self.store.db, platform, user_id)
        return max(wallets, key=lambda w: w.linked_at).address if wallets else None

    async def person_of(self, platform: str, user_id: str) -> str:
        return person_key(platform, user_id, await self.wallet_of(platform, user_id))

    async def same_person(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        if a == b:
            return True
        db = self.store.db
        mine = {w.address.lower() for w in await links_store.wallets_of(db, *a)}
        if not mine:
            return False
        return any(w.address.lower() in mine for w in await links_store.wallets_of(db, *b))

    async def wallet_map(self) -> dict[tuple[str, str], str]:
        """Every linked account's payout wallet (its most recent link)."""
        latest: dict[tuple[str, str], tuple[int, str]] = {}
        async with self.store.db.execute(
            "SELECT platform, user_id, address, linked_at FROM wallet_links"
        ) as cur:
            for row in await cur.fetchall():
                key = (str(row[0]), str(row[1]))
                seen = latest.get(key)
                if seen is None or (int(row[3]), str(row[2])) > seen:
                    latest[key] = (int(row[3]), str(row[2]))
        return {key: address for key, (_, address) in latest.items()}

    # --- scoring ----------------------------------------------------------------------------

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
        now = self.now()
        person = await self.person_of(*account)
        async with self.store.transaction() as db:
            used = await points_store.day_total(db, room, person, now // 86400)
            amount = min(weight, self.config.daily_cap - used)
            if amount <= 0:
                return 0
            cycle = await points_store.current_cycle(db)
            entry = Entry(cycle, room, *account, person, kind, amount, actor, reason, ref, now)
            return amount if await points_store.add_entry(db, entry) else 0

    async def _seen(self, author: Author) -> None:
        name = _SHOWN.sub("", author.display_name)
        async with self.store.transaction() as db:
            await points_store.upsert_account(
                db, author.platform, str(author.user_id), name, author.username, self.now()
            )

    def _is_person(self, author: Author) -> bool:
        return not author.is_bot and author.user_id != SYSTEM_USER_ID

    def _flood(self, room: str, author: Author) -> bool:
        """Count this message; True when it is over the flood limit."""
        key = (room, author.platform, str(author.user_id))
        now = self._clock()
        recent = self._recent[key]
        while recent and now - recent[0] > self.config.flood_seconds:
            recent.popleft()
        recent.append(now)
        if len(self._recent) > 10_000:  # bound memory: forget quiet accounts
            for stale in [k for k, q in self._recent.items() if now - q[-1] > 60]:
                del self._recent[stale]
        return len(recent) > self.config.flood_messages

    async def on_new_message(self, stored: StoredMessage) -> None:
        if not self.counts(stored.room) or not self._is_person(stored.author):
            return
        author = stored.author
        await self._seen(author)
        if self._flood(stored.room, author):
            log.info("points: %s is over the flood limit in %s", author.user_id, stored.room)
            return
        if len(stored.text.text.strip()) < self.config.min_message_length:
            return
        account = (author.platform, str(author.user_id))
        actor = f"{author.platform}:{author.user_id}"
        await self._credit(
            stored.room,
            account,
            "message",
            self.config.weight_message,
            actor,
            "message",
            f"msg:{stored.id}",
        )
        if stored.reply_to is None:
            return
        parent = await messages_store.get(self.store.db, stored.reply_to)
        if parent is None or not self._is_person(parent.author):
            return
        owner = (parent.author.platform, str(parent.author.user_id))
        if await self.same_person(owner, account):
            return
        await self._credit(
            stored.room,
            owner,
            "reply",
            self.config.weight_reply,
            actor,
            f"reply to message {parent.id}",
            f"reply:{stored.id}",
        )

    async def on_deleted(self, message_id: MessageId) -> None:
        for prefix in (f"msg:{message_id}", f"reply:{message_id}"):
            for entry in await points_store.entries_with_ref_prefix(self.store.db, prefix):
                if entry.ref == prefix:
                    await self._reverse(entry, "message deleted", f"del:{prefix}")

    async def _reverse(self, entry: Entry, reason: str, ref: str) -> None:
        now = self.now()
        async with self.store.transaction() as db:
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
        if not isinstance(event, Reaction) or self.lookup is None:
            return
        if not self._is_person(event.author):
            return
        stored = await self.lookup(event.source, event.native_id)
        if stored is None or not self.counts(stored.room) or not self._is_person(stored.author):
            return
        reactor = (event.author.platform, str(event.author.user_id))
        owner = (stored.author.platform, str(stored.author.user_id))
        if await self.same_person(owner, reactor):
            return
        ref = f"react:{stored.id}:{await self.person_of(*reactor)}"
        if event.added:
            await self._seen(event.author)
            await self._credit(
                stored.room,
                owner,
                "reaction",
                self.config.weight_reaction,
                f"{event.author.platform}:{event.author.user_id}",
                f"reaction {event.emoji[:20]} on message {stored.id}",
                ref,
            )
            return
        for entry in await points_store.entries_with_ref_prefix(self.store.db, ref):
            if entry.ref == ref:
                await self._reverse(entry, "reaction removed", f"un{ref}")

    async def ingest_tips(self) -> int:
        """Credit confirmed tips made in a points room to their recipient (once each)."""
        if self.rooms is None or self.config.weight_tip <= 0:
            return 0
        async with self.store.db.execute(
            "SELECT t.tx_hash, t.log_index, t.chat_platform, t.chat_id, t.sender, t.recipient,"
            " i.recipient_platform, i.recipient_user_id, i.tipper_platform, i.tipper_user_id"
            " FROM tips t LEFT JOIN tip_intents i ON i.id = t.intent_id"
            " WHERE t.chat_platform IS NOT NULL AND NOT EXISTS (SELECT 1 FROM points_entries"
            " WHERE ref = 'tip:' || t.tx_hash || ':' || t.log_index)"
            " ORDER BY t.block_number LIMIT 500"
        ) as cur:
            rows = await cur.fetchall()
        credited = 0
        for row in rows:
            chat = ChatRef(messages_store.platform_of(str(row[2])), row[3])
            room = self.rooms.room_of(chat)
            if room is None or not self.counts(room.name):
                continue
            if row[6] is not None and row[7] is not None:
                owner = (str(row[6]), str(row[7]))
            else:
                accounts = await links_store.accounts_of(self.store.db, str(row[5]))
                if not accounts:
                    continue
                owner = (accounts[-1].platform, accounts[-1].user_id)
            senders = await links_store.accounts_of(self.store.db, str(row[4]))
            tipper = (str(row[8]), str(row[9])) if row[8] is not None else None
            if tipper is None and senders:
                tipper = (senders[-1].platform, senders[-1].user_id)
            if tipper is not None and await self.same_person(owner, tipper):
                continue
            credited += await self._credit(
                room.name,
                owner,
                "tip",
                self.config.weight_tip,
                "chain:" + str(row[4]),
                f"tip received (tx {row[0]})",
                f"tip:{row[0]}:{row[1]}",
            )
        return credited

    # --- reading ----------------------------------------------------------------------------

    async def standings(self, room: str | None) -> list[Standing]:
        """Everyone with points in ``room`` (or anywhere), people merged, best first."""
        await self.ingest_tips()
        db = self.store.db
        cycle = await points_store.current_cycle(db)
        total = await points_store.totals(db, room=room)
        current = await points_store.totals(db, room=room, cycle=cycle)
        names = await points_store.account_names(db)
        wallets = await self.wallet_map()
        people: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for account in total:
            people[person_key(*account, wallets.get(account))].append(account)
        found: list[Standing] = []
        for accounts in people.values():
            accounts.sort()
            name = next((names[a] for a in accounts if a in names), f"{accounts[0][1]}")
            found.append(
                Standing(
                    name=name,
                    accounts=tuple(accounts),
                    wallet=wallets.get(accounts[0]),
                    cycle_points=sum(current.get(a, 0) for a in accounts),
                    total_points=sum(total[a] for a in accounts),
                    rank=None,
                    ranked=0,
                )
            )
        found.sort(key=lambda s: (-s.cycle_points, -s.total_points, s.name.lower()))
        ranked = [s for s in found if s.cycle_points > 0]
        order = {id(s): i + 1 for i, s in enumerate(ranked)}
        return [replace(s, rank=order.get(id(s)), ranked=len(ranked)) for s in found]

    async def standing_of(self, room: str | None, account: tuple[str, str]) -> Standing:
        names = await points_store.account_names(self.store.db)
        name = names.get(account, account[1])
        for standing in await self.standings(room):
            if account in standing.accounts:
                return replace(standing, name=name)  # as the asker knows them
        return Standing(name, (account,), await self.wallet_of(*account), 0, 0, None, 0)

    async def shown_name(self, author: Author) -> Author:
        """``author`` with their points after the name, if they asked for it (/points show)."""
        account = (author.platform, str(author.user_id))
        if not await points_store.show_points(self.store.db, *account):
            return author
        total = await points_store.account_total(self.store.db, *account)
        return replace(author, display_name=f"{_SHOWN.sub('', author.display_name)} · {total} pts")

    # --- commands ---------------------------------------------------------------------------

    def _room(self, request: CommandRequest) -> str | None:
        room = None if self.rooms is None else self.rooms.room_of(request.chat)
        return None if room is None or not self.counts(room.name) else room.name

    def _where(self) -> str:
        return ", ".join(self.config.rooms) or "none configured"

    async def resolve(self, who: str, request: CommandRequest) -> tuple[str, str, str]:
        """(platform, user_id, name) of ``@name``, ``<@id>`` or ``platform:user_id``."""
        who = who.strip()
        mention = self._index.native_user(who)
        explicit = self._index.qualified(who)
        if explicit is not None and _ACCOUNT_ID.fullmatch(explicit[1]) is None:
            explicit = None
        db = self.store.db
        found_ref = mention or explicit
        if found_ref is not None:
            platform, user_id = found_ref
            names = await points_store.account_names(db)
            return platform, user_id, names.get((platform, user_id), user_id)
        key = who.removeprefix("@")
        if not key or len(key) > 130:
            raise UsageError("Name the member: @name or platform:user_id.")
        found = list(dict.fromkeys(await points_store.find_accounts(db, key)))
        for link in await links_store.find_by_name(db, key):
            found.append((link.platform, link.user_id, link.display_name))
        if not found:
            raise UsageError(f"No member called {who[:60]} has points or a linked wallet here.")
        same = [a for a in found if a[0] == request.author.platform] or found
        accounts = {(a[0], a[1]) for a in same}
        if len(accounts) > 1:
            options = ", ".join(sorted(f"{p}:{u}" for p, u in accounts)[:5])
            raise UsageError(f"{who[:60]} is ambiguous; say which one: {options}")
        return same[0]

    def _describe(self, standing: Standing, room: str | None) -> str:
        where = f" in {room}" if room else ""
        rank = (
            f", rank {standing.rank} of {standing.ranked}"
            if standing.rank is not None
            else ", not ranked yet"
        )
        wallet = (
            f"Paid out to {standing.wallet[:6]}…{standing.wallet[-4:]} at each cycle close."
            if standing.wallet
            else "No wallet linked: the points wait for one (link with /link)."
        )
        return (
            f"{standing.name}: {standing.cycle_points} points this cycle{rank};"
            f" {standing.total_points} in all{where}. {wallet}"
        )

    async def handle_points(self, request: CommandRequest) -> CommandReply:
        room = self._room(request)
        if room is None and not request.is_private:
            return CommandReply(
                f"This chat earns no points. Rooms with points: {self._where()}.", private=True
            )
        me = (request.author.platform, str(request.author.user_id))
        if request.args and request.args[0].lower() in ("show", "hide"):
            show = request.args[0].lower() == "show"
            async with self.store.transaction() as db:
                await points_store.upsert_account(
                    db,
                    *me,
                    _SHOWN.sub("", request.author.display_name),
                    request.author.username,
                    self.now(),
                )
                await points_store.set_show(db, *me, show)
            return CommandReply(
                "Your points are now shown next to your name."
                if show
                else "Your points are no longer shown next to your name.",
                private=True,
            )
        if request.args:
            platform, user_id, _ = await self.resolve(" ".join(request.args), request)
            standing = await self.standing_of(room, (platform, user_id))
        else:
            standing = await self.standing_of(room, me)
        return CommandReply(self._describe(standing, room))

    async def handle_leaderboard(self, request: CommandRequest) -> CommandReply:
        room = self._room(request)
        if room is None:
            return CommandReply(
                f"This chat earns no points. Rooms with points: {self._where()}.", private=True
            )
        ranked = [s for s in await self.standings(room) if s.rank is not None]
        cycle = await points_store.current_cycle(self.store.db)
        lines = [f"Leaderboard of {room}, cycle {cycle}:"]
        for standing in ranked[:LEADERBOARD_SIZE]:
            lines.append(
                f"{standing.rank}. {standing.name} — {standing.cycle_points}"
                f" ({standing.total_points} in all)"
            )
        if not ranked:
            lines.append("Nobody has earned points in this cycle yet.")
        if self.public_url:
            lines.append(f"{self.public_url}/points/{_url_room(room)}")
        return CommandReply("\n".join(lines))

    async def handle_award(self, request: CommandRequest) -> CommandReply:
        return await self._adjust(request, "award")

    async def handle_deduct(self, request: CommandRequest) -> CommandReply:
        return await self._adjust(request, "deduct")

    async def _adjust(self, request: CommandRequest, kind: EntryKind) -> CommandReply:
        room = self._room(request)
        if room is None:
            return CommandReply(
                f"Use /{kind} in a room that earns points: {self._where()}.", private=True
            )
        parts = request.raw_args.split(maxsplit=2)
        if len(parts) < 3:
            raise UsageError(f"Say who, how many points and why, e.g. /{kind} @bob 10 helpful")
        who, count_text, reason = parts
        if not count_text.isdigit() or not 1 <= int(count_text) <= self.config.max_award:
            raise UsageError(f"The number of points must be 1 to {self.config.max_award}.")
        count = int(count_text)
        reason = " ".join(reason.split())[:MAX_REASON]
        platform, user_id, name = await self.resolve(who, request)
        me = (request.author.platform, str(request.author.user_id))
        if kind == "award" and await self.same_person(me, (platform, user_id)):
            raise UsageError("You cannot award yourself points.")
        actor = f"{request.author.platform}:{request.author.user_id}"
        now = self.now()
        person = await self.person_of(platform, user_id)
        async with self.store.transaction() as db:
            # The moderator's name too, so the ledger shows who did it.
            await points_store.upsert_account(
                db,
                *me,
                _SHOWN.sub("", request.author.display_name),
                request.author.username,
                now,
            )
            cycle = await points_store.current_cycle(db)
            amount = count if kind == "award" else -count
            entry = Entry(
                cycle, room, platform, user_id, person, kind, amount, actor, reason, None, now
            )
            await points_store.add_entry(db, entry)
        verb = "awarded" if kind == "award" else "deducted"
        to = "to" if kind == "award" else "from"
        return CommandReply(
            f"{request.author.display_name} {verb} {count} points {to} {name} in {room}: {reason}"
        )


def _url_room(room: str) -> str:
    from urllib.parse import quote

    return quote(room, safe="")
