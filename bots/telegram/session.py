"""The Bot API client and the state every part of the Telegram adapter reads."""

from __future__ import annotations

import contextlib

from telegram import Bot
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

__all__ = ["BotSession"]


class BotSession:
    """One ``telegram.Bot`` with its HTTP pools, and what is known about the connection."""

    def __init__(
        self, *, token: str, api_base_url: str, file_base_url: str, request_timeout: float
    ) -> None:
        self.request_timeout = request_timeout
        # Sends, edits, file downloads: several outbox workers may be busy at once.
        self.requests = (
            HTTPXRequest(
                connection_pool_size=16,
                connect_timeout=10.0,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                pool_timeout=request_timeout,
                media_write_timeout=max(request_timeout, 60.0),
            ),
            # For Bot.get_updates (unused: the poller parses update by update and goes
            # through the pool above, with the poll timeout added to its read timeout).
            HTTPXRequest(
                connection_pool_size=1,
                connect_timeout=10.0,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                pool_timeout=request_timeout,
            ),
        )
        self.bot = Bot(
            token,
            base_url=api_base_url,
            base_file_url=file_base_url,
            request=self.requests[0],
            get_updates_request=self.requests[1],
        )
        self.fetching = False  # files are fetched between start and stop only
        self.ready = False  # logged in, webhook removed, commands published
        self.connected = False
        # old group id -> supergroup id, learnt from ChatMigrated and service messages
        self.migrated: dict[int, int] = {}

    @property
    def username(self) -> str | None:
        return self.bot.username if self.ready else None

    async def close(self) -> None:
        self.fetching = False
        self.ready = False
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()
        # Also when getMe failed: the HTTP clients exist from the first attempt on.
        for request in self.requests:
            await request.shutdown()
