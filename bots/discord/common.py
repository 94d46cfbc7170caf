"""What the parts of the Discord adapter share: limits, records, ids, errors, how copies look."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import discord

from bots.base import (
    AttachmentKind,
    Author,
    ChatRef,
    NativeId,
    OutboundMessage,
    PermanentError,
    Platform,
    RetryableError,
    RichText,
    UserId,
)
from bots.discord.ids import DiscordChannelId, discord_channel
from bots.discord.text import DISCORD_LIMIT, escape_discord, split_for_discord
from bridge.names import clean_name, clean_text

DEFAULT_API_BASE_URL: Final = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL: Final = "wss://gateway.discord.gg/"
WEBHOOK_NAME: Final = "Parley"
JUMP_URL: Final = "https://discord.com/channels/{guild}/{channel}/{message}"
REPLY_PREFIX: Final = "> ↩ replying to "

MiB: Final = 1024 * 1024
MAX_FILES_PER_MESSAGE: Final = 10
MAX_INBOUND_ATTACHMENTS: Final = 10
MAX_EMBEDS: Final = 5
MAX_EMBED_TEXT: Final = 1024
MAX_USERNAME: Final = 80
MAX_FILENAME: Final = 100
MAX_AVATAR_URL: Final = 2048
MAX_REMEMBERED: Final = 10_000
UNKNOWN_EMOJI: Final = 10014
UNKNOWN_WEBHOOK: Final = 10015
# recover: how far back the history is read (newest first), and how much earlier than the
# source's timestamp a copy may be (whole-second timestamps, clock skew between platforms).
RECOVER_LIMIT: Final = 100
RECOVER_MARGIN: Final = timedelta(seconds=3)
NOTICE_LINE = re.compile(r"\\?\[file (?:too large to relay|could not be relayed): .*\\?\]")
# Message types that carry something a person (or another bot) said; joins, pins, boosts and
# the like are Discord's own notices and are not relayed.
RELAYED_TYPES: Final = frozenset(
    {discord.MessageType.default, discord.MessageType.reply, discord.MessageType.chat_input_command}
)


class KnownMessages(Protocol):
    """The bridge's record of a channel's messages: for edits and deletes made while away."""

    async def between(self, chat: ChatRef, low: int, high: int, limit: int) -> dict[int, RichText]:
        """Message id -> the text the bridge has for the live originals with ids in
        ``[low, high]``, the newest ``limit``."""
        ...


class HistoryCursor(Protocol):
    """Where catch-up resumes: the newest message id seen per channel, kept across restarts."""

    async def get(self, channel_id: int) -> int | None: ...

    async def set(self, channel_id: int, message_id: int) -> None: ...

    async def set_many(self, positions: Mapping[int, int]) -> None: ...


@dataclass(frozen=True, slots=True)
class Sent:
    """What the adapter posted for one delivery, for later edits and deletes."""

    webhook_id: int | None
    part_ids: tuple[int, ...]
    prefix: str
    kinds: str = ""
    """Per part: "t" text, "a" text with files, "f" files only ("" = all text)."""

    def kind(self, index: int) -> str:
        return self.kinds[index] if index < len(self.kinds) else "t"

    def to_json(self) -> dict[str, Any]:
        return {"w": self.webhook_id, "ids": list(self.part_ids), "p": self.prefix, "k": self.kinds}

    @classmethod
    def from_json(cls, raw: Any) -> Sent | None:
        if not isinstance(raw, dict):
            return None
        hook, ids, prefix, kinds = raw.get("w"), raw.get("ids"), raw.get("p"), raw.get("k")
        if (
            not (hook is None or isinstance(hook, int))
            or not isinstance(ids, list)
            or not ids
            or not all(isinstance(i, int) for i in ids)
            or not isinstance(prefix, str)
            or not isinstance(kinds, str)
            or set(kinds) - set("taf")
        ):
            return None
        return cls(hook, tuple(ids), prefix, kinds)


class FileFetchError(Exception):
    """A file could not be fetched; ``retryable`` says whether trying later may help."""

    def __init__(self, reason: str, *, retryable: bool, too_large: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.too_large = too_large


def chat_of(channel_id: int) -> ChatRef:
    return discord_channel(DiscordChannelId(channel_id))


def author_of(user: discord.abc.User) -> Author:
    return Author(
        platform="discord",
        user_id=UserId(str(user.id)),
        display_name=user.display_name,
        username=user.name,
        avatar_url=user.display_avatar.url,
        is_bot=user.bot,
    )


def classify(what: str, exc: discord.HTTPException) -> RetryableError | PermanentError:
    reason = f"{what}: Discord answered {exc.status} (code {exc.code}): {exc.text}"
    if exc.status == 429:
        return RetryableError(reason, retry_after(exc))
    if exc.status >= 500:
        return RetryableError(reason)
    return PermanentError(reason)


def retry_after(exc: discord.HTTPException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = float(headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if 0 <= value <= 86_400 else None


def channel_id_of(chat: ChatRef) -> int:
    if chat.platform != "discord" or not chat.chat_id.isdigit():
        raise PermanentError(f"{chat} is not a Discord channel")
    return int(chat.chat_id)


def message_id_of(native_id: NativeId) -> int:
    if not native_id.isdigit():
        raise PermanentError(f"{native_id!r} is not a Discord message id")
    return int(native_id)


@functools.lru_cache(maxsize=4096)  # the same few people write most messages
def webhook_username(display_name: str, platform: Platform) -> str:
    """``"name (platform)"`` as a webhook username Discord accepts (1-80 characters).

    Discord refuses names containing "discord" or "clyde" and the names "everyone"/"here".
    """
    suffix = f" ({platform})"
    name = clean_name(display_name) or "someone"
    name = name[: MAX_USERNAME - len(suffix)].rstrip()
    full = name + suffix
    full = re.sub(r"(?i)(disc)o(rd)", r"\g<1>0\g<2>", full)
    full = re.sub(r"(?i)(cl)y(de)", r"\g<1>¡\g<2>", full)
    if full.strip().lower() in ("everyone", "here"):
        full = f"{full}."
    return full


def bot_header(display_name: str, platform: Platform) -> str:
    name = clean_name(display_name)[:MAX_USERNAME] or "someone"
    return f"**{escape_discord(name)}** ({platform}): "


def reply_prefix(channel: Any, delivery: OutboundMessage) -> str:
    """The quote line a webhook copy of a reply starts with ("" for a message that is none)."""
    if delivery.reply_to is None or not delivery.reply_to.isdigit():
        return ""
    guild = getattr(channel, "guild", None)
    return REPLY_PREFIX + JUMP_URL.format(
        guild=guild.id if isinstance(guild, discord.Guild) else "@me",
        channel=channel_id_of(delivery.target),
        message=delivery.reply_to,
    )


def bot_prefix(delivery: OutboundMessage) -> str:
    """The name in front of a bot-posted copy ("" when the bridge itself speaks)."""
    if delivery.is_announcement:
        return ""
    return bot_header(delivery.author.display_name, delivery.source.platform)


def render(text: RichText, prefix: str, *, newline: bool = True) -> list[str]:
    """Discord markdown parts of ``text``, with ``prefix`` (a quote line or a name) on the first."""
    if not prefix:
        return split_for_discord(text, DISCORD_LIMIT)
    joiner = "\n" if newline else ""
    parts = split_for_discord(text, DISCORD_LIMIT - len(prefix) - len(joiner))
    if not parts:
        return [prefix.rstrip()]
    return [prefix + joiner + parts[0], *parts[1:]]


def plan_parts(
    contents: list[str], files: list[tuple[str, bytes]], max_bytes: int
) -> list[tuple[str | None, list[tuple[str, bytes]]]]:
    """The messages to post: text parts, the first batch of files on the last text part."""
    batches: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = 0
    for name, data in files:
        if current and (len(current) >= MAX_FILES_PER_MESSAGE or size + len(data) > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append((name, data))
        size += len(data)
    if current:
        batches.append(current)
    plan: list[tuple[str | None, list[tuple[str, bytes]]]] = [(c, []) for c in contents]
    if batches:
        if plan:
            plan[-1] = (plan[-1][0], batches.pop(0))
        plan.extend((None, batch) for batch in batches)
    if not plan:
        raise PermanentError("nothing to send: no text and no file")
    return plan


def found_kinds(ids: Sequence[int], contents: Sequence[str], files: bool) -> str:
    """The kinds of a copy found by ``recover``: its text parts, the first batch of files on
    the last of them, and file-only messages after."""
    texts = min(len(ids), max(1, len(contents)))
    kinds = ["t"] * texts + ["f"] * (len(ids) - texts)
    if files:
        kinds[texts - 1] = "a"
    return "".join(kinds)


def part_kinds(plan: Sequence[tuple[str | None, Sequence[object]]]) -> str:
    """The parts' kinds of a ``plan_parts``: "t" text, "a" text with files, "f" files only."""
    return "".join("f" if content is None else "a" if batch else "t" for content, batch in plan)


def append(text: RichText, line: str) -> RichText:
    separator = "\n" if text.text else ""
    return RichText(text.text + separator + line, text.spans)


def avatar_url(url: str | None) -> str | None:
    if not url or len(url) > MAX_AVATAR_URL:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = clean_text(base).lstrip(".")
    if not base:
        return "file"
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_FILENAME - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else base
        base = base[:MAX_FILENAME]
    return base


def kind_of(mime: str) -> AttachmentKind:
    mime = mime.lower()
    if mime.startswith("image/gif"):
        return "animation"
    if mime.startswith("image/"):
        return "photo"
    if mime.startswith("video/"):
        return "video"
    if mime.startswith("audio/"):
        return "audio"
    return "file"


def is_unicode_emoji(emoji: str) -> bool:
    # Custom emoji arrive as ":name:" or "<:name:id>"; plain words are not emoji either.
    if not emoji or len(emoji) > 16 or emoji.isascii():
        return False
    return not any(ch in emoji for ch in ":<> \t\n")
