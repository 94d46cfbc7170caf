"""How features speak in chats: announcements in a chat and private notes to one user.

Features (wallet linking, tips, the feed) take a ``Notifier`` and never talk to a platform
themselves. The bridge's implementation queues announcements through the durable outbox (so
they survive a restart like any relayed message) and sends private notes through the adapter
of the user's platform (Telegram DM, Discord DM), best effort.
"""

from __future__ import annotations

from typing import Protocol

from bridge.model import ChatRef, Platform, UserId

__all__ = ["Notifier"]


class Notifier(Protocol):
    async def announce(self, chat: ChatRef, text: str) -> None:
        """Post ``text`` (plain) as the bridge in ``chat``; returns once it is queued durably."""

    async def announce_room(self, chat: ChatRef, text: str) -> None:
        """Post ``text`` in every chat of the room that ``chat`` belongs to (or just ``chat``)."""

    async def tell_user(self, platform: Platform, user_id: UserId, text: str) -> bool:
        """Send ``text`` privately to one user; False when the platform refused (e.g. no DM)."""
