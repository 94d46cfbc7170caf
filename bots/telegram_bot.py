"""The Telegram adapter: carries messages between Telegram groups and the bridge core.

It speaks the Bot API through python-telegram-bot's ``telegram.Bot`` only (no ``Application``,
no ``Updater``, no rate limiter): the outbox paces and retries deliveries itself, and inbound
updates are confirmed to Telegram (by advancing the ``getUpdates`` offset) only after the
router's sink has made them durable, so a crash re-delivers instead of losing.

Choices worth knowing (also in the README):

- A relayed message longer than Telegram's 4096 UTF-16 units is sent in parts (a file's
  caption holds 1,024; the rest follows as text). Its native id is the first part's id (what
  Telegram reports when someone replies to or reacts on it); how the copy was laid out is
  recorded (memory, and the store through ``parts``), so edits rewrite, add and delete parts
  and deletes reach every part, after a restart too.
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
import mimetypes
import random
import warnings
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, TypeVar

from telegram import (
    Bot,
    BotCommand,
    Chat,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    MessageReactionUpdated,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ReactionEmoji
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bots.base import (
    Adapter,
    Attachment,
    AttachmentKind,
    Author,
    Capabilities,
    ChatRef,
    EditMessage,
    Feature,
    Inbound,
    InboundSink,
    NativeId,
    NewMessage,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    Reaction,
    RetryableError,
    RichText,
    Span,
    TelegramChatId,
    UserId,
)
from bridge.commands import CommandReply, CommandRequest, Commands, parse_command_text, split_args
from bridge.formatting import (
    TELEGRAM_LIMIT,
    human_size,
    split_for_telegram,
    split_rich,
    to_telegram,
    utf16_len,
)
from bridge.formatting import from_telegram as _from_telegram_entities
from bridge.names import clean_name, clean_text
from bridge.nft.safe_fetch import (
    ATTACHMENT_POLICY,
    FetchError,
    FetchPolicy,
    fetch,
    trusted_endpoint_policy,
)
from bridge.store.parts import PartsMemory
from bridge.tasks import cancel_and_wait

__all__ = [
    "CAPTION_LIMIT",
    "DOWNLOAD_LIMIT",
    "TELEGRAM_REACTIONS",
    "UPLOAD_LIMIT",
    "VERIFIED_MARK",
    "TelegramAdapter",
]

log = logging.getLogger(__name__)

CAPTION_LIMIT: Final = 1024
DOWNLOAD_LIMIT: Final = 20 * 1024 * 1024
"""getFile refuses bigger files: the most a bot can ever download."""
UPLOAD_LIMIT: Final = 50 * 1024 * 1024
PHOTO_LIMIT: Final = 10 * 1024 * 1024
PROFILE_PHOTO_LIMIT: Final = 2 * 1024 * 1024
"""The most the bridge downloads of one profile photo (Telegram's are well under)."""
TELEGRAM_REACTIONS: Final[frozenset[str]] = frozenset(e.value for e in ReactionEmoji)
"""The only emoji a bot may react with (anything else is ``REACTION_INVALID``)."""
ALLOWED_UPDATES: Final = ("message", "edited_message", "message_reaction", "callback_query")
MAX_NAME_LENGTH: Final = 64
VERIFIED_MARK: Final = "✓"
"""Shown after the name of an author whose NFT avatar the bridge verified."""
# Bounded memories: enough for a busy day; losing old entries only degrades edits of very old
# split messages and retries of very old partial sends.
_MEMORY: Final = 10_000
_SKIPPED_KEPT: Final = 20
# Attempts at an update whose files cannot be fetched before relaying it with a notice.
_DOWNLOAD_ATTEMPTS: Final = 3
_ANONYMOUS_ADMIN_BOT: Final = 1087968824  # @GroupAnonymousBot, the "from" of anonymous admins
K = TypeVar("K")
V = TypeVar("V")


class _TooLarge(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(f"larger than allowed ({size} bytes)")
        self.size = size


class _Unavailable(Exception):
    """The file cannot be fetched and never will be (404, refused)."""


class _Transient(Exception):
    """A fetch failed this time (timeout, 5xx, unreachable); a later attempt may succeed."""


def _clean_name(name: str) -> str:
    """A display name safe to show (``bridge.names``), bounded; never empty."""
    return clean_name(name, MAX_NAME_LENGTH) or "someone"


def _concat(*parts: RichText) -> RichText:
    text = ""
    spans: list[Span] = []
    for part in parts:
        shift = len(text)
        spans.extend(
            Span(s.kind, s.start + shift, s.end + shift, s.url, s.language) for s in part.spans
        )
        text += part.text
    return RichText(text, tuple(spans))


def _entities(raw: Sequence[Mapping[str, Any]]) -> list[MessageEntity]:
    return [
        MessageEntity(
            type=str(e["type"]),
            offset=int(e["offset"]),
            length=int(e["length"]),
            url=e.get("url"),
            language=e.get("language"),
        )
        for e in raw
    ]


def _seconds(exc: RetryAfter) -> float:
    # Reading retry_after warns (int vs timedelta deprecation) unless PTB_TIMEDELTA is set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _delivery_error(exc: Exception) -> Exception:
    """Map a python-telegram-bot error onto the outbox's two kinds."""
    if isinstance(exc, RetryAfter):
        return RetryableError("telegram flood control", retry_after=_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return PermanentError(
            f"the group became supergroup {exc.new_chat_id}: update the room config"
        )
    if isinstance(exc, BadRequest | Forbidden | InvalidToken):
        # BadRequest subclasses NetworkError: it must be tested first.
        return PermanentError(f"telegram refused: {exc.message}")
    if isinstance(exc, TelegramError):  # TimedOut, NetworkError (5xx), Conflict, bad response
        return RetryableError(f"telegram: {exc.message}")
    return exc


def _chat_id(ref: ChatRef) -> int:
    try:
        return int(ref.chat_id)
    except ValueError:
        raise PermanentError(f"not a Telegram chat id: {ref.chat_id!r}") from None


def _message_id(native: NativeId) -> int:
    try:
        return int(native)
    except ValueError:
        raise PermanentError(f"not a Telegram message id: {native!r}") from None


def _reaction_emoji(emoji: str) -> str | None:
    """The spelling Telegram accepts (with or without U+FE0F), or None if it is not offered."""
    for candidate in (emoji, emoji + "\ufe0f", emoji.replace("\ufe0f", "")):
        if candidate in TELEGRAM_REACTIONS:
            return candidate
    return None


class _LRU(Generic[K, V]):
    """A dict that forgets its oldest entries beyond ``size``."""

    def __init__(self, size: int = _MEMORY) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._data.pop(key, None)


class TelegramAdapter(Adapter):
    """A Telegram bot that relays its groups' messages and posts the bridge's copies there."""

    platform = "telegram"
    capabilities = Capabilities(
        Feature.EDIT | Feature.DELETE | Feature.REPLY | Feature.REACT | Feature.ATTACHMENTS,
        TELEGRAM_LIMIT,
    )

    def __init__(
        self,
        *,
        token: str,
        commands: Commands,
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
        self._memory = parts
        self._commands = commands
        self._admins = frozenset(admins)
        self._max_download = max(0, min(max_attachment_bytes, DOWNLOAD_LIMIT))
        self._poll_timeout = max(0, poll_timeout)
        self._request_timeout = request_timeout
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._fetch_policy = fetch_policy
        # Telegram's file server is the one the operator configured (maybe a local Bot API
        # server): any address, still with the fetcher's caps and timeouts.
        self._file_policy = trusted_endpoint_policy()
        # Sends, edits, file downloads: several outbox workers may be busy at once.
        self._requests = (
            HTTPXRequest(
                connection_pool_size=16,
                connect_timeout=10.0,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                pool_timeout=request_timeout,
                media_write_timeout=max(request_timeout, 60.0),
            ),
            # For Bot.get_updates (unused: _get_updates parses update by update and goes
            # through the pool above, with the poll timeout added to its read timeout).
            HTTPXRequest(
                connection_pool_size=1,
                connect_timeout=10.0,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                pool_timeout=request_timeout,
            ),
        )
        self._bot = Bot(
            token,
            base_url=api_base_url,
            base_file_url=file_base_url,
            request=self._requests[0],
            get_updates_request=self._requests[1],
        )
        self._sink: InboundSink | None = None
        self._fetching = False  # files are fetched between start and stop only
        self._poller: asyncio.Task[None] | None = None
        self._ready = False  # logged in, webhook removed, commands published
        self._connected = False
        self._offset = 0
        self._attempts: dict[int, int] = {}
        # (chat, first part id) -> the other parts of a split message
        self._parts: _LRU[tuple[int, int], list[tuple[int, str]]] = _LRU()
        # idempotency key -> ids already posted by an interrupted multi-part send
        self._progress: _LRU[str, list[int]] = _LRU()
        # (chat, message) -> the emoji the bridge shows on it ("" none; a bot has one)
        self._reactions: _LRU[tuple[int, int], str] = _LRU()
        # update id -> why it was skipped (python-telegram-bot could not parse it)
        self._skipped: OrderedDict[int, str] = OrderedDict()
        self.skipped_updates = 0
        # old group id -> supergroup id, learnt from ChatMigrated and service messages
        self._migrated: dict[int, int] = {}

    # ---------------------------------------------------------------------- lifecycle

    @property
    def bot_username(self) -> str | None:
        return self._bot.username if self._ready else None

    def is_connected(self) -> bool:
        # A poller that ended (it never should) is an intake that is down, whatever it said.
        poller = self._poller
        return self._connected and poller is not None and not poller.done()

    async def start(self, sink: InboundSink) -> None:
        """Check the token, publish the commands and start polling.

        A bad token raises (the operator must fix the config); a network failure does not:
        the poll loop keeps trying and ``is_connected()`` stays False until it gets through.
        """
        if self._poller is not None:
            raise RuntimeError("the Telegram adapter is already running")
        self._sink = sink
        self._fetching = True
        try:
            await self._connect()
        except InvalidToken:
            await self._close()
            raise
        except TelegramError as exc:
            log.warning("Telegram is unreachable at start (%s); will keep trying", exc)
        self._poller = asyncio.create_task(self._poll_loop(), name="telegram-poll")

    async def stop(self) -> None:
        self._connected = False
        poller, self._poller = self._poller, None
        await cancel_and_wait(poller)
        if self._ready and self._offset:
            # Confirm what was processed, so that the next start does not see it again.
            with contextlib.suppress(TelegramError):
                await self._bot.do_api_request(
                    "getupdates", api_kwargs={"offset": self._offset, "timeout": 0, "limit": 1}
                )
        await self._close()

    async def _close(self) -> None:
        self._fetching = False
        self._ready = False
        with contextlib.suppress(TelegramError):
            await self._bot.shutdown()
        # Also when getMe failed: the HTTP clients exist from the first attempt on.
        for request in self._requests:
            await request.shutdown()

    async def _connect(self) -> None:
        await self._bot.initialize()  # getMe (once): learns the bot's username
        # getUpdates answers 409 while a webhook is set.
        await self._bot.delete_webhook(drop_pending_updates=False)
        await self._publish_commands()
        log.info("Telegram: logged in as @%s", self._bot.username)
        self._ready = self._connected = True

    async def _publish_commands(self) -> None:
        commands = [
            BotCommand(spec.name, (spec.description or spec.name)[:256])
            for spec in self._commands.specs()
        ]
        try:
            await self._bot.set_my_commands(commands[:100])
        except TelegramError as exc:  # only the menu suffers; commands still work
            log.warning("Telegram: could not publish the command list: %s", exc)

    # ----------------------------------------------------------------------- polling

    def _backoff(self, failures: int) -> float:
        delay = min(self._max_retry_delay, self._retry_delay * 2.0 ** min(failures, 16))
        return delay * random.uniform(0.5, 1.0)

    async def _poll_loop(self) -> None:
        failures = 0
        while True:
            try:
                if not self._ready:
                    await self._connect()
                updates = await self._get_updates()
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc))
                continue
            except Conflict as exc:
                self._connected = False
                log.error(
                    "Telegram: another process is polling this bot token (%s); stop the other "
                    "bridge instance or webhook. Retrying.",
                    exc.message,
                )
                failures += 1
                await asyncio.sleep(self._backoff(failures))
                continue
            except InvalidToken as exc:
                self._connected = False
                log.error("Telegram rejects the bot token (%s): check telegram.token", exc)
                failures += 1
                await asyncio.sleep(self._backoff(failures))
                continue
            except TelegramError as exc:
                self._connected = False
                failures += 1
                log.warning("Telegram polling failed (%s); retry #%d", exc, failures)
                await asyncio.sleep(self._backoff(failures))
                continue
            except Exception:
                # Whatever else goes wrong, the poller keeps going: a stopped poller is an
                # intake that is silently gone.
                self._connected = False
                failures += 1
                log.exception("Telegram polling failed; retry #%d", failures)
                await asyncio.sleep(self._backoff(failures))
                continue
            if not self._connected:
                log.info("Telegram: polling")
            self._connected = True
            failures = 0
            await self._process_batch(updates)
            if updates:
                # Only now are the updates safe to confirm (next getUpdates carries the offset).
                self._offset = max(self._offset, updates[-1].update_id + 1)

    async def _get_updates(self) -> list[Update]:
        """The next batch, parsed one update at a time.

        ``Bot.get_updates`` parses the whole batch at once: one update python-telegram-bot
        cannot parse fails every call from then on, at the same offset, and the intake stops
        for good. Here such an update is skipped, recorded and logged once, and the offset moves
        past it. (The method name is lower-case on purpose: Bot API method names are
        case-insensitive, and ``do_api_request`` warns for names the library has a method for.)
        """
        raw = await self._bot.do_api_request(
            "getupdates",
            api_kwargs={
                "offset": self._offset,
                "limit": 100,
                "timeout": self._poll_timeout,
                "allowed_updates": list(ALLOWED_UPDATES),
            },
            read_timeout=self._request_timeout + self._poll_timeout,
        )
        if not isinstance(raw, list):
            raise TelegramError(f"getUpdates answered {type(raw).__name__}, not a list")
        updates: list[Update] = []
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            try:
                update = Update.de_json(item, self._bot)
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
        if update_id + 1 > self._offset:
            self._offset = update_id + 1  # confirmed with the next getUpdates: never seen again
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

    @property
    def last_error(self) -> str | None:
        """What /health shows next to the connection state: skipped updates, if any."""
        if not self._skipped:
            return None
        update_id, error = next(reversed(self._skipped.items()))
        return f"{self.skipped_updates} unparsable update(s) skipped, the last {update_id}: {error}"

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

    async def _deliver(self, event: Inbound) -> None:
        assert self._sink is not None
        await self._sink(event)

    async def _process(self, update: Update, *, final_attempt: bool) -> None:
        try:
            if update.message is not None:
                await self._on_message(update.message, final_attempt=final_attempt)
            elif update.edited_message is not None:
                await self._on_edit(update.edited_message)
            elif update.message_reaction is not None:
                await self._on_reaction(update.message_reaction)
            elif update.callback_query is not None:
                with contextlib.suppress(TelegramError):
                    await update.callback_query.answer()
        except _SinkFailure as failure:
            raise failure.cause from None
        except _DownloadFailed:
            raise  # transient: retried (a bounded number of times)
        except Exception:
            # A malformed or unexpected update must not block the chat forever.
            log.exception("Telegram update %d skipped: cannot convert it", update.update_id)

    # ---------------------------------------------------------------------- inbound

    def _author(self, user: User | None, sender_chat: Chat | None) -> Author | None:
        if sender_chat is not None and (user is None or user.id == _ANONYMOUS_ADMIN_BOT):
            # An anonymous admin or a linked channel speaks as the chat itself.
            return Author(
                "telegram",
                UserId(str(sender_chat.id)),
                _clean_name(sender_chat.title or sender_chat.username or "anonymous"),
                username=sender_chat.username,
            )
        if user is None or user.is_bot:
            return None
        return Author(
            "telegram",
            UserId(str(user.id)),
            _clean_name(user.full_name),
            username=user.username,
            is_bot=user.is_bot,
        )

    def _note_migration(self, message: Message) -> bool:
        if message.migrate_to_chat_id is not None:
            self._migrated[message.chat.id] = message.migrate_to_chat_id
            log.warning(
                "Telegram group %d was upgraded to supergroup %d: replace %d with %d in the "
                "room config; until then messages from it are not relayed",
                message.chat.id,
                message.migrate_to_chat_id,
                message.chat.id,
                message.migrate_to_chat_id,
            )
            return True
        if message.migrate_from_chat_id is not None:
            self._migrated[message.migrate_from_chat_id] = message.chat.id
            log.warning(
                "Telegram supergroup %d replaces group %d: update the room config",
                message.chat.id,
                message.migrate_from_chat_id,
            )
            return True
        return False

    async def _on_message(self, message: Message, *, final_attempt: bool) -> None:
        if self._note_migration(message):
            return
        author = self._author(message.from_user, message.sender_chat)
        if author is None:
            return  # bots (including other bridges) are not relayed: no loops
        text = message.text
        if text is not None and await self._maybe_command(message, text, author):
            return
        body = text if text is not None else (message.caption or "")
        entities = message.entities if text is not None else message.caption_entities
        rich = _from_telegram_entities(body, [e.to_dict() for e in entities])
        attachments, notices = await self._attachments(message, final_attempt=final_attempt)
        other = _other_content(message)
        if other:
            notices.append(other)
        if notices:
            suffix = "\n".join(notices)
            rich = _concat(rich, RichText(("\n" if rich.text else "") + suffix))
        if not rich.text and not attachments:
            return  # service messages (joins, pins, ...) are not conversation
        origin = _forwarded_from(message)
        if origin:
            rich = _concat(RichText(f"[forwarded from {origin}]\n"), rich)
        reply_to = None
        parent = message.reply_to_message
        # In forum topics every message "replies" to the topic's first message.
        if parent is not None and not (
            message.is_topic_message and parent.message_id == message.message_thread_id
        ):
            reply_to = NativeId(str(parent.message_id))
        await self._sink_event(
            NewMessage(
                source=ChatRef.telegram(TelegramChatId(message.chat.id)),
                native_id=NativeId(str(message.message_id)),
                author=author,
                text=rich,
                timestamp=_aware(message.date),
                reply_to=reply_to,
                attachments=tuple(attachments),
            )
        )

    async def _sink_event(self, event: Inbound) -> None:
        try:
            await self._deliver(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise _SinkFailure(exc) from exc

    async def _on_edit(self, message: Message) -> None:
        if self._author(message.from_user, message.sender_chat) is None:
            return
        text = message.text
        if text is not None and parse_command_text(text, self.bot_username) is not None:
            return
        body = text if text is not None else (message.caption or "")
        entities = message.entities if text is not None else message.caption_entities
        await self._sink_event(
            EditMessage(
                source=ChatRef.telegram(TelegramChatId(message.chat.id)),
                native_id=NativeId(str(message.message_id)),
                text=_from_telegram_entities(body, [e.to_dict() for e in entities]),
                timestamp=_aware(message.edit_date or message.date),
            )
        )

    async def _on_reaction(self, update: MessageReactionUpdated) -> None:
        if update.user is not None and update.user.id == self._bot.id:
            return  # our own reaction: an echo
        author = self._author(update.user, update.actor_chat)
        if author is None:
            return

        def emoji(reactions: Sequence[object]) -> list[str]:
            return [r.emoji for r in reactions if isinstance(r, ReactionTypeEmoji)]

        old, new = emoji(update.old_reaction), emoji(update.new_reaction)
        source = ChatRef.telegram(TelegramChatId(update.chat.id))
        native = NativeId(str(update.message_id))
        for removed in [e for e in old if e not in new]:
            await self._sink_event(Reaction(source, native, removed, False, author))
        for added in [e for e in new if e not in old]:
            await self._sink_event(Reaction(source, native, added, True, author))

    async def _attachments(
        self, message: Message, *, final_attempt: bool
    ) -> tuple[list[Attachment], list[str]]:
        found = _files_of(message)
        attachments: list[Attachment] = []
        notices: list[str] = []
        for kind, file_id, name, mime, size in found:
            if size is not None and size > self._max_download:
                notices.append(f"[file too large to relay: {name} ({human_size(size)})]")
                continue
            try:
                data = await self._download(file_id)
            except _TooLarge as exc:
                notices.append(f"[file too large to relay: {name} ({human_size(exc.size)})]")
                continue
            except (_Unavailable, BadRequest):
                notices.append(f"[file could not be relayed: {name}]")
                continue
            except (TelegramError, _Transient, TimeoutError) as exc:
                if not final_attempt:
                    raise _DownloadFailed() from exc
                notices.append(f"[file could not be relayed: {name}]")
                continue
            attachments.append(Attachment(kind, name, mime, size=len(data), data=data))
        return attachments, notices

    async def _download(self, file_id: str, limit: int | None = None) -> bytes:
        cap = self._max_download if limit is None else min(limit, self._max_download)
        file = await self._bot.get_file(file_id)
        if file.file_size is not None and file.file_size > cap:
            raise _TooLarge(file.file_size)
        if not file.file_path:
            raise _Unavailable()
        # The URL holds the bot token: it is never logged nor handed on.
        if not self._fetching:
            raise _Unavailable()
        return await self._fetch(file.file_path, cap, self._file_policy)

    async def _fetch(self, url: str, limit: int, policy: FetchPolicy) -> bytes:
        """GET ``url`` through the shared guarded fetcher: at most ``limit`` bytes, bounded
        in time. Raises _TooLarge, _Unavailable (never will work) or _Transient."""
        timeout = max(self._request_timeout, 60.0)
        try:
            result = await fetch(url, policy=policy, max_bytes=limit, accept=None, timeout=timeout)
        except FetchError as exc:
            if exc.too_large:
                raise _TooLarge(None) from exc
            if exc.retryable:
                raise _Transient(exc.public) from exc
            raise _Unavailable() from exc
        return result.body

    # ---------------------------------------------------------------------- commands

    async def _maybe_command(self, message: Message, text: str, author: Author) -> bool:
        parsed = parse_command_text(text, self.bot_username)
        if parsed is None:
            return False
        name, raw = parsed
        private = message.chat.type == Chat.PRIVATE
        if self._commands.spec(name) is None and name == "start" and private:
            name = "help"  # the DM opener: answer with the command list
        # An unknown /foo gets a short answer listing the commands; a command meant for
        # another bot names it (/foo@otherbot), and parse_command_text leaves that alone.
        user = message.from_user
        request = CommandRequest(
            name=name,
            args=split_args(raw),
            raw_args=raw,
            chat=ChatRef.telegram(TelegramChatId(message.chat.id)),
            author=author,
            is_private=private,
            is_admin=user is not None and user.id in self._admins,
            reply_to=(
                NativeId(str(message.reply_to_message.message_id))
                if message.reply_to_message is not None
                and message.reply_to_message.message_id != message.message_thread_id
                else None
            ),
            native_id=NativeId(str(message.message_id)),
        )
        reply = await self._commands.handle(request)
        await self._answer(message, reply, private)
        return True

    async def _answer(self, message: Message, reply: CommandReply, private: bool) -> None:
        """Show a command's reply; never raises (the command itself already ran)."""
        user = message.from_user
        try:
            if reply.private and not private and user is not None:
                try:
                    await self._send_plain(user.id, reply.text, None)
                    return
                except Forbidden:
                    who = f"@{user.username}" if user.username else _clean_name(user.full_name)
                    hint = (
                        f"{who}, open a private chat with @{self._bot.username} and press "
                        "Start, then try again."
                    )
                    await self._send_plain(message.chat.id, hint, message.message_id)
                    return
            await self._send_plain(message.chat.id, reply.text, message.message_id)
        except TelegramError as exc:
            log.warning("Telegram: could not answer /command in %d: %s", message.chat.id, exc)

    async def _send_plain(self, chat: int, text: str, reply_to: int | None) -> None:
        for i, (part, entities) in enumerate(split_for_telegram(RichText.plain(text))):
            await self._bot.send_message(
                chat,
                part,
                entities=_entities(entities),
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to is not None and i == 0
                    else None
                ),
            )

    # ---------------------------------------------------------------------- outbound

    def _display_name(self, author: Author) -> str:
        """The name shown in the bold header.

        An author the bridge's records show with a verified NFT avatar (``author.verified``,
        set by the core) gets a small mark: Telegram cannot show a per-message avatar, so the
        name is all there is. Names never carry a mark of their own (``bridge.names``).
        """
        name = _clean_name(author.display_name)
        if author.verified:
            name = f"{name} {VERIFIED_MARK}"
        return name

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
            await self._send_plain(chat, text, None)
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
        try:
            found = await self._bot.get_user_profile_photos(uid, limit=1)
        except BadRequest:
            return None
        if not found.photos or not found.photos[0]:
            return None
        sizes = sorted(found.photos[0], key=lambda p: p.width)
        # The smallest size that still fills the 256-pixel avatar, else the largest.
        size = next((p for p in sizes if p.width >= 256), sizes[-1])
        if size.file_size is not None and size.file_size > PROFILE_PHOTO_LIMIT:
            return None
        try:
            return await self._download(size.file_id, PROFILE_PHOTO_LIMIT)
        except (_TooLarge, _Unavailable):
            return None

    async def say_in_chat(self, chat_id: str, text: str) -> bool:
        """Post ``text`` (plain) as the bot in any chat it can write to (a private chat too)."""
        return await self.send_private(chat_id, text)

    def _header(self, author: Author, source: ChatRef) -> RichText:
        name = self._display_name(author)
        return RichText(f"{name} ({source.platform}): ", (Span("bold", 0, len(name)),))

    def _with_header(self, author: Author, source: ChatRef, text: RichText) -> RichText:
        return _concat(self._header(author, source), text)

    def _target(self, ref: ChatRef) -> int:
        chat = _chat_id(ref)
        return self._migrated.get(chat, chat)

    async def send(self, delivery: OutboundMessage) -> NativeId:
        rich = (
            delivery.text
            if delivery.is_announcement
            else self._with_header(delivery.author, delivery.source, delivery.text)
        )
        # Every file of a message carries the sender's name, not only the first.
        label = RichText("")
        if not delivery.is_announcement:
            header = self._header(delivery.author, delivery.source)
            label = RichText(header.text.removesuffix(": "), header.spans)
        chat = self._target(delivery.target)
        reply_to = _message_id(delivery.reply_to) if delivery.reply_to is not None else None
        try:
            posted = await self._post(
                delivery.idempotency_key, chat, rich, label, delivery, reply_to
            )
        except ChatMigrated as exc:
            self._migrated[chat] = exc.new_chat_id
            log.warning(
                "Telegram group %d is now supergroup %d: sending there; update the room config",
                chat,
                exc.new_chat_id,
            )
            try:
                posted = await self._post(
                    delivery.idempotency_key, exc.new_chat_id, rich, label, delivery, None
                )
            except TelegramError as again:
                raise _delivery_error(again) from again
        except TelegramError as exc:
            raise _delivery_error(exc) from exc
        self._progress.pop(delivery.idempotency_key)
        first = posted[0][0]
        if len(posted) > 1 or posted[0][1] == _CAPTIONED:
            await self._keep_layout(_chat_id(delivery.target), first, posted)
        return NativeId(str(first))

    async def _keep_layout(self, chat: int, first: int, layout: list[tuple[int, str]]) -> None:
        """Remember how a copy was posted (memory, and the store across restarts)."""
        self._parts[(chat, first)] = layout
        if self._memory is None:
            return
        try:
            await self._memory.put(str(chat), str(first), [list(p) for p in layout])
        except Exception:
            log.exception("Telegram: could not record the parts of %d/%d", chat, first)

    async def _layout(self, chat: int, first: int) -> list[tuple[int, str]]:
        known = self._parts.get((chat, first))
        if known is None and self._memory is not None:
            try:
                raw = await self._memory.get(str(chat), str(first))
            except Exception:
                log.exception("Telegram: could not read the parts of %d/%d", chat, first)
                raw = None
            known = _parse_layout(raw)
            if known:
                self._parts[(chat, first)] = known
        return known or [(first, _TEXT)]

    async def _post(
        self,
        key: str,
        chat: int,
        rich: RichText,
        label: RichText,
        delivery: OutboundMessage,
        reply_to: int | None,
    ) -> list[tuple[int, str]]:
        """Post every part of a message; on a retry, skip the parts an earlier attempt posted.
        Returns (message id, kind) per part: ``_CAPTIONED``, ``_FILE`` or ``_TEXT``."""
        steps = await self._plan(rich, label, delivery.attachments)
        done = self._progress.get(key) or []
        self._progress[key] = done
        for i, step in enumerate(steps):
            if i < len(done):
                continue
            reply = (
                ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to is not None and i == 0
                else None
            )
            done.append(await self._post_one(chat, step, reply))
        kinds = [_TEXT if att is None else _FILE for _, att, _ in steps]
        if _FILE in kinds:
            kinds[kinds.index(_FILE)] = _CAPTIONED
        return list(zip(done, kinds, strict=True))

    async def _plan(
        self, rich: RichText, label: RichText, attachments: Sequence[Attachment]
    ) -> list[tuple[RichText, Attachment | None, bytes | None]]:
        """The messages to send, in order: (text or caption, file, its bytes)."""
        files: list[tuple[Attachment, bytes]] = []
        notices: list[str] = []
        for att in attachments:
            try:
                data = await self._attachment_bytes(att)
            except _TooLarge as exc:
                size = att.size if att.size is not None else exc.size
                notices.append(f"[file too large to relay: {att.filename} ({human_size(size)})]")
                continue
            except _Unavailable:
                notices.append(f"[file could not be relayed: {att.filename}]")
                continue
            files.append((att, data))
        if notices:
            rich = _concat(rich, RichText("\n" + "\n".join(notices)))
        steps: list[tuple[RichText, Attachment | None, bytes | None]] = []
        rest = rich
        if files:
            caption, rest = _caption_and_rest(rich)
            for i, (att, data) in enumerate(files):
                steps.append((caption if i == 0 else label, att, data))
        for text, entities in split_for_telegram(rest):
            steps.append((_to_rich(text, entities), None, None))
        return steps

    async def _attachment_bytes(self, att: Attachment) -> bytes:
        if att.size is not None and att.size > UPLOAD_LIMIT:
            raise _TooLarge(att.size)
        if att.data is not None:
            if len(att.data) > UPLOAD_LIMIT:
                raise _TooLarge(len(att.data))
            return att.data
        assert att.url is not None
        if not self._fetching:
            raise RetryableError("the Telegram adapter is not started")
        try:
            return await self._fetch(att.url, UPLOAD_LIMIT, self._fetch_policy)
        except _Transient as exc:
            raise RetryableError(f"could not fetch the attachment {att.filename}") from exc

    async def _post_one(
        self,
        chat: int,
        step: tuple[RichText, Attachment | None, bytes | None],
        reply: ReplyParameters | None,
    ) -> int:
        rich, att, data = step
        text, raw = to_telegram(rich)
        entities = _entities(raw) if raw else None
        if att is None or data is None:
            sent = await self._bot.send_message(
                chat, text, entities=entities, reply_parameters=reply
            )
            return sent.message_id
        caption = text or None
        if att.kind == "photo" and len(data) <= PHOTO_LIMIT:
            try:
                sent = await self._bot.send_photo(
                    chat,
                    data,
                    caption=caption,
                    caption_entities=entities,
                    reply_parameters=reply,
                    filename=att.filename,
                )
                return sent.message_id
            except BadRequest as exc:  # not an image Telegram can process: send the file
                log.info("Telegram refused a photo (%s); sending it as a file", exc.message)
        if att.kind == "animation":
            # A GIF (or a GIF-like video) plays inline as an animation, not as a file.
            try:
                sent = await self._bot.send_animation(
                    chat,
                    data,
                    caption=caption,
                    caption_entities=entities,
                    reply_parameters=reply,
                    filename=att.filename,
                )
                return sent.message_id
            except BadRequest as exc:
                log.info("Telegram refused an animation (%s); sending it as a file", exc.message)
        sent = await self._bot.send_document(
            chat,
            data,
            caption=caption,
            caption_entities=entities,
            reply_parameters=reply,
            filename=att.filename,
        )
        return sent.message_id

    async def edit(self, delivery: OutboundEdit) -> None:
        """Rewrite every part of the copy: the caption of its file (1,024 units), then the
        text parts, sending new parts when the text grew and deleting those it no longer
        needs (the layout is recorded, so this holds after a restart too)."""
        key_chat = _chat_id(delivery.target)
        chat = self._target(delivery.target)
        first = _message_id(delivery.native_id)
        rich = self._with_header(delivery.author, delivery.source, delivery.text)
        layout = await self._layout(key_chat, first)
        captioned = [mid for mid, kind in layout if kind == _CAPTIONED]
        if captioned:
            caption, rest = _caption_and_rest(rich)
            texts = split_for_telegram(rest) if rest.text else []
        else:
            texts = split_for_telegram(rich)
        old_texts = [mid for mid, kind in layout if kind == _TEXT]
        kept = [(mid, kind) for mid, kind in layout if kind != _TEXT]
        try:
            if captioned:
                await self._edit_caption(chat, captioned[0], caption)
            for i, (text, entities) in enumerate(texts):
                if i < len(old_texts):
                    await self._edit_one(chat, old_texts[i], text, entities)
                    kept.append((old_texts[i], _TEXT))
                    continue
                # The new text is longer: the overflow follows as new messages, remembered at
                # once so that a retry of this edit rewrites them instead of posting them again.
                sent = await self._bot.send_message(chat, text, entities=_entities(entities))
                kept.append((sent.message_id, _TEXT))
                await self._keep_layout(key_chat, first, list(kept))
            stale = old_texts[len(texts) :]
            if stale:
                await self._bot.delete_messages(chat, stale)
        except TelegramError as exc:
            raise _delivery_error(exc) from exc
        if kept != layout:
            await self._keep_layout(key_chat, first, kept)

    async def _edit_caption(self, chat: int, mid: int, caption: RichText) -> None:
        text, raw = to_telegram(caption)
        try:
            await self._bot.edit_message_caption(
                chat_id=chat, message_id=mid, caption=text, caption_entities=_entities(raw)
            )
        except BadRequest as exc:
            if "message is not modified" not in exc.message.lower():
                raise

    async def _edit_one(
        self, chat: int, mid: int, text: str, entities: list[dict[str, Any]]
    ) -> None:
        try:
            await self._bot.edit_message_text(
                text, chat_id=chat, message_id=mid, entities=_entities(entities)
            )
        except BadRequest as exc:
            lowered = exc.message.lower()
            if "message is not modified" in lowered:
                return
            if "no text in the message" not in lowered:
                raise
            # A file with a caption: edit the caption instead (shorter limit).
            pieces = split_rich(_to_rich(text, entities), CAPTION_LIMIT, measure="utf16")
            caption, raw = to_telegram(pieces[0])
            try:
                await self._bot.edit_message_caption(
                    chat_id=chat, message_id=mid, caption=caption, caption_entities=_entities(raw)
                )
            except BadRequest as again:
                if "message is not modified" not in again.message.lower():
                    raise

    async def delete(self, delivery: OutboundDelete) -> None:
        key_chat = _chat_id(delivery.target)
        chat = self._target(delivery.target)
        first = _message_id(delivery.native_id)
        ids = [mid for mid, _ in await self._layout(key_chat, first)]
        try:
            if len(ids) == 1:
                await self._bot.delete_message(chat, first)
            else:
                # deleteMessages skips messages that are already gone.
                await self._bot.delete_messages(chat, ids)
        except BadRequest as exc:
            if "message to delete not found" not in exc.message.lower():
                raise _delivery_error(exc) from exc
        except TelegramError as exc:
            raise _delivery_error(exc) from exc
        if self._parts.pop((key_chat, first)) is not None and self._memory is not None:
            with contextlib.suppress(Exception):
                await self._memory.forget(str(key_chat), str(first))

    async def react(self, delivery: OutboundReaction) -> None:
        # A bot shows one reaction per message: the most used emoji of the people elsewhere
        # that Telegram offers (the list is most used first), or none once nobody has one.
        chat = _chat_id(delivery.target)
        mid = _message_id(delivery.native_id)
        key = (chat, mid)
        current = self._reactions.get(key)  # "" = none shown; None = unknown (a restart)
        if delivery.counts is not None:
            chosen = next(
                (e for e in (_reaction_emoji(em) for em, _ in delivery.counts) if e), None
            )
        else:  # a row queued by an older bridge: this person's change alone
            emoji = _reaction_emoji(delivery.emoji)
            if emoji is None or (not delivery.added and current not in (None, emoji)):
                return
            chosen = emoji if delivery.added else None
        if current is not None and current == (chosen or ""):
            return  # what the bridge shows stays the same
        if current is None and chosen is None and _reaction_emoji(delivery.emoji) is None:
            return  # nothing Telegram could have shown
        try:
            await self._bot.set_message_reaction(
                chat, mid, [ReactionTypeEmoji(chosen)] if chosen is not None else []
            )
        except BadRequest as exc:
            # The chat limits reactions, or the message is gone: nothing to retry.
            log.info("Telegram: reaction %s on %d/%d refused: %s", chosen, chat, mid, exc.message)
            return
        except TelegramError as exc:
            raise _delivery_error(exc) from exc
        self._reactions[key] = chosen or ""


class _SinkFailure(Exception):
    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _DownloadFailed(Exception):
    """A file could not be downloaded this time; the update is retried."""


_TEXT: Final = "t"
_FILE: Final = "f"
_CAPTIONED: Final = "c"
"""Kinds of the parts of a copy: a text message, a file, the file that carries the caption."""


def _parse_layout(raw: Any) -> list[tuple[int, str]] | None:
    if not isinstance(raw, list) or not raw:
        return None
    layout: list[tuple[int, str]] = []
    for item in raw:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], int)
            or item[1] not in (_TEXT, _FILE, _CAPTIONED)
        ):
            return None
        layout.append((item[0], item[1]))
    return layout


