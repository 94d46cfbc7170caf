"""The ``getUpdates`` loop: updates are confirmed to Telegram only once the sink made them
durable, so a crash re-delivers instead of losing."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Protocol

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from bots.telegram.common import retry_seconds
from bots.telegram.session import BotSession

__all__ = ["ALLOWED_UPDATES", "Poller"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES: Final = ("message", "edited_message", "message_reaction", "callback_query")
_SKIPPED_KEPT: Final = 20
# Attempts at an update whose files cannot be fetched before relaying it with a notice.
_DOWNLOAD_ATTEMPTS: Final = 3


class _Process(Protocol):
    def __call__(self, update: Update, *, final_attempt: bool) -> Awaitable[None]: ...


class Poller:
    def __init__(
        self,
        session: BotSession,
        *,
        connect: Callable[[], Awaitable[None]],
        process: _Process,
        poll_timeout: int,
        retry_delay: float,
        max_retry_delay: float,
    ) -> None:
        self._session = session
        self._connect = connect
        self._process = process
        self._poll_timeout = max(0, poll_timeout)
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self.offset = 0
        self._attempts: dict[int, int] = {}
        # update id -> why it was skipped (python-telegram-bot could not parse it)
        self._skipped: OrderedDict[int, str] = OrderedDict()
        self.skipped_updates = 0

    @property
    def last_error(self) -> str | None:
        if not self._skipped:
            return None
        update_id, error = next(reversed(self._skipped.items()))
        return f"{self.skipped_updates} unparsable update(s) skipped, the last {update_id}: {error}"

    def _backoff(self, failures: int) -> float:
        delay = min(self._max_retry_delay, self._retry_delay * 2.0 ** min(failures, 16))
        return delay * random.uniform(0.5, 1.0)

    def _down(self) -> None:
        self._session.connected = False

    async def run(self) -> None:
        failures = 0
        session = self._session
        while True:
            try:
                if not session.ready:
                    await self._connect()
                updates = await self._get_updates()
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except Conflict as exc:
                self._down()
                log.error(
                    "Telegram: another process is polling this bot token (%s); stop the other "
                    "bridge instance or webhook. Retrying.",
                    exc.message,
                )
                failures += 1
                await asyncio.sleep(self._backoff(failures))
                continue
            except InvalidToken as exc:
                self._down()
                log.error("Telegram rejects the bot token (%s): check telegram.token", exc)
                failures += 1
                await asyncio.sleep(self._backoff(failures))
                continue
            except TelegramError as exc:
                self._down()
                failures += 1
                log.warning("Telegram polling failed (%s); retry #%d", exc, failures)
                await asyncio.sleep(self._backoff(failures))
                continue
            except Exception:
                # Whatever else goes wrong, the poller keeps going: a stopped poller is an
                # intake that is silently gone.
                self._down()
                failures += 1
                log.exception("Telegram polling failed; retry #%d", failures)
                await asyncio.sleep(self._backoff(failures))
                continue
            if not session.connected:
                log.info("Telegram: polling")
            session.connected = True
            failures = 0
            await self._process_batch(updates)
            if updates:
                # Only now are the updates safe to confirm (next getUpdates carries the offset).
                self.offset = max(self.offset, updates[-1].update_id + 1)

    async def _get_updates(self) -> list[Update]:
        """The next batch, parsed one update at a time.

        ``Bot.get_updates`` parses the whole batch at once: one update python-telegram-bot
        cannot parse fails every call from then on, at the same offset, and the intake stops
        for good. Here such an update is skipped, recorded and logged once, and the offset moves
        past it. (The method name is lower-case on purpose: Bot API method names are
        case-insensitive, and ``do_api_request`` warns for names the library has a method for.)
        """
        bot = self._session.bot
        raw = await bot.do_api_request(
            "getupdates",
            api_kwargs={
                "offset": self.offset,
                "limit": 100,
                "timeout": self._poll_timeout,
                "allowed_updates": list(ALLOWED_UPDATES),
            },
            read_timeout=self._session.request_timeout + self._poll_timeout,
        )
        if not isinstance(raw, list):
            raise TelegramError(f"getUpdates answered {type(raw).__name__}, not a list")
        updates: list[Update] = []
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            try:
                update = Update.de_json(item, bot)
            except Exception as exc:
                update = None
                error = f"{type(exc).__name__}: {exc}"[:200]
            else:
                error = "not an update" if update is None else ""
            if update is not None:
                updates.append(update)
                continue
            if isinstance(update_id, int):
                self._skip(update_id, error)
        return updates

    def _skip(self, update_id: int, error: str) -> None:
        if update_id + 1 > self.offset:
            self.offset = update_id + 1  # confirmed with the next getUpdates: never seen again
        if update_id in self._skipped:
            return
        self._skipped[update_id] = error
        while len(self._skipped) > _SKIPPED_KEPT:
            self._skipped.popitem(last=False)
        self.skipped_updates += 1
        log.warning(
            "Telegram update %d skipped: python-telegram-bot cannot parse it (%s)",
            update_id,
            error,
        )

    async def _process_batch(self, updates: Sequence[Update]) -> None:
        """Process one getUpdates answer; returns once every update in it is durable.

        Each chat's updates run in order (an edit or reaction never overtakes its message);
        different chats run concurrently, so that their events share the router's group
        commit instead of paying for one transaction each, one after the other.
        """
        if len(updates) <= 1:
            for update in updates:
                await self._process_durably(update)
            return
        by_chat: dict[int | None, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            by_chat.setdefault(chat.id if chat is not None else None, []).append(update)
        if len(by_chat) == 1:
            for update in updates:
                await self._process_durably(update)
            return

        async def in_order(chat_updates: list[Update]) -> None:
            for update in chat_updates:
                await self._process_durably(update)

        async with asyncio.TaskGroup() as group:
            for chat_updates in by_chat.values():
                group.create_task(in_order(chat_updates))

    async def _process_durably(self, update: Update) -> None:
        """Process one update, retrying until the sink has it; never skips a durable failure."""
        failures = 0
        while True:
            attempt = self._attempts.get(update.update_id, 0) + 1
            self._attempts[update.update_id] = attempt
            try:
                await self._process(update, final_attempt=attempt >= _DOWNLOAD_ATTEMPTS)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.exception(
                    "Telegram update %d could not be processed; retry #%d",
                    update.update_id,
                    failures,
                )
                await asyncio.sleep(self._backoff(failures))
                continue
            self._attempts.pop(update.update_id, None)
            return
