"""The Waku adapter's envelopes: one Status message at a time signed twice with the bridge's
identity key (Status app layer and Waku payload), AES-256-GCM encrypted with the room key and
published on the room's content topic(s), with its Lamport clock stored before it goes out; and
the search of the node's history for one the bridge may already have published.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bots.waku.catch_up import HISTORY_PAGE, CatchUp
from bots.waku.rooms import AdapterState, Room, clock_key
from bots.waku.status_format import NS_PER_MS, NS_PER_S
from bridge.model import PermanentError, RetryableError
from bridge.status import (
    AppMessageType,
    ChatMessageFields,
    StatusDecodeError,
    build_status_payload,
    message_id_hex,
    next_clock,
    parse_status_payload,
)
from bridge.waku.message import WakuMessage, message_hash
from bridge.waku.node import HistoryQuery, NodeError
from crypto.payload import DecryptionError, decrypt_symmetric, encrypt_symmetric

__all__ = ["Envelopes", "Record"]

# The adapter's log, as before its parts were split into modules.
log = logging.getLogger("bots.waku.adapter")

# Relays drop WakuMessages over 150 KiB; staying far below leaves room for other encoders'
# overhead. Field bounds keep a bridged message under ~40 KiB, so this only guards mistakes.
_MAX_PUBLISH_SIZE = 100 * 1024

Record = Callable[[str, int, int], Awaitable[None]]
"""Awaited with a new message's Status id, clock and timestamp (ms) before it is published."""


class Envelopes:
    """Signs, encrypts and publishes the bridge's Status messages, and finds one again."""

    def __init__(self, state: AdapterState, history: CatchUp, installation_id: str) -> None:
        self._state = state
        self._history = history
        self._installation_id = installation_id

    async def publish(
        self,
        room: Room,
        message_type: AppMessageType,
        build: Callable[[int, int], bytes],
        *,
        replay: tuple[int, int] | None = None,
        record: Record | None = None,
    ) -> str:
        """Sign, encrypt and publish one Status message; returns its Status id. ``replay``
        (clock, timestamp ms) builds a recorded message again; ``record`` is awaited with the
        new message's id, clock and timestamp before it is published."""
        key = self._state.key
        sds = None
        if self._state.communities is not None and room.config.community is not None:
            name = room.ref.chat_id
            refusal = self._state.communities.refusal(name)
            if refusal is not None:
                raise PermanentError(refusal)
            waiting = self._state.communities.hold_reason(name)
            if waiting is not None or not room.status_chat:
                raise RetryableError(waiting or "the channel is not known yet")
            communities = self._state.communities

            def sds(app: bytes) -> bytes:
                return communities.sds_wrap(name, app)

        async with room.lock:
            now_ns = self._state.clock()
            now_ms = now_ns // NS_PER_MS
            clock = next_clock(room.last_clock, now_ms)
            if replay is not None:
                clock, now_ms = replay
            try:
                inner = build(clock, now_ms)
                out = build_status_payload(inner, message_type, key, self._installation_id)
                # Deterministic (RFC 6979) signatures: the same ApplicationMetadataMessage, so
                # the same Status message id, plain and wrapped.
                wrapped = (
                    out
                    if sds is None
                    else build_status_payload(inner, message_type, key, self._installation_id, sds)
                )
            except (ValueError, TypeError) as exc:
                raise PermanentError(f"cannot build the Status message: {exc}") from exc
            sends = room.sends or [(room.send_topic, room.send_key, False)]
            copies = [
                WakuMessage(
                    payload=encrypt_symmetric(
                        (wrapped if use_sds else out).payload, room_key, signing_key=key
                    ),
                    content_topic=topic,
                    version=1,
                    timestamp=now_ns,
                )
                for topic, room_key, use_sds in sends
            ]
            message = copies[0]
            size = len(message.encode())
            if size > _MAX_PUBLISH_SIZE:
                raise PermanentError(f"the Waku message would be {size} bytes")
            if replay is None:
                # Persisted (committed) before publishing: a crash after the publish must never
                # reuse a clock. One self-committing statement: a single round trip, fewer
                # than even a shared group commit's BEGIN + statement + COMMIT.
                await self._state.kv.set(clock_key(room), clock)
                room.last_clock = clock
                if record is not None:
                    await record(message_id_hex(out.message_id), clock, now_ms)
            else:
                # Its clock was persisted when it was recorded.
                room.last_clock = max(room.last_clock, clock)
            for index, copy in enumerate(copies):
                digest = message_hash(room.config.pubsub_topic, copy)
                # Our echo may come back before publish returns; known hashes are skipped.
                self._state.remember(digest)
                try:
                    await self._state.node.publish(room.config.pubsub_topic, copy)
                except NodeError as exc:
                    self._state.recent.pop(digest, None)
                    self._state.count("publish_error")
                    if index == 0:
                        raise RetryableError(f"waku publish failed: {exc}") from exc
                    # The universal topic has it: current clients see it; older ones miss it.
                    log.warning("waku publish on the per-channel topic failed: %s", exc)
            return message_id_hex(out.message_id)

    async def find(self, room: Room, sent_at: datetime, wanted: str) -> str | None:
        """The Status id of our message whose BridgeMessage.messageID is ``wanted``, if the
        node's history since shortly before ``sent_at`` holds it."""
        sent_ns = int(sent_at.timestamp() * NS_PER_S)
        query = HistoryQuery(
            pubsub_topic=room.config.pubsub_topic,
            content_topics=[room.send_topic],
            start_time=max(
                sent_ns - self._history.margin_ns,
                self._state.clock() - self._history.max_catch_up_ns,
            ),
            page_size=HISTORY_PAGE,
        )
        try:
            for _ in range(self._history.max_pages):
                page = await self._state.node.query(query)
                for received in page.messages:
                    found = self._own_bridge_message(received.message, room.send_key, wanted)
                    if found is not None:
                        return found
                if page.cursor is None:
                    break
                query = HistoryQuery(
                    pubsub_topic=query.pubsub_topic,
                    content_topics=query.content_topics,
                    start_time=query.start_time,
                    cursor=page.cursor,
                    page_size=HISTORY_PAGE,
                )
        except NodeError as exc:
            log.warning("cannot look for an in-doubt send in the Waku store: %s", exc)
        return None

    def _own_bridge_message(self, message: WakuMessage, key: bytes, wanted: str) -> str | None:
        try:
            decoded = decrypt_symmetric(message.payload, key)
            if decoded.signer != self._state.public:
                return None
            envelope = parse_status_payload(decoded.payload)
        except (DecryptionError, StatusDecodeError):
            return None
        content = envelope.content
        if (
            isinstance(content, ChatMessageFields)
            and content.bridge is not None
            and content.bridge.message_id == wanted
        ):
            return envelope.message_id_hex
        return None
