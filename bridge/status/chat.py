"""Status chat-level messages: build and parse ChatMessage (with BridgeMessage), edits, deletes
and emoji reactions, validated the way status-go validates what it receives.

Everything here is the innermost layer (the ApplicationMetadataMessage payload); signing and
wrapping live in ``bridge.status.envelope``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from bridge.proto import chat_message_pb2 as pb
from bridge.status.types import (
    MAX_TEXT_LENGTH,
    ChatType,
    ContentType,
    ReactionType,
    StatusDecodeError,
)

__all__ = [
    "MAX_CLOCK_DRIFT_MS",
    "BridgeMessageFields",
    "ChatMessageFields",
    "DeleteMessageFields",
    "EditMessageFields",
    "EmojiReactionFields",
    "build_bridge_chat_message",
    "build_delete_message",
    "build_edit_message",
    "build_emoji_reaction",
    "check_clock",
    "next_clock",
    "parse_chat_message",
    "parse_delete_message",
    "parse_edit_message",
    "parse_emoji_reaction",
]

# status-go drops messages whose clock is more than 2 minutes ahead of the Waku timestamp.
MAX_CLOCK_DRIFT_MS = 120_000
_UINT64_MAX = 2**64 - 1
_M = TypeVar("_M", bound=Message)
# Status message ids are 0x-prefixed lowercase hex of a 32-byte keccak256.
_STATUS_ID = re.compile(r"0x[0-9a-f]{64}")
# Bounds for fields Status does not limit itself; generous, they only stop abuse.
_MAX_NAME = 256
_MAX_URL = 2048
_MAX_ID = 256
_MAX_CHAT_ID = 1024
# Chat types a bridge may send to: public topics only (1:1 and private groups need X3DH).
_SENDABLE_CHAT_TYPES = frozenset({ChatType.COMMUNITY_CHAT, ChatType.PUBLIC_GROUP})
# ValidateReceivedChatMessage: system messages only a client makes for itself.
_SYSTEM_CONTENT_TYPES = frozenset(
    {
        ContentType.SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP,
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT,
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED,
        ContentType.SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED,
    }
)
# status-go rejects these as "unknown message type" on receipt.
_UNACCEPTABLE_CHAT_TYPES = frozenset(
    {ChatType.UNKNOWN_MESSAGE_TYPE, ChatType.SYSTEM_MESSAGE_PRIVATE_GROUP}
)


@dataclass(frozen=True, slots=True)
class BridgeMessageFields:
    """BridgeMessage: who wrote a bridged message on the other platform, and what."""

    bridge_name: str  # e.g. "telegram", "discord"; Status shows it next to the name
    user_name: str
    content: str
    user_avatar: str = ""  # URL
    user_id: str = ""  # the remote platform's user id
    message_id: str = ""  # the remote platform's message id; resending it = an edit in Status
    parent_message_id: str = ""  # the remote id of the message this one replies to


@dataclass(frozen=True, slots=True)
class ChatMessageFields:
    clock: int
    timestamp_ms: int
    text: str
    chat_id: str
    chat_type: int  # ChatType; kept as int because proto3 enums are open
    content_type: int  # ContentType
    response_to: str = ""  # Status id ("0x…") of the message replied to
    ens_name: str = ""
    display_name: str = ""
    bridge: BridgeMessageFields | None = None


@dataclass(frozen=True, slots=True)
class EditMessageFields:
    clock: int
    chat_id: str
    target_id: str  # Status id of the edited message
    text: str
    chat_type: int
    content_type: int  # BRIDGE_MESSAGE edits replace BridgeMessage.content, others the text


@dataclass(frozen=True, slots=True)
class DeleteMessageFields:
    clock: int
    chat_id: str
    target_id: str
    chat_type: int
    deleted_by: str = ""  # set when a moderator deletes someone else's message


@dataclass(frozen=True, slots=True)
class EmojiReactionFields:
    clock: int
    chat_id: str
    target_id: str
    chat_type: int
    emoji: int  # ReactionType
    retracted: bool = False


def next_clock(last: int, now_ms: int) -> int:
    """Status's Lamport clock: strictly after ``last``, and never behind wall-clock ms."""
    return max(last + 1, now_ms)


