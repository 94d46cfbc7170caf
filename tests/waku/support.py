"""Shared helpers for the Waku tests."""

from __future__ import annotations

import asyncio

from bridge.waku.node import ReceivedMessage

__all__ = ["Inbox"]


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
