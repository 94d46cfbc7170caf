"""Reading the feed from Waku: decrypt, verify and collect the record messages of the feed topic.

Anyone can publish on the feed topic (its key derives from the public feed name), so every
message is hostile: it must be a version-1 payload that decrypts with ``chat_key(feed)``,
carries a Waku-level signature, holds a record message (``PARLEY-FEED/1``) whose record is
canonical, valid and signed (EIP-191 over its CID) by the address in its ``bridge`` field, and
the Waku signature must be by that same key. Status ChatMessages on the topic (the human-readable
copies) are skipped: the records are the authoritative form. Which signers a reader *trusts* is
decided later (``fold``): entries by other keys are hidden, or shown marked UNVERIFIED.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bridge.feed.record import MAX_RECORD_BYTES, RecordError, SignedRecord, is_wire, parse_wire
from bridge.status import chat_key, chat_topic
from bridge.waku.message import WakuMessage
from bridge.waku.node import HistoryQuery, ReceivedMessage, WakuNode
from crypto.keys import to_address
from crypto.payload import DecryptionError, decrypt_symmetric

__all__ = ["decode_feed_message", "follow_feed", "read_history"]

log = logging.getLogger(__name__)

# Wire overhead on top of a record: marker, signature line, v1 framing, padding, AES-GCM.
_MAX_PAYLOAD = MAX_RECORD_BYTES + 1024


def decode_feed_message(message: WakuMessage, feed_chat: str) -> SignedRecord | None:
    """The verified record in ``message``, or None (not a record, or anything invalid)."""
    if message.version != 1 or message.content_topic != chat_topic(feed_chat):
        return None
    if len(message.payload) > _MAX_PAYLOAD:
        return None
    try:
        decoded = decrypt_symmetric(message.payload, chat_key(feed_chat))
    except DecryptionError:
        return None
    if decoded.signer is None or not is_wire(decoded.payload):
        return None
    try:
        signed = parse_wire(decoded.payload)
    except RecordError as exc:
        log.debug("dropping a feed record: %s", exc)
        return None
    if to_address(decoded.signer).lower() != signed.signer.lower():
        return None  # someone re-published another bridge's record under their own Waku key
    return signed


async def read_history(
    node: WakuNode,
    feed_chat: str,
    pubsub_topic: str,
    *,
    max_messages: int = 10_000,
    page_size: int = 100,
) -> list[SignedRecord]:
    """Every verified record the node's store holds for the feed, oldest first."""
    found: list[SignedRecord] = []
    cursor: bytes | None = None
    seen = 0
    while seen < max_messages:
        page = await node.query(
            HistoryQuery(
                pubsub_topic=pubsub_topic,
                content_topics=[chat_topic(feed_chat)],
                cursor=cursor,
                page_size=page_size,
                ascending=True,
            )
        )
        for received in page.messages:
            seen += 1
            signed = decode_feed_message(received.message, feed_chat)
            if signed is not None:
                found.append(signed)
        if page.cursor is None or not page.messages:
            break
        cursor = page.cursor
    return found


async def follow_feed(
    node: WakuNode,
    feed_chat: str,
    pubsub_topic: str,
    on_record: Callable[[SignedRecord], Awaitable[None]],
) -> Callable[[ReceivedMessage], Awaitable[None]]:
    """Subscribe; ``on_record`` gets each new verified record. Returns the handler (to keep)."""

    async def handler(received: ReceivedMessage) -> None:
        signed = decode_feed_message(received.message, feed_chat)
        if signed is not None:
            await on_record(signed)

    await node.subscribe([pubsub_topic], handler)
    return handler