def check_clock(clock: int, waku_timestamp_ms: int) -> None:
    """Raise StatusDecodeError where status-go would drop a message for its clock value."""
    if clock == 0:
        raise StatusDecodeError("clock can't be 0")
    if clock > waku_timestamp_ms + MAX_CLOCK_DRIFT_MS:
        raise StatusDecodeError("clock value too far ahead of the Waku timestamp")


# --- building --------------------------------------------------------------------------------


def _require_str(name: str, value: str, max_len: int, *, empty_ok: bool = True) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise ValueError(f"{name} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters")


def _require_uint64(name: str, value: int) -> None:
    if isinstance(value, bool) or not 1 <= value <= _UINT64_MAX:
        raise ValueError(f"{name} must be in 1..2**64-1, got {value}")


def _require_status_id(name: str, value: str, *, empty_ok: bool = False) -> None:
    if empty_ok and value == "":
        return
    if not isinstance(value, str) or not _STATUS_ID.fullmatch(value):
        raise ValueError(f"{name} must be a Status message id (0x + 64 lowercase hex)")


def _require_chat(chat_id: str, chat_type: int) -> None:
    _require_str("chat_id", chat_id, _MAX_CHAT_ID, empty_ok=False)
    if chat_type not in _SENDABLE_CHAT_TYPES:
        raise ValueError(f"chat_type must be COMMUNITY_CHAT or PUBLIC_GROUP, got {chat_type}")


def _fallback_text(user_name: str, content: str) -> str:
    # Clients that do not render BridgeMessage (and notifications) show ChatMessage.text.
    return f"{user_name}: {content}"[:MAX_TEXT_LENGTH]


def build_bridge_chat_message(
    *,
    chat_id: str,
    bridge: BridgeMessageFields,
    clock: int,
    timestamp_ms: int,
    chat_type: int = ChatType.COMMUNITY_CHAT,
    response_to: str = "",
    display_name: str = "",
) -> bytes:
    """An encoded ChatMessage with content_type BRIDGE_MESSAGE, as Status's own bridge sends.

    ``text`` carries a readable "Name: content" fallback. Raises ValueError/TypeError for
    anything status-go would drop on receipt.
    """
    _require_chat(chat_id, chat_type)
    _require_uint64("clock", clock)
    _require_uint64("timestamp_ms", timestamp_ms)
    _require_status_id("response_to", response_to, empty_ok=True)
    _require_str("display_name", display_name, _MAX_NAME)
    _require_str("bridge_name", bridge.bridge_name, _MAX_NAME, empty_ok=False)
    _require_str("user_name", bridge.user_name, _MAX_NAME, empty_ok=False)
    _require_str("content", bridge.content, MAX_TEXT_LENGTH, empty_ok=False)
    _require_str("user_avatar", bridge.user_avatar, _MAX_URL)
    _require_str("user_id", bridge.user_id, _MAX_ID)
    _require_str("message_id", bridge.message_id, _MAX_ID)
    _require_str("parent_message_id", bridge.parent_message_id, _MAX_ID)
    msg = pb.ChatMessage(
        clock=clock,
        timestamp=timestamp_ms,
        text=_fallback_text(bridge.user_name, bridge.content),
        response_to=response_to,
        chat_id=chat_id,
        message_type=pb.MessageType.ValueType(chat_type),
        content_type=pb.ChatMessage.ContentType.ValueType(ContentType.BRIDGE_MESSAGE),
        display_name=display_name,
        bridge_message=pb.BridgeMessage(
            bridgeName=bridge.bridge_name,
            userName=bridge.user_name,
            userAvatar=bridge.user_avatar,
            userID=bridge.user_id,
            content=bridge.content,
            messageID=bridge.message_id,
            parentMessageID=bridge.parent_message_id,
        ),
    )
    return msg.SerializeToString()


