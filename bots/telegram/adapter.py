"""The Telegram adapter: carries messages between Telegram groups and the bridge core.

It speaks the Bot API through python-telegram-bot's ``telegram.Bot`` only (no ``Application``,
no ``Updater``, no rate limiter): the outbox paces and retries deliveries itself, and inbound
updates are confirmed to Telegram (by advancing the ``getUpdates`` offset) only after the
router's sink has made them durable, so a crash re-delivers instead of losing.

The work is shared out: ``polling`` (the getUpdates loop), ``inbound`` (updates -> events),
``commands``, ``outbound`` (copies: parts, edits, deletes, reactions) and ``files``. Choices
worth knowing (also in the README):

- A bot shows one reaction per message: the most used emoji of the people elsewhere.
- An update python-telegram-bot cannot parse is skipped (logged once, shown in /health).
- Telegram never tells bots about deletions; ``/delete`` (a reply to a message) is the way.
- Text always goes out as ``entities``, never ``parse_mode``: nothing a remote user types can
  become Telegram markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence

from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError

from bots.base import (
    Adapter,
    Capabilities,
    Feature,
    Inbound,
    InboundSink,
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
)
from bots.telegram.commands import TelegramCommands
from bots.telegram.common import DOWNLOAD_LIMIT
from bots.telegram.files import TelegramFiles
from bots.telegram.inbound import TelegramInbound
from bots.telegram.outbound import TelegramOutbound
from bots.telegram.polling import Poller
from bots.telegram.session import BotSession
from bots.telegram.text import TELEGRAM_LIMIT
from bridge.commands import CommandSpec
from bridge.nft.safe_fetch import ATTACHMENT_POLICY, FetchPolicy
from bridge.store.parts import PartsMemory
from bridge.tasks import cancel_and_wait

__all__ = ["TelegramAdapter"]

log = logging.getLogger(__name__)


class TelegramAdapter(Adapter):
    """A Telegram bot that relays its groups' messages and posts the bridge's copies there."""

    platform = "telegram"
    capabilities = Capabilities(
        Feature.EDIT
        | Feature.DELETE
        | Feature.REPLY
        | Feature.REACT
        | Feature.ATTACHMENTS
        | Feature.PRIVATE_MESSAGES
        | Feature.PROFILE_PHOTOS,
        TELEGRAM_LIMIT,
    )

    def __init__(
        self,
        *,
        token: str,
        commands: Sequence[CommandSpec] = (),
        api_base_url: str = "https://api.telegram.org/bot",
        file_base_url: str = "https://api.telegram.org/file/bot",
        admins: Collection[int] = (),
        max_attachment_bytes: int = DOWNLOAD_LIMIT,
        poll_timeout: int = 30,
        request_timeout: float = 20.0,
        retry_delay: float = 1.0,
        max_retry_delay: float = 60.0,
        parts: PartsMemory | None = None,
        fetch_policy: FetchPolicy = ATTACHMENT_POLICY,
    ) -> None:
        """``fetch_policy``: what attachment URLs from other platforms may reach (the shared
        guarded fetcher's policy); tests admit their own 127.0.0.1 servers with it."""
        if not token:
            raise ValueError("a Telegram bot token is required (from @BotFather)")
        self._session = BotSession(
            token=token,
            api_base_url=api_base_url,
            file_base_url=file_base_url,
            request_timeout=request_timeout,
        )
        self._files = TelegramFiles(
            self._session,
            max_download=max(0, min(max_attachment_bytes, DOWNLOAD_LIMIT)),
            fetch_policy=fetch_policy,
        )
        self._commands = TelegramCommands(self._session, commands, admins)
        self._inbound = TelegramInbound(self._session, self._files, self._commands, self._deliver)
        self._outbound = TelegramOutbound(self._session, self._files, parts)
        self._polling = Poller(
            self._session,
            connect=self._connect,
            process=self._inbound.process,
            poll_timeout=poll_timeout,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
        )
        self._sink: InboundSink | None = None
        self._poller: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------------- lifecycle

    @property
    def bot_username(self) -> str | None:
        return self._session.username

    @property
    def skipped_updates(self) -> int:
        return self._polling.skipped_updates

    @property
    def last_error(self) -> str | None:
        """What /health shows next to the connection state: skipped updates, if any."""
        return self._polling.last_error

    def is_connected(self) -> bool:
        # A poller that ended (it never should) is an intake that is down, whatever it said.
        poller = self._poller
        return self._session.connected and poller is not None and not poller.done()

    async def start(self, sink: InboundSink) -> None:
        """Check the token, publish the commands and start polling.

        A bad token raises (the operator must fix the config); a network failure does not:
        the poll loop keeps trying and ``is_connected()`` stays False until it gets through.
        """
        if self._poller is not None:
            raise RuntimeError("the Telegram adapter is already running")
        self._sink = sink
        self._session.fetching = True
        try:
            await self._connect()
        except InvalidToken:
            await self._session.close()
            raise
        except TelegramError as exc:
            log.warning("Telegram is unreachable at start (%s); will keep trying", exc)
        self._poller = asyncio.create_task(self._polling.run(), name="telegram-poll")

    async def stop(self) -> None:
        session = self._session
        session.connected = False
        poller, self._poller = self._poller, None
        await cancel_and_wait(poller)
        offset = self._polling.offset
        if session.ready and offset:
            # Confirm what was processed, so that the next start does not see it again.
            with contextlib.suppress(TelegramError):
                await session.bot.do_api_request(
                    "getupdates", api_kwargs={"offset": offset, "timeout": 0, "limit": 1}
                )
        await session.close()

    async def _connect(self) -> None:
        session = self._session
        await session.bot.initialize()  # getMe (once): learns the bot's username
        # getUpdates answers 409 while a webhook is set.
        await session.bot.delete_webhook(drop_pending_updates=False)
        await self._commands.publish()
        log.info("Telegram: logged in as @%s", session.bot.username)
        session.ready = session.connected = True

    async def _deliver(self, event: Inbound) -> None:
        assert self._sink is not None
        await self._sink(event)

    # ---------------------------------------------------------------------- the contract

    async def send(self, delivery: OutboundMessage) -> NativeId:
        return await self._outbound.send(delivery)

    async def edit(self, delivery: OutboundEdit) -> None:
        await self._outbound.edit(delivery)

    async def delete(self, delivery: OutboundDelete) -> None:
        await self._outbound.delete(delivery)

    async def react(self, delivery: OutboundReaction) -> None:
        await self._outbound.react(delivery)

    async def send_private(self, user_id: str, text: str) -> bool:
        """Send ``text`` (plain) to one user in their private chat with the bot.

        False when Telegram refuses (the user never started the bot, blocked it, or the id is
        unknown) or cannot be reached; never raises for that.
        """
        try:
            chat = int(user_id)
        except ValueError:
            return False
        try:
            await self._commands.send_plain(chat, text, None)
        except (Forbidden, BadRequest):
            return False
        except TelegramError as exc:
            log.warning("Telegram: private message not sent: %s", exc)
            return False
        return True

    async def profile_photo(self, user_id: str) -> bytes | None:
        """The user's current profile photo (a size near 320 px), or None when they have none
        or hide it from bots. Raises on a failure worth trying again later."""
        try:
            uid = int(user_id)
        except ValueError:
            return None
        if uid < 0:
            return None  # a chat speaking as itself (anonymous admin, linked channel)
        return await self._files.profile_photo(uid)

    async def say_in_chat(self, chat_id: str, text: str) -> bool:
        """Post ``text`` (plain) as the bot in any chat it can write to (a private chat too)."""
        return await self.send_private(chat_id, text)