def _caption_and_rest(rich: RichText) -> tuple[RichText, RichText]:
    """A file's caption (Telegram allows 1,024 UTF-16 units) and the text that follows it."""
    if utf16_len(rich.text) <= CAPTION_LIMIT:
        return rich, RichText("")
    pieces = split_rich(rich, CAPTION_LIMIT, measure="utf16")
    return pieces[0], _concat(*pieces[1:])


_MAX_POLL_OPTIONS: Final = 12


def _one_line(text: str, limit: int = 300) -> str:
    return clean_text(text, limit)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _to_rich(text: str, entities: Sequence[Mapping[str, Any]]) -> RichText:
    return _from_telegram_entities(text, entities)


def _files_of(
    message: Message,
) -> list[tuple[AttachmentKind, str, str, str, int | None]]:
    """(kind, file_id, filename, mime, size) of each file in the message."""
    unique = ""
    out: list[tuple[AttachmentKind, str, str, str, int | None]] = []
    if message.photo:
        largest = message.photo[-1]
        unique = largest.file_unique_id
        out.append(
            ("photo", largest.file_id, f"photo_{unique}.jpg", "image/jpeg", largest.file_size)
        )
    # An animation message also carries it as a document: look at the animation first.
    elif message.animation is not None:
        a = message.animation
        name = a.file_name or f"animation_{a.file_unique_id}.mp4"
        out.append(("animation", a.file_id, name, a.mime_type or "video/mp4", a.file_size))
    elif message.document is not None:
        d = message.document
        name = d.file_name or f"file_{d.file_unique_id}"
        mime = d.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        out.append(("file", d.file_id, name, mime, d.file_size))
    elif message.video is not None:
        v = message.video
        name = v.file_name or f"video_{v.file_unique_id}.mp4"
        out.append(("video", v.file_id, name, v.mime_type or "video/mp4", v.file_size))
    elif message.video_note is not None:
        n = message.video_note
        out.append(("video", n.file_id, f"video_{n.file_unique_id}.mp4", "video/mp4", n.file_size))
    elif message.audio is not None:
        au = message.audio
        name = au.file_name or f"audio_{au.file_unique_id}.mp3"
        out.append(("audio", au.file_id, name, au.mime_type or "audio/mpeg", au.file_size))
    elif message.voice is not None:
        vo = message.voice
        name = f"voice_{vo.file_unique_id}.ogg"
        out.append(("voice", vo.file_id, name, vo.mime_type or "audio/ogg", vo.file_size))
    elif message.sticker is not None:
        s = message.sticker
        ext, mime = (
            ("tgs", "application/x-tgsticker")
            if s.is_animated
            else ("webm", "video/webm")
            if s.is_video
            else ("webp", "image/webp")
        )
        out.append(("sticker", s.file_id, f"sticker_{s.file_unique_id}.{ext}", mime, s.file_size))
    return out