def build_edit_message(
    *,
    chat_id: str,
    target_id: str,
    text: str,
    clock: int,
    chat_type: int = ChatType.COMMUNITY_CHAT,
    content_type: int = ContentType.BRIDGE_MESSAGE,
) -> bytes:
    """An encoded EditMessage (send with AppMessageType.EDIT_MESSAGE).

    Status only applies edits signed by the original author. For a BRIDGE_MESSAGE target,
    ``text`` replaces the bridged content.
    """
    _require_chat(chat_id, chat_type)
    _require_status_id("target_id", target_id)
    _require_uint64("clock", clock)
    _require_str("text", text, MAX_TEXT_LENGTH, empty_ok=False)
    if content_type not in (ContentType.BRIDGE_MESSAGE, ContentType.TEXT_PLAIN):
        raise ValueError(f"content_type must be BRIDGE_MESSAGE or TEXT_PLAIN, got {content_type}")
    msg = pb.EditMessage(
        clock=clock,
        text=text,
        chat_id=chat_id,
        message_id=target_id,
        message_type=pb.MessageType.ValueType(chat_type),
        content_type=pb.ChatMessage.ContentType.ValueType(content_type),
    )
    return msg.SerializeToString()


def build_delete_message(
    *,
    chat_id: str,
    target_id: str,
    clock: int,
    chat_type: int = ChatType.COMMUNITY_CHAT,
) -> bytes:
    """An encoded DeleteMessage (send with AppMessageType.DELETE_MESSAGE); author-only."""
    _require_chat(chat_id, chat_type)
    _require_status_id("target_id", target_id)
    _require_uint64("clock", clock)
    msg = pb.DeleteMessage(
        clock=clock,
        chat_id=chat_id,
        message_id=target_id,
        message_type=pb.MessageType.ValueType(chat_type),
    )
    return msg.SerializeToString()


def build_emoji_reaction(
    *,
    chat_id: str,
    target_id: str,
    emoji: ReactionType,
    clock: int,
    chat_type: int = ChatType.COMMUNITY_CHAT,
    retracted: bool = False,
) -> bytes:
    """An encoded EmojiReaction (send with AppMessageType.EMOJI_REACTION)."""
    _require_chat(chat_id, chat_type)
    _require_status_id("target_id", target_id)
    _require_uint64("clock", clock)
    if emoji not in set(ReactionType) - {ReactionType.UNKNOWN_EMOJI_REACTION_TYPE}:
        raise ValueError(f"emoji must be one of Status's six reactions, got {emoji}")
    msg = pb.EmojiReaction(
        clock=clock,
        chat_id=chat_id,
        message_id=target_id,
        message_type=pb.MessageType.ValueType(chat_type),
        type=pb.EmojiReaction.Type.ValueType(emoji),
        retracted=retracted,
    )
    return msg.SerializeToString()


# --- parsing ---------------------------------------------------------------------------------


def _parse(cls: type[_M], data: bytes) -> _M:
    msg = cls()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise StatusDecodeError(f"not a {cls.DESCRIPTOR.name} protobuf: {exc}") from exc
    return msg


