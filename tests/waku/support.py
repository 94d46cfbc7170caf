"""Shared helpers for the Waku tests."""

from __future__ import annotations

import asyncio
from typing import TypedDict

from bridge.store import Store
from bridge.store.origins import StoredOrigins
from bridge.store.parts import StoredParts
from bridge.store.platform_kv import PlatformKv
from bridge.store.status_communities import StoredCommunities
from bridge.waku.node import ReceivedMessage

__all__ = ["Inbox", "StoreViews", "store_views"]


class StoreViews(TypedDict):
    kv: PlatformKv
    parts: StoredParts
    origins: StoredOrigins
    community_records: StoredCommunities


def store_views(store: Store) -> StoreViews:
    """What the relay's ``PlatformContext`` gives the Waku rooms of ``store``."""
    return StoreViews(
        kv=PlatformKv(store, "waku"),
        parts=StoredParts(lambda: store, "waku"),
        origins=StoredOrigins(lambda: store, "waku"),
        community_records=StoredCommunities(store),
    )


class Inbox:
    """A node handler that collects what it is given (a client's view of a topic)."""

    def __init__(self) -> None:
        self.items: list[ReceivedMessage] = []
        self.changed = asyncio.Event()

    async def __call__(self, received: ReceivedMessage) -> None:
        self.items.append(received)
        self.changed.set()

    async def wait_for(self, n: int) -> list[ReceivedMessage]:
        async with asyncio.timeout(10):
            while len(self.items) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.items

    @property
    def payloads(self) -> list[bytes]:
        return [r.message.payload for r in self.items]
