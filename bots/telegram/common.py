"""What the parts of the Telegram adapter share: limits, error mapping, ids, small memories."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final, Generic, TypeVar

from telegram import MessageEntity
from telegram.constants import ReactionEmoji
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bots.base import ChatRef, NativeId, PermanentError, RetryableError, RichText, Span
from bridge.names import clean_name

__all__ = [
    "CAPTION_LIMIT",
    "DOWNLOAD_LIMIT",
    "LRU",
    "PHOTO_LIMIT",
    "PROFILE_PHOTO_LIMIT",
    "TELEGRAM_REACTIONS",
    "UPLOAD_LIMIT",
    "VERIFIED_MARK",
    "DownloadFailed",
    "SinkFailure",
    "TooLarge",
    "Transient",
    "Unavailable",
    "chat_id_of",
    "concat",
    "delivery_error",
    "display_safe",
    "message_id_of",
    "reaction_emoji",
    "retry_seconds",
    "to_entities",
]

CAPTION_LIMIT: Final = 1024
DOWNLOAD_LIMIT: Final = 20 * 1024 * 1024
"""getFile refuses bigger files: the most a bot can ever download."""
UPLOAD_LIMIT: Final = 50 * 1024 * 1024
PHOTO_LIMIT: Final = 10 * 1024 * 1024
PROFILE_PHOTO_LIMIT: Final = 2 * 1024 * 1024
"""The most the bridge downloads of one profile photo (Telegram's are well under)."""
TELEGRAM_REACTIONS: Final[frozenset[str]] = frozenset(e.value for e in ReactionEmoji)
"""The only emoji a bot may react with (anything else is ``REACTION_INVALID``)."""
MAX_NAME_LENGTH: Final = 64
VERIFIED_MARK: Final = "✓"
"""Shown after the name of an author whose NFT avatar the bridge verified."""
# Bounded memories: enough for a busy day; losing old entries only degrades edits of very old
# split messages and retries of very old partial sends.
_MEMORY: Final = 10_000
K = TypeVar("K")
V = TypeVar("V")


class TooLarge(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(f"larger than allowed ({size} bytes)")
        self.size = size


class Unavailable(Exception):
    """The file cannot be fetched and never will be (404, refused)."""


class Transient(Exception):
    """A fetch failed this time (timeout, 5xx, unreachable); a later attempt may succeed."""


class SinkFailure(Exception):
    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class DownloadFailed(Exception):
    """A file could not be downloaded this time; the update is retried."""


def display_safe(name: str) -> str:
    """A display name safe to show (``bridge.names``), bounded; never empty."""
    return clean_name(name, MAX_NAME_LENGTH) or "someone"


def concat(*parts: RichText) -> RichText:
    text = ""
    spans: list[Span] = []
    for part in parts:
        shift = len(text)
        spans.extend(
            Span(s.kind, s.start + shift, s.end + shift, s.url, s.language) for s in part.spans
        )
        text += part.text
    return RichText(text, tuple(spans))


def to_entities(raw: Sequence[Mapping[str, Any]]) -> list[MessageEntity]:
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


def retry_seconds(exc: RetryAfter) -> float:
    # Reading retry_after warns (int vs timedelta deprecation) unless PTB_TIMEDELTA is set.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(exc: Exception) -> Exception:
    """Map a python-telegram-bot error onto the outbox's two kinds."""
    if isinstance(exc, RetryAfter):
        return RetryableError("telegram flood control", retry_after=retry_seconds(exc))
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


def chat_id_of(ref: ChatRef) -> int:
    try:
        return int(ref.chat_id)
    except ValueError:
        raise PermanentError(f"not a Telegram chat id: {ref.chat_id!r}") from None


def message_id_of(native: NativeId) -> int:
    try:
        return int(native)
    except ValueError:
        raise PermanentError(f"not a Telegram message id: {native!r}") from None


def reaction_emoji(emoji: str) -> str | None:
    """The spelling Telegram accepts (with or without U+FE0F), or None if it is not offered."""
    for candidate in (emoji, emoji + "\ufe0f", emoji.replace("\ufe0f", "")):
        if candidate in TELEGRAM_REACTIONS:
            return candidate
    return None


class LRU(Generic[K, V]):
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
