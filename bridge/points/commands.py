"""The chat commands of community points: ``/points``, ``/leaderboard``, ``/award``, ``/deduct``.

(``/cycle`` belongs to the cycle manager: ``bridge.points.PointsFeature``.)
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bridge.commands import CommandReply, CommandRequest, UsageError
from bridge.platform_index import PlatformIndex
from bridge.points.people import People, PointsContext, bare_name
from bridge.points.scoring import RoomLookup
from bridge.points.standings import Standing, Standings
from bridge.store import links as links_store
from bridge.store import points as points_store
from bridge.store.points import Entry, EntryKind

__all__ = ["LEADERBOARD_SIZE", "MAX_REASON", "PointsCommands"]

# The user id in "platform:id" (the platform is any of the bridge's: PlatformIndex).
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,130}")
MAX_REASON = 200
LEADERBOARD_SIZE = 10
_MAX_NAME = 130


class PointsCommands:
    def __init__(
        self,
        context: PointsContext,
        people: People,
        standings: Standings,
        *,
        rooms: RoomLookup | None,
        index: PlatformIndex,
        public_url: str,
    ) -> None:
        self._context = context
        self.config = context.config
        self._people = people
        self._standings = standings
        self._rooms = rooms
        self._index = index
        self._public_url = public_url

    def _room(self, request: CommandRequest) -> str | None:
        room = None if self._rooms is None else self._rooms.room_of(request.chat)
        return None if room is None or not self._context.counts(room.name) else room.name

    def _where(self) -> str:
        return ", ".join(self.config.rooms) or "none configured"

    async def resolve(self, who: str, request: CommandRequest) -> tuple[str, str, str]:
        """(platform, user_id, name) of ``@name``, ``<@id>`` or ``platform:user_id``."""
        who = who.strip()
        mention = self._index.native_user(who)
        explicit = self._index.qualified(who)
        if explicit is not None and _ACCOUNT_ID.fullmatch(explicit[1]) is None:
            explicit = None
        db = self._context.store.db
        found_ref = mention or explicit
        if found_ref is not None:
            platform, user_id = found_ref
            names = await points_store.account_names(db)
            return platform, user_id, names.get((platform, user_id), user_id)
        key = who.removeprefix("@")
        if not key or len(key) > _MAX_NAME:
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

    @staticmethod
    def _describe(standing: Standing, room: str | None) -> str:
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
            return await self._set_show(request, me, request.args[0].lower() == "show")
        if request.args:
            platform, user_id, _ = await self.resolve(" ".join(request.args), request)
            standing = await self._standings.standing_of(room, (platform, user_id))
        else:
            standing = await self._standings.standing_of(room, me)
        return CommandReply(self._describe(standing, room))

    async def _set_show(
        self, request: CommandRequest, me: tuple[str, str], show: bool
    ) -> CommandReply:
        async with self._context.store.transaction() as db:
            await points_store.upsert_account(
                db,
                *me,
                bare_name(request.author.display_name),
                request.author.username,
                self._context.now(),
            )
            await points_store.set_show(db, *me, show)
        return CommandReply(
            "Your points are now shown next to your name."
            if show
            else "Your points are no longer shown next to your name.",
            private=True,
        )

    async def handle_leaderboard(self, request: CommandRequest) -> CommandReply:
        room = self._room(request)
        if room is None:
            return CommandReply(
                f"This chat earns no points. Rooms with points: {self._where()}.", private=True
            )
        ranked = [s for s in await self._standings.standings(room) if s.rank is not None]
        cycle = await points_store.current_cycle(self._context.store.db)
        lines = [f"Leaderboard of {room}, cycle {cycle}:"]
        for standing in ranked[:LEADERBOARD_SIZE]:
            lines.append(
                f"{standing.rank}. {standing.name} — {standing.cycle_points}"
                f" ({standing.total_points} in all)"
            )
        if not ranked:
            lines.append("Nobody has earned points in this cycle yet.")
        if self._public_url:
            lines.append(f"{self._public_url}/points/{quote(room, safe='')}")
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
        if kind == "award" and await self._people.same_person(me, (platform, user_id)):
            raise UsageError("You cannot award yourself points.")
        actor = f"{request.author.platform}:{request.author.user_id}"
        now = self._context.now()
        person = await self._people.person_of(platform, user_id)
        async with self._context.store.transaction() as db:
            # The moderator's name too, so the ledger shows who did it.
            await points_store.upsert_account(
                db, *me, bare_name(request.author.display_name), request.author.username, now
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
