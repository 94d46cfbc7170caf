"""Status chat ids to Waku content topics and PBKDF2 keys, and Status's shards (§10.1-2)."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from crypto.keccak import keccak256

__all__ = [
    "DEFAULT_CLUSTER_ID",
    "DEFAULT_SHARD",
    "GLOBAL_COMMUNITY_CONTENT_SHARD",
    "GLOBAL_COMMUNITY_CONTROL_SHARD",
    "NON_PROTECTED_SHARD",
    "PBKDF2_ITERATIONS",
    "STATUS_PUBSUB_TOPICS",
    "chat_key",
    "chat_topic",
    "community_id",
    "legacy_channel_chat_id",
    "universal_chat_id",
]

DEFAULT_CLUSTER_ID = 16
# Communities without their own shard (most traffic).
DEFAULT_SHARD = 32
# 1:1, contact codes, requests to community owners.
NON_PROTECTED_SHARD = 64
# Newer status-go: every community's control messages / content share these two shards.
GLOBAL_COMMUNITY_CONTROL_SHARD = 128
GLOBAL_COMMUNITY_CONTENT_SHARD = 256
STATUS_PUBSUB_TOPICS: tuple[str, ...] = tuple(
    f"/waku/2/rs/{DEFAULT_CLUSTER_ID}/{shard}"
    for shard in (
        DEFAULT_SHARD,
        NON_PROTECTED_SHARD,
        GLOBAL_COMMUNITY_CONTROL_SHARD,
        GLOBAL_COMMUNITY_CONTENT_SHARD,
    )
)

# status-go wakuv2 AddSymKeyFromPassword uses 65356 (not 65536); keys must match it exactly.
PBKDF2_ITERATIONS = 65356
_KEY_SIZE = 32
# Real chat ids are under ~200 characters; this only bounds hostile or mistaken input.
_MAX_CHAT_ID_LENGTH = 1024


def _check_chat_id(chat_id: str) -> None:
    if not isinstance(chat_id, str) or not chat_id:
        raise ValueError("chat id must be a non-empty string")
    if len(chat_id) > _MAX_CHAT_ID_LENGTH:
        raise ValueError(f"chat id is longer than {_MAX_CHAT_ID_LENGTH} characters")


def chat_topic(chat_id: str) -> str:
    """The content topic Status uses for ``chat_id``: ``/waku/1/0x<keccak256[:4]>/rfc26``."""
    _check_chat_id(chat_id)
    return f"/waku/1/0x{keccak256(chat_id.encode())[:4].hex()}/rfc26"


@lru_cache(maxsize=256)
def chat_key(chat_id: str) -> bytes:
    """The 32-byte AES-256-GCM key Status derives from ``chat_id`` (cached: PBKDF2 is slow)."""
    _check_chat_id(chat_id)
    return hashlib.pbkdf2_hmac("sha256", chat_id.encode(), b"", PBKDF2_ITERATIONS, _KEY_SIZE)


def community_id(community_public_key: bytes) -> str:
    """Status's community id string: ``0x`` + hex of the 33-byte compressed public key."""
    if len(community_public_key) != 33 or community_public_key[0] not in (2, 3):
        raise ValueError("community public key must be 33 bytes, compressed (02/03 prefix)")
    return "0x" + community_public_key.hex()


def universal_chat_id(community: str) -> str:
    """The chat id all channels of a community share in newer status-go (send here)."""
    _check_chat_id(community)
    return community + "-memberUpdate"


def legacy_channel_chat_id(community: str, channel_uuid: str) -> str:
    """The per-channel chat id older status-go still sends on (listen here too)."""
    _check_chat_id(community)
    _check_chat_id(channel_uuid)
    return community + channel_uuid
