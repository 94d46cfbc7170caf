"""The Discord connection's state that every part of the adapter reads."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Collection
from typing import Any

import aiohttp
import discord

from bots.base import PermanentError, RetryableError
from bots.discord.common import MAX_REMEMBERED, classify

__all__ = ["DiscordState"]


class DiscordState:
    """The client (while started), the bridged channels, our webhooks, per-channel locks."""

    def __init__(
        self, *, channels: Collection[int], own_webhooks: set[int], timeout: float, max_bytes: int
    ) -> None:
        self.client: discord.Client | None = None
        self.channels = frozenset(int(c) for c in channels)
        self.gateway_up = False
        # Our webhooks: the loop-prevention list. Configured ids are known before any echo.
        self.own_webhooks = own_webhooks
        self.locks: dict[int, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self.self_deleted: collections.OrderedDict[int, None] = collections.OrderedDict()
        self.timeout = timeout
        self.max_bytes = max_bytes

    def require_client(self) -> discord.Client:
        if self.client is None:
            raise RuntimeError("the Discord adapter is not started")
        return self.client

    def connected_client(self) -> discord.Client:
        client = self.client
        if client is None or client.is_closed() or not client.is_ready():
            raise RetryableError("the Discord bot is not connected")
        return client

    async def channel(self, client: discord.Client, channel_id: int) -> Any:
        channel = client.get_channel(channel_id)
        if channel is None:
            channel = await client.fetch_channel(channel_id)
        return channel

    def mark_self_deleted(self, message_id: int) -> None:
        self.self_deleted[message_id] = None
        while len(self.self_deleted) > MAX_REMEMBERED:
            self.self_deleted.popitem(last=False)

    @contextlib.asynccontextmanager
    async def errors(self, what: str) -> AsyncIterator[None]:
        """Turn discord.py and network failures into the outbox's two delivery errors."""
        try:
            async with asyncio.timeout(self.timeout):
                yield
        except (RetryableError, PermanentError):
            raise
        except discord.RateLimited as exc:
            raise RetryableError(f"{what}: rate limited", exc.retry_after) from exc
        except discord.HTTPException as exc:
            raise classify(what, exc) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise RetryableError(f"{what}: {type(exc).__name__}: {exc}") from exc
