"""Private messages on Matrix: one direct room per person, made by the bridge's bot.

Matrix has no private channel to a user outside a room, so the bot creates a room with
``is_direct`` (clients list it under "People") and invites the person once; the room is
remembered in the platform's kv (``matrix.dm.<user>``) and reused after restarts. A room the
person has left (or the bot was removed from) is replaced by a new one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Final

from mautrix.errors import MatrixRequestError
from mautrix.types import EventType, Membership, RoomCreatePreset, RoomID, UserID

from bridge.store.platform_kv import PlatformKv

if TYPE_CHECKING:
    from mautrix.appservice import IntentAPI

__all__ = ["DirectRooms"]

log = logging.getLogger(__name__)

_KEY: Final = "dm."  # under the platform's namespace: matrix.dm.<user>
_USER_ID: Final = re.compile(r"^@[a-z0-9._=\-/+]{1,255}:[A-Za-z0-9.:\-\[\]]{1,255}$")
_CACHE: Final = 10_000
_STILL_THERE: Final = frozenset({Membership.JOIN, Membership.INVITE})


class DirectRooms:
    """Each person's direct room with the bot: found, checked, or made on first use."""

    def __init__(self, kv: PlatformKv | None) -> None:
        self._kv = kv
        self._rooms: dict[str, RoomID] = {}
        """Known rooms (all of them when there is no store: the bridge then forgets them)."""
        self._lock = asyncio.Lock()

    @staticmethod
    def valid_user(user_id: str) -> bool:
        return _USER_ID.match(user_id) is not None

    async def known(self, user_id: str) -> RoomID | None:
        """The direct room remembered for ``user_id``, unchecked (None: none yet)."""
        room = self._rooms.get(user_id)
        if room is None and self._kv is not None:
            raw = await self._kv.get(_KEY + user_id)
            room = RoomID(raw) if raw else None
        return room

    async def room_for(self, bot: IntentAPI, user_id: str) -> RoomID:
        """The person's direct room, made now if there is none they are still in. Raises the
        homeserver's refusal (an unknown user, a server that will not take invites)."""
        async with self._lock:  # two private messages at once must not make two rooms
            room = await self.known(user_id)
            if room is not None and await _still_there(bot, room, UserID(user_id)):
                return room
            # Homeservers accept invites for users that do not exist; a profile they have.
            await bot.get_profile(UserID(user_id))
            room = await bot.create_room(
                preset=RoomCreatePreset.TRUSTED_PRIVATE,
                is_direct=True,
                invitees=[UserID(user_id)],
            )
            log.info("opened a direct room with %s", user_id)
            if len(self._rooms) >= _CACHE:
                self._rooms.pop(next(iter(self._rooms)))
            self._rooms[user_id] = room
            if self._kv is not None:
                await self._kv.set(_KEY + user_id, str(room))
            return room


async def _still_there(bot: IntentAPI, room: RoomID, user: UserID) -> bool:
    try:
        member = await bot.get_state_event(room, EventType.ROOM_MEMBER, user)
    except MatrixRequestError:  # the bot is no longer in the room, or it is gone
        return False
    return getattr(member, "membership", None) in _STILL_THERE