def _check_text(text: str) -> None:
    if not text.strip():
        raise StatusDecodeError("text can't be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise StatusDecodeError(f"text is longer than {MAX_TEXT_LENGTH} characters")


def _check_common(chat_id: str, chat_type: int) -> None:
    if not chat_id:
        raise StatusDecodeError("chat id can't be empty")
    if chat_type in _UNACCEPTABLE_CHAT_TYPES:
        raise StatusDecodeError(f"unknown message type {chat_type}")


def _check_content(msg: pb.ChatMessage, content_type: int) -> None:
    """The content-type rules of status-go's ``ValidateReceivedChatMessage`` (c72f491)."""
    payload = msg.WhichOneof("payload")
    if content_type == ContentType.UNKNOWN_CONTENT_TYPE:
        raise StatusDecodeError("unknown content type")
    if content_type == ContentType.TRANSACTION_COMMAND:
        raise StatusDecodeError("can't receive request address for transaction from others")
    if content_type == ContentType.STICKER and (payload != "sticker" or not msg.sticker.hash):
        raise StatusDecodeError("no sticker content")
    if content_type == ContentType.IMAGE and (
        payload != "image"
        or not msg.image.payload
        or msg.image.format == pb.ImageFormat.UNKNOWN_IMAGE_FORMAT
    ):
        raise StatusDecodeError("no image content")
    if content_type == ContentType.BRIDGE_MESSAGE:
        b = msg.bridge_message
        if payload != "bridge_message":
            raise StatusDecodeError("no bridge message content")
        if not b.userName or not b.bridgeName or not b.content:
            raise StatusDecodeError("bridge message lacks user name, bridge name or content")
    if content_type == ContentType.AUDIO and (
        payload != "audio"
        or not msg.audio.payload
        or msg.audio.type == pb.AudioMessage.AudioType.UNKNOWN_AUDIO_TYPE
    ):
        raise StatusDecodeError("no audio content")
    if content_type in _SYSTEM_CONTENT_TYPES:
        raise StatusDecodeError("system message content type not allowed")


def parse_chat_message(data: bytes) -> ChatMessageFields:
    """Decode a ChatMessage; StatusDecodeError for anything status-go's
    ``ValidateReceivedChatMessage`` drops, except the display name (whose consequence depends on
    the room: ``bridge.status.names``) and the clock drift (``check_clock``)."""
    msg = _parse(pb.ChatMessage, data)
    if msg.clock == 0:
        raise StatusDecodeError("clock can't be 0")
    if msg.timestamp == 0:
        raise StatusDecodeError("timestamp can't be 0")
    _check_common(msg.chat_id, msg.message_type)
    content_type = int(msg.content_type)
    exempt = content_type in (ContentType.DISCORD_MESSAGE, ContentType.BRIDGE_MESSAGE) or (
        content_type == ContentType.IMAGE and msg.text == ""
    )
    if not exempt:
        _check_text(msg.text)
    _check_content(msg, content_type)
    bridge: BridgeMessageFields | None = None
    if content_type == ContentType.BRIDGE_MESSAGE:
        b = msg.bridge_message
        bridge = BridgeMessageFields(
            bridge_name=b.bridgeName,
            user_name=b.userName,
            content=b.content,
            user_avatar=b.userAvatar,
            user_id=b.userID,
            message_id=b.messageID,
            parent_message_id=b.parentMessageID,
        )
    return ChatMessageFields(
        clock=msg.clock,
        timestamp_ms=msg.timestamp,
        text=msg.text,
        chat_id=msg.chat_id,
        chat_type=int(msg.message_type),
        content_type=content_type,
        response_to=msg.response_to,
        ens_name=msg.ens_name,
        display_name=msg.display_name,
        bridge=bridge,
    )


def parse_edit_message(data: bytes) -> EditMessageFields:
    msg = _parse(pb.EditMessage, data)
    if msg.clock == 0:
        raise StatusDecodeError("clock can't be 0")
    _check_common(msg.chat_id, msg.message_type)
    if not msg.message_id:
        raise StatusDecodeError("message id can't be empty")
    _check_text(msg.text)
    return EditMessageFields(
        clock=msg.clock,
        chat_id=msg.chat_id,
        target_id=msg.message_id,
        text=msg.text,
        chat_type=int(msg.message_type),
        content_type=int(msg.content_type),
    )


def parse_delete_message(data: bytes) -> DeleteMessageFields:
    msg = _parse(pb.DeleteMessage, data)
    _check_common(msg.chat_id, msg.message_type)
    if not msg.message_id:
        raise StatusDecodeError("message id can't be empty")
    return DeleteMessageFields(
        clock=msg.clock,
        chat_id=msg.chat_id,
        target_id=msg.message_id,
        chat_type=int(msg.message_type),
        deleted_by=msg.deleted_by,
    )


def parse_emoji_reaction(data: bytes) -> EmojiReactionFields:
    msg = _parse(pb.EmojiReaction, data)
    if msg.clock == 0:
        raise StatusDecodeError("clock can't be 0")
    if not msg.chat_id:
        raise StatusDecodeError("chat id can't be empty")
    if int(msg.message_type) == ChatType.UNKNOWN_MESSAGE_TYPE:
        raise StatusDecodeError("unknown message type")
    if not msg.message_id:
        raise StatusDecodeError("message id can't be empty")
    if int(msg.type) == ReactionType.UNKNOWN_EMOJI_REACTION_TYPE:
        raise StatusDecodeError("unknown emoji reaction type")
    return EmojiReactionFields(
        clock=msg.clock,
        chat_id=msg.chat_id,
        target_id=msg.message_id,
        chat_type=int(msg.message_type),
        emoji=int(msg.type),
        retracted=msg.retracted,
    )
