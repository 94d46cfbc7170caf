"""The bridge's ``Notifier`` (``bridge.notify``) over the relay: announcements go through the
router into the durable outbox (so they survive a restart like any relayed message); private
notes go straight to the adapter of the user's platform, best effort."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from bridge.model import Adapter, ChatRef, Feature, Platform, UserId
from bridge.router import Router

__all__ = ["RelayNotifier"]

log = logging.getLogger(__name__)


class _Relay(Protocol):
    @property
    def bridge_name(self) -> str: ...

    @property
    def router(self) -> Router: ...

    @property
    def adapters(self) -> Mapping[Platform, Adapter]: ...


class RelayNotifier:
    """The bridge's ``Notifier`` (see ``bridge.notify``)."""

    def __init__(self, relay: _Relay) -> None:
        self._relay = relay

    async def announce(self, chat: ChatRef, text: str) -> None:
        queued = await self._relay.router.announce(chat, text, author_name=self._relay.bridge_name)
        if queued is None:
            # A chat in no room (a private chat with the bot, where /link is safest): the
            # outbox has no route there, but whoever asked there must hear the result.
            await self._say_directly(chat, text)

    async def _say_directly(self, chat: ChatRef, text: str) -> bool:
        adapter = self._relay.adapters.get(chat.platform)
        if adapter is None:
            return False
        try:
            return await adapter.say_in_chat(str(chat.chat_id), text)
        except Exception:
            log.exception("message to %s failed", chat)
            return False

    async def announce_room(self, chat: ChatRef, text: str) -> None:
        room = self._relay.router.room_of(chat)
        for member in room.members if room is not None else (chat,):
            await self.announce(member, text)

    async def tell_user(self, platform: Platform, user_id: UserId, text: str) -> bool:
        adapter = self._relay.adapters.get(platform)
        if adapter is None or Feature.PRIVATE_MESSAGES not in adapter.capabilities:
            return False
        try:
            return await adapter.send_private(str(user_id), text)
        except Exception:
            log.exception("private message on %s failed", platform)
            return False
