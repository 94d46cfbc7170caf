"""Putting signed feed records on the feed chat's Waku topic.

Each record goes out twice: as a Status ChatMessage (BRIDGE_MESSAGE, so Status clients that join
the public chat show it; a tombstone becomes a Status DeleteMessage) and as the record message
that readers verify. Entries already in the store are marked published once both are out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bridge.feed.record import RECORD_VERSION, SignedRecord, parse_record, rfc3339, to_wire
from bridge.status import (
    AppMessageType,
    BridgeMessageFields,
    ChatType,
    build_bridge_chat_message,
    build_delete_message,
    build_status_payload,
    chat_key,
    chat_topic,
    message_id_hex,
    next_clock,
)
from bridge.store import Store, kv
from bridge.store import feed as feed_rows
from bridge.waku.message import WakuMessage
from bridge.waku.node import NodeError, WakuNode
from crypto.keccak import keccak256
from crypto.keys import public_key
from crypto.payload import encrypt_symmetric

__all__ = ["FeedPublisher", "new_record", "signed_from_row"]

log = logging.getLogger(__name__)

_CLOCK_KEY = "feed.clock"
_NS_PER_MS = 1_000_000
# Status clients fetch the avatar URL themselves; a longer one is not worth showing.
_MAX_STATUS_AVATAR_URL = 2048


def new_record(kind: str, bridge: str, created: datetime, /, **fields: Any) -> dict[str, Any]:
    """The fields every record starts with, then ``fields``."""
    return {
        "v": RECORD_VERSION,
        "type": kind,
        "id": secrets.token_hex(16),
        "bridge": bridge,
        "created_at": rfc3339(created),
        **fields,
    }


def signed_from_row(data: bytes, cid: str, signature: str, address: str) -> SignedRecord:
    return SignedRecord(data, cid, signature, address, parse_record(data))


def _installation_id(pub: bytes) -> str:
    raw = bytearray(keccak256(b"parley/feed-installation-id/" + pub)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


class FeedPublisher:
    """Publishes records on the feed chat; one publication at a time keeps the Lamport clock
    simple."""

    def __init__(
        self,
        store: Store,
        node: WakuNode,
        identity_key: bytes,
        *,
        feed_chat: str,
        pubsub_topic: str,
        address: str,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._node = node
        self._key = identity_key
        self._installation = _installation_id(public_key(identity_key))
        self._feed_chat = feed_chat
        self._pubsub_topic = pubsub_topic
        self._address = address
        self._clock = clock
        self._lock = asyncio.Lock()

    async def publish(self, signed: SignedRecord) -> None:
        """Publish the Status copy and the record message; mark the entry published."""
        async with self._lock:
            now_ns = int(self._clock() * 1e9)
            status_id, status_payload = await self._status_copy(signed, now_ns // _NS_PER_MS)
            if status_payload is not None:
                await self._node.publish(self._pubsub_topic, self._waku(status_payload, now_ns))
            await self._node.publish(self._pubsub_topic, self._waku(to_wire(signed), now_ns + 1))
            if signed.record["type"] != "anchor":
                async with self._store.transaction() as db:
                    await feed_rows.mark_published(db, signed.cid, status_id)

    async def republish_pending(self) -> int:
        """Publish entries whose publication failed before; returns how many went out."""
        done = 0
        for row in await feed_rows.unpublished(self._store.db):
            signed = signed_from_row(row.record, row.cid, row.signature, self._address)
            try:
                await self.publish(signed)
            except (NodeError, OSError) as exc:
                log.warning("feed entry %s still not published: %s", row.cid, exc)
                break
            done += 1
        return done

    async def _status_copy(
        self, signed: SignedRecord, now_ms: int
    ) -> tuple[str | None, bytes | None]:
        """The Status message id and payload that go with ``signed`` (``None`` when Status
        clients get nothing: anchors, tombstones of posts that never reached Status)."""
        record = signed.record
        if record["type"] == "post":
            author = record["author"]
            avatar = author.get("avatar", {}).get("url", "")
            inner = build_bridge_chat_message(
                chat_id=self._feed_chat,
                bridge=BridgeMessageFields(
                    bridge_name=str(author["platform"]),
                    user_name=str(author["name"]),
                    content=str(record["text"]),
                    user_avatar=avatar if len(avatar) <= _MAX_STATUS_AVATAR_URL else "",
                    user_id=str(author["user_id"]),
                    message_id=signed.cid,
                ),
                clock=await self._next_clock(now_ms),
                timestamp_ms=now_ms,
                chat_type=ChatType.PUBLIC_GROUP,
            )
            out = build_status_payload(
                inner, AppMessageType.CHAT_MESSAGE, self._key, self._installation
            )
            return message_id_hex(out.message_id), out.payload
        if record["type"] == "tombstone":
            target = await feed_rows.by_cid(self._store.db, str(record["target"]))
            if target is not None and target.status_message_id is not None:
                inner = build_delete_message(
                    chat_id=self._feed_chat,
                    target_id=target.status_message_id,
                    clock=await self._next_clock(now_ms),
                    chat_type=ChatType.PUBLIC_GROUP,
                )
                out = build_status_payload(
                    inner, AppMessageType.DELETE_MESSAGE, self._key, self._installation
                )
                return None, out.payload
        return None, None

    async def _next_clock(self, now_ms: int) -> int:
        last = await kv.get_int(self._store.db, _CLOCK_KEY) or 0
        clock = next_clock(last, now_ms)
        async with self._store.transaction() as db:
            await kv.set(db, _CLOCK_KEY, clock)
        return clock

    def _waku(self, plaintext: bytes, now_ns: int) -> WakuMessage:
        return WakuMessage(
            payload=encrypt_symmetric(plaintext, chat_key(self._feed_chat), signing_key=self._key),
            content_topic=chat_topic(self._feed_chat),
            version=1,
            timestamp=now_ns,
        )
