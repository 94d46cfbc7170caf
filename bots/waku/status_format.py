"""How the Waku adapter turns platform text, names, ids and emoji into what Status shows, and
back: bounds, cleaning and the six Status reactions (used by bots/waku/outbound.py and
bots/waku/inbound.py)."""

from __future__ import annotations

import re
import uuid
from typing import Final

from bridge.model import Attachment
from bridge.names import clean_name
from bridge.status import MAX_TEXT_LENGTH, ContentType, ReactionType
from crypto.keccak import keccak256

__all__ = [
    "EMPTY",
    "MAX_NAME",
    "NS_PER_MS",
    "NS_PER_S",
    "PLACEHOLDERS",
    "STATUS_ID",
    "attachment_line",
    "bounded_id",
    "clean",
    "derive_installation_id",
    "emoji_for_reaction",
    "http_url",
    "reaction_for_emoji",
    "truncate",
]

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
_TRUNCATED: Final = "… [truncated]"
EMPTY: Final = "[empty message]"
# Builder limits (bridge.status.chat) and what Status shows comfortably.
MAX_NAME = 100
_MAX_ID = 256
_MAX_URL = 2048
STATUS_ID = re.compile(r"0x[0-9a-f]{64}")
# Shown instead of text for Status content types that carry no text of their own.
PLACEHOLDERS: Final[dict[int, str]] = {
    ContentType.IMAGE: "[image]",
    ContentType.STICKER: "[sticker]",
    ContentType.AUDIO: "[audio message]",
}


# --- reactions -------------------------------------------------------------------------------

_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TO_STATUS: Final[dict[str, ReactionType]] = {
    "❤": ReactionType.LOVE,
    "♥": ReactionType.LOVE,
    "😍": ReactionType.LOVE,
    "🥰": ReactionType.LOVE,
    "👍": ReactionType.THUMBS_UP,
    "👎": ReactionType.THUMBS_DOWN,
    "😂": ReactionType.LAUGH,
    "🤣": ReactionType.LAUGH,
    "😆": ReactionType.LAUGH,
    "😢": ReactionType.SAD,
    "😭": ReactionType.SAD,
    "😞": ReactionType.SAD,
    "😡": ReactionType.ANGRY,
    "😠": ReactionType.ANGRY,
    "🤬": ReactionType.ANGRY,
}
_FROM_STATUS: Final[dict[int, str]] = {
    ReactionType.LOVE: "❤️",
    ReactionType.THUMBS_UP: "👍",
    ReactionType.THUMBS_DOWN: "👎",
    ReactionType.LAUGH: "😂",
    ReactionType.SAD: "😢",
    ReactionType.ANGRY: "😡",
}


def reaction_for_emoji(emoji: str) -> ReactionType | None:
    """Status's reaction for ``emoji`` (variation selectors and skin tones ignored), or None."""
    bare = "".join(ch for ch in emoji if ch != "\ufe0f" and ord(ch) not in _SKIN_TONES)
    return _TO_STATUS.get(bare)


def emoji_for_reaction(reaction: int) -> str | None:
    return _FROM_STATUS.get(reaction)


# --- text, names and ids ---------------------------------------------------------------------


def clean(text: str, limit: int) -> str:
    """One line of visible text without check marks (``bridge.names``), bounded."""
    return clean_name(text)[:limit].strip()


def http_url(url: str | None) -> str:
    if url and len(url) <= _MAX_URL and url.startswith(("https://", "http://")):
        return url
    return ""


def bounded_id(value: str) -> str:
    # Ids travel to Status verbatim when they fit; a longer one is replaced by its hash so that
    # it stays stable (an equal id must still mean the same message).
    return value if len(value) <= _MAX_ID else "0x" + keccak256(value.encode()).hex()


def truncate(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(_TRUNCATED)].rstrip() + _TRUNCATED


def attachment_line(attachment: Attachment) -> str:
    name = clean(attachment.filename, MAX_NAME) or attachment.kind
    url = http_url(attachment.url)
    return f"[{attachment.kind}: {name}]" + (f" {url}" if url else "")


def derive_installation_id(pub: bytes) -> str:
    # status-go installation ids are UUIDv4 strings; derive one from the key so that it stays
    # the same across restarts without any state.
    raw = bytearray(keccak256(b"parley/installation-id/" + pub)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))
