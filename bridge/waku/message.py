"""14/WAKU2-MESSAGE: the WakuMessage value, its protobuf form and its deterministic hash."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from bridge.proto import waku_message_pb2 as pb

__all__ = [
    "MAX_CONTENT_TOPIC_BYTES",
    "MAX_DECODE_SIZE",
    "MAX_MESSAGE_SIZE",
    "MAX_META_SIZE",
    "MessageDecodeError",
    "WakuMessage",
    "message_hash",
]

# nwaku's --max-msg-size default; relays drop anything larger.
MAX_MESSAGE_SIZE = 150 * 1024
# Hard codec bound, above the relay limit so store replies and other nodes' settings still
# decode; status-go's own default max message size is 1 MiB.
MAX_DECODE_SIZE = 1024 * 1024
# nwaku refuses to decode a longer meta (codec.nim).
MAX_META_SIZE = 64
# No implementation bounds content topics; real ones are under 100 bytes. This only stops abuse.
MAX_CONTENT_TOPIC_BYTES = 1024

_UINT32_MAX = 2**32 - 1
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


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
        """Serialize to the 14/WAKU2-MESSAGE protobuf.

        ``version`` is always written (as js-waku and nwaku do); ``ephemeral`` only when true;
        ``timestamp``/``meta``/``rate_limit_proof`` whenever they are not None. Raises
        ValueError for a message no peer would accept or that ``decode`` would refuse.
        """
        if not self.content_topic:
            raise ValueError("WakuMessage content_topic must not be empty")
        if len(self.content_topic.encode()) > MAX_CONTENT_TOPIC_BYTES:
            raise ValueError(f"WakuMessage content_topic exceeds {MAX_CONTENT_TOPIC_BYTES} bytes")
        if not 0 <= self.version <= _UINT32_MAX:
            raise ValueError(f"WakuMessage version {self.version} is not a uint32")
        if self.timestamp is not None and not _INT64_MIN <= self.timestamp <= _INT64_MAX:
            raise ValueError(f"WakuMessage timestamp {self.timestamp} is not an int64")
        if self.meta is not None and len(self.meta) > MAX_META_SIZE:
            raise ValueError(f"WakuMessage meta is {len(self.meta)} bytes, max {MAX_META_SIZE}")
        msg = pb.WakuMessage(
            payload=self.payload, content_topic=self.content_topic, version=self.version
        )
        if self.timestamp is not None:
            msg.timestamp = self.timestamp
        if self.meta is not None:
            msg.meta = self.meta
        if self.rate_limit_proof is not None:
            msg.rate_limit_proof = self.rate_limit_proof
        if self.ephemeral:
            msg.ephemeral = True
        data = msg.SerializeToString()
        if len(data) > MAX_DECODE_SIZE:
            raise ValueError(f"WakuMessage encodes to {len(data)} bytes, max {MAX_DECODE_SIZE}")
        return data

    @classmethod
    def decode(cls, data: bytes) -> WakuMessage:
        """Parse a WakuMessage from any implementation's encoding (nwaku, go-waku, js-waku).

        Raises MessageDecodeError, and only that, for anything that is not a valid message.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MessageDecodeError(f"expected bytes, got {type(data).__name__}")
        if len(data) > MAX_DECODE_SIZE:
            raise MessageDecodeError(f"message is {len(data)} bytes, max {MAX_DECODE_SIZE}")
        msg = pb.WakuMessage()
        try:
            msg.ParseFromString(bytes(data))
        except DecodeError as exc:
            # Also covers invalid UTF-8 in content_topic: proto3 strings are checked on parse.
            raise MessageDecodeError(f"not a WakuMessage protobuf: {exc}") from exc
        if not msg.content_topic:
            raise MessageDecodeError("WakuMessage has no content topic")
        if len(msg.content_topic.encode()) > MAX_CONTENT_TOPIC_BYTES:
            raise MessageDecodeError(
                f"WakuMessage content topic exceeds {MAX_CONTENT_TOPIC_BYTES} bytes"
            )
        if msg.HasField("meta") and len(msg.meta) > MAX_META_SIZE:
            raise MessageDecodeError(
                f"WakuMessage meta is {len(msg.meta)} bytes, max {MAX_META_SIZE}"
            )
        return cls(
            payload=msg.payload,
            content_topic=msg.content_topic,
            version=msg.version,
            timestamp=msg.timestamp if msg.HasField("timestamp") else None,
            meta=msg.meta if msg.HasField("meta") else None,
            ephemeral=msg.ephemeral,
            rate_limit_proof=msg.rate_limit_proof if msg.HasField("rate_limit_proof") else None,
        )


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