def _forwarded_from(message: Message) -> str | None:
    """Who a forwarded message came from, as Telegram shows it (None: not forwarded)."""
    origin = message.forward_origin
    if origin is None:
        return None
    name: str | None = None
    if isinstance(origin, MessageOriginUser):
        name = origin.sender_user.full_name
    elif isinstance(origin, MessageOriginHiddenUser):
        name = origin.sender_user_name
    elif isinstance(origin, MessageOriginChat):
        name = origin.sender_chat.title or origin.sender_chat.username
    elif isinstance(origin, MessageOriginChannel):
        name = origin.chat.title or origin.chat.username
        if origin.author_signature:
            name = f"{name} ({origin.author_signature})"
    return _clean_name(name or "someone")


def _other_content(message: Message) -> str | None:
    """A short notice for content that has no file and no text (so it is not silently lost)."""
    if message.poll is not None:
        poll = message.poll
        lines = [f"[poll: {_one_line(poll.question)}]"]
        lines += [f"• {_one_line(o.text)}" for o in poll.options[:_MAX_POLL_OPTIONS]]
        return "\n".join(lines)
    if message.venue is not None:
        return f"[venue: {message.venue.title}]"
    if message.location is not None:
        loc = message.location
        return f"[location: {loc.latitude:.5f}, {loc.longitude:.5f}]"
    if message.contact is not None:
        # The phone number was shared in the message itself, by the person who sent it.
        contact = message.contact
        name = _clean_name(" ".join(p for p in (contact.first_name, contact.last_name) if p))
        return f"[contact: {name}, {_one_line(contact.phone_number)}]"
    if message.dice is not None:
        return f"[{message.dice.emoji} {message.dice.value}]"
    return None
