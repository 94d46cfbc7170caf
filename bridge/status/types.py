"""Status wire enums (status-go's numbers) and the error every Status decoder raises."""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "MAX_TEXT_LENGTH",
    "AppMessageType",
    "ChatType",
    "ContentType",
    "ReactionType",
    "StatusDecodeError",
]

# status-go message_validator.go: longer texts are dropped by every Status client (in runes).
MAX_TEXT_LENGTH = 4096


class StatusDecodeError(ValueError):
    """A Status payload that is malformed, unsigned, or that status-go itself would drop."""


class AppMessageType(IntEnum):
    """ApplicationMetadataMessage.Type: what the signed payload contains (subset)."""

    UNKNOWN = 0
    CHAT_MESSAGE = 1
    EMOJI_REACTION = 22
    COMMUNITY_DESCRIPTION = 25
    PIN_MESSAGE = 28
    EDIT_MESSAGE = 29
    DELETE_MESSAGE = 31


class ChatType(IntEnum):
    """enums.proto MessageType: the kind of chat a message belongs to."""

    UNKNOWN_MESSAGE_TYPE = 0
    ONE_TO_ONE = 1
    PUBLIC_GROUP = 2
    PRIVATE_GROUP = 3
    SYSTEM_MESSAGE_PRIVATE_GROUP = 4
    COMMUNITY_CHAT = 5
    SYSTEM_MESSAGE_GAP = 6


class ContentType(IntEnum):
    """ChatMessage.ContentType (subset the bridge cares about)."""

    UNKNOWN_CONTENT_TYPE = 0
    TEXT_PLAIN = 1
    STICKER = 2
    EMOJI = 4
    TRANSACTION_COMMAND = 5
    SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP = 6
    IMAGE = 7
    AUDIO = 8
    COMMUNITY = 9
    DISCORD_MESSAGE = 12
    SYSTEM_MESSAGE_MUTUAL_EVENT_SENT = 15
    SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED = 16
    SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED = 17
    BRIDGE_MESSAGE = 18


class ReactionType(IntEnum):
    """EmojiReaction.Type: Status offers only these six reactions."""

    UNKNOWN_EMOJI_REACTION_TYPE = 0
    LOVE = 1
    THUMBS_UP = 2
    THUMBS_DOWN = 3
    LAUGH = 4
    SAD = 5
    ANGRY = 6
