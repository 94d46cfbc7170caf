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

The service is the one object the rest of the bridge holds; the work is done by its parts:
``people`` (who is who), ``scoring`` (the rules above), ``standings`` (reading) and ``commands``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.commands import CommandReply, CommandRequest
from bridge.model import Author, MessageId
from bridge.platform_index import PlatformIndex
from bridge.points.commands import LEADERBOARD_SIZE, MAX_REASON, PointsCommands
from bridge.points.people import People, PointsContext, person_key
from bridge.points.scoring import MessageLookup, RoomLookup, Scoring
from bridge.points.standings import Standing, Standings
from bridge.store import Store
from bridge.store.messages import StoredMessage

if TYPE_CHECKING:
    from bridge.config import PointsSettings

__all__ = [
    "LEADERBOARD_SIZE",
    "MAX_REASON",
    "MessageLookup",
    "PointsService",
    "RoomLookup",
    "Standing",
    "person_key",
]


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
        self.rooms = rooms
        self.lookup = lookup
        self.public_url = public_url.rstrip("/")
        self._context = PointsContext(config, store, clock)
        self.people = People(self._context)
        self.scoring = Scoring(self._context, self.people, rooms=rooms, lookup=lookup)
        self.reading = Standings(self._context, self.people, self.scoring.ingest_tips)
        self.commands = PointsCommands(
            self._context,
            self.people,
            self.reading,
            rooms=rooms,
            index=index if index is not None else PlatformIndex(()),
            public_url=self.public_url,
        )

    @property
    def store(self) -> Store:
        return self._context.store

    def now(self) -> int:
        return self._context.now()

    def counts(self, room: str) -> bool:
        return self._context.counts(room)

    # --- people ---------------------------------------------------------------------------

    async def wallet_of(self, platform: str, user_id: str) -> str | None:
        """The wallet an account's points go to: its most recently linked one."""
        return await self.people.wallet_of(platform, user_id)

    async def person_of(self, platform: str, user_id: str) -> str:
        return await self.people.person_of(platform, user_id)

    async def same_person(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        return await self.people.same_person(a, b)

    async def wallet_map(self) -> dict[tuple[str, str], str]:
        """Every linked account's payout wallet (its most recent link)."""
        return await self.people.wallet_map()

    # --- scoring (a RouterObserver, and the relay's inbound listener) -----------------------

    async def on_new_message(self, stored: StoredMessage) -> None:
        await self.scoring.on_new_message(stored)

    async def on_deleted(self, message_id: MessageId) -> None:
        await self.scoring.on_deleted(message_id)

    async def on_inbound(self, event: object) -> None:
        await self.scoring.on_inbound(event)

    async def ingest_tips(self) -> int:
        """Credit confirmed tips made in a points room to their recipient (once each)."""
        return await self.scoring.ingest_tips()

    # --- reading ----------------------------------------------------------------------------

    async def standings(self, room: str | None) -> list[Standing]:
        """Everyone with points in ``room`` (or anywhere), people merged, best first."""
        return await self.reading.standings(room)

    async def standing_of(self, room: str | None, account: tuple[str, str]) -> Standing:
        return await self.reading.standing_of(room, account)

    async def shown_name(self, author: Author) -> Author:
        """``author`` with their points after the name, if they asked for it (/points show)."""
        return await self.reading.shown_name(author)

    # --- commands ---------------------------------------------------------------------------

    async def resolve(self, who: str, request: CommandRequest) -> tuple[str, str, str]:
        """(platform, user_id, name) of ``@name``, ``<@id>`` or ``platform:user_id``."""
        return await self.commands.resolve(who, request)

    async def handle_points(self, request: CommandRequest) -> CommandReply:
        return await self.commands.handle_points(request)

    async def handle_leaderboard(self, request: CommandRequest) -> CommandReply:
        return await self.commands.handle_leaderboard(request)

    async def handle_award(self, request: CommandRequest) -> CommandReply:
        return await self.commands.handle_award(request)

    async def handle_deduct(self, request: CommandRequest) -> CommandReply:
        return await self.commands.handle_deduct(request)
