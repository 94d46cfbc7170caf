"""14/WAKU2-MESSAGE: the WakuMessage value, its protobuf form and its deterministic hash."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

__all__ = ["MAX_MESSAGE_SIZE", "MessageDecodeError", "WakuMessage", "message_hash"]

# nwaku's --max-msg-size default; relays drop anything larger.
MAX_MESSAGE_SIZE = 150 * 1024


class MessageDecodeError(ValueError):
    """Bytes that are not a valid WakuMessage."""


@dataclass(frozen=True, slots=True)
class WakuMessage:
    payload: bytes
    content_topic: str
    version: int = 0
    timestamp: int | None = None  # Unix nanoseconds; None = absent on the wire
    meta: bytes | None = None
    ephemeral: bool = False
    rate_limit_proof: bytes | None = None

    def encode(self) -> bytes:
        raise NotImplementedError  # filled in by the protobuf codec

    @classmethod
    def decode(cls, data: bytes) -> WakuMessage:
        raise NotImplementedError


def message_hash(pubsub_topic: str, message: WakuMessage) -> bytes:
    """Deterministic hash; an absent timestamp counts as 0 (nwaku/go-waku, what store nodes use)."""
    h = hashlib.sha256()
    h.update(pubsub_topic.encode())
    h.update(message.payload)
    h.update(message.content_topic.encode())
    if message.meta:
        h.update(message.meta)
    h.update(struct.pack(">q", message.timestamp or 0))
    return h.digest()
