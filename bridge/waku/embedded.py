"""The embedded Waku node: an in-process relay for one bridge process, archived in SQLite.

It validates what is published the way nwaku does, archives non-ephemeral messages (store v3
semantics, retention by count and age), and delivers each new message once to the bridge's
own subscribers and to any listeners (the REST server's per-topic caches). There is no
libp2p here: it reaches no other Waku peer (docs/PROTOCOL.md §12); outside tools reach it over the
REST subset in ``rest_server``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from bridge.store import Store, waku_messages
from bridge.tasks import cancel_and_wait
from bridge.waku.message import MAX_MESSAGE_SIZE, WakuMessage, message_hash
from bridge.waku.node import (
    HistoryPage,
    HistoryQuery,
    MessageHandler,
    NodeError,
    NodeHealth,
    ReceivedMessage,
    WakuNode,
)
from bridge.waku.topics import TopicError, autoshard, parse_content_topic, parse_pubsub_topic

__all__ = [
    "EmbeddedNode",
    "MessageListener",
    "PublishRejectedError",
    "QueryRejectedError",
]

log = logging.getLogger(__name__)

MessageListener = Callable[[str, WakuMessage], None]
"""Called synchronously, in publish order, for every new message (pubsub topic, message)."""

_NS = 1_000_000_000
# nwaku's archive refuses to store messages whose timestamp is further than this from now
# (waku_archive MaxMessageTimestampVariance); they are still relayed.
_DEFAULT_TIME_VARIANCE = 20.0
# Store v3 limits (nwaku waku_store/common.nim, waku_archive/archive.nim).
_DEFAULT_PAGE_SIZE = 20
_MAX_PAGE_SIZE = 100
_MAX_CONTENT_TOPICS = 10
_MAX_HASHES = 100


class PublishRejectedError(NodeError):
    """The message fails validation (what nwaku answers with HTTP 400)."""


class QueryRejectedError(NodeError):
    """A store query the node will not run (malformed or over the limits)."""


class _Subscriber:
    """One bridge handler: its own bounded queue and task, so a slow or failing handler
    neither blocks publishers nor delays the others."""

    def __init__(self, handler: MessageHandler, queue_size: int) -> None:
        self.handler = handler
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[ReceivedMessage] = asyncio.Queue(queue_size)
        self.task: asyncio.Task[None] | None = None
        self.dropped = 0

    def offer(self, received: ReceivedMessage) -> None:
        if self.queue.full():
            # Dropping beats blocking: a handler that publishes would otherwise wait on itself.
            # The message stays in the archive, so the handler can still catch up by query.
            self.queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "waku handler %r is too slow: %d message(s) dropped so far",
                    self.handler,
                    self.dropped,
                )
        self.queue.put_nowait(received)

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name=f"waku-handler-{self.handler!r}")

    async def stop(self) -> None:
        task, self.task = self.task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            received = await self.queue.get()
            try:
                await self.handler(received)
            except Exception:
                log.exception(
                    "waku handler %r failed on message 0x%s", self.handler, received.hash.hex()
                )


class EmbeddedNode(WakuNode):
    """An in-process Waku relay + store node for one bridge process."""

    def __init__(
        self,
        store: Store,
        *,
        cluster_id: int = 16,
        num_shards: int = 0,
        retention_messages: int = 100_000,
        retention_seconds: int = 30 * 24 * 3600,
        retention_bytes: int | None = None,
        max_message_size: int = MAX_MESSAGE_SIZE,
        store_time_variance: float | None = _DEFAULT_TIME_VARIANCE,
        prune_interval: float = 60.0,
        handler_queue_size: int = 1024,
        seen_cache_size: int = 65_536,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """``num_shards`` 0 disables autosharding (static sharding only).

        ``store_time_variance`` (seconds, None to disable) keeps messages whose timestamp is
        that far from now out of the archive, as nwaku does. ``clock`` returns Unix ns.
        ``retention_bytes`` (None: no bound) caps the archive's size on disk, as
        ``waku_messages.total_bytes`` counts it: the oldest arrivals go first.
        """
        if not 0 <= cluster_id <= 65535:
            raise ValueError(f"cluster_id {cluster_id} is out of range 0..65535")
        if not 0 <= num_shards <= 1024:
            raise ValueError(f"num_shards {num_shards} is out of range 0..1024")
        if retention_messages < 1 or retention_seconds < 1:
            raise ValueError("retention_messages and retention_seconds must be positive")
        if max_message_size < 1 or handler_queue_size < 1 or seen_cache_size < 1:
            raise ValueError("sizes must be positive")
        self.store = store
        self._archive = waku_messages.Inserts(store)
        self.cluster_id = cluster_id
        self.num_shards = num_shards
        self.retention_messages = retention_messages
        self.retention_seconds = retention_seconds
        self.retention_bytes = retention_bytes
        self.max_message_size = max_message_size
        self._variance_ns = None if store_time_variance is None else int(store_time_variance * _NS)
        self._prune_interval = prune_interval
        self._queue_size = handler_queue_size
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._seen_size = seen_cache_size
        self._clock = clock
        self._subscribers: dict[MessageHandler, _Subscriber] = {}
        self._listeners: list[MessageListener] = []
        self._count = 0
        self._bytes = 0
        self._running = False
        self._pruner: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    async def start(self) -> None:
        if self._running:
            return
        self._count = await waku_messages.count(self.store)
        await self.prune()
        self._running = True
        for sub in self._subscribers.values():
            sub.start()
        self._pruner = asyncio.create_task(self._prune_loop(), name="waku-embedded-prune")

    async def stop(self) -> None:
        self._running = False
        pruner, self._pruner = self._pruner, None
        await cancel_and_wait(pruner)
        for sub in self._subscribers.values():
            await sub.stop()

    # --- relay --------------------------------------------------------------------------

    @property
    def autosharding(self) -> bool:
        return self.num_shards > 0

    def shard_for(self, content_topic: str) -> str:
        """The pubsub topic autosharding assigns to a content topic."""
        if not self.autosharding:
            raise PublishRejectedError("Autosharding is disabled")
        try:
            return autoshard(content_topic, self.cluster_id, self.num_shards)
        except TopicError as exc:
            raise PublishRejectedError(f"Autosharding error: {exc}") from exc

    def check_pubsub_topic(self, pubsub_topic: str) -> None:
        """Raise PublishRejectedError unless this is a static-shard topic of our cluster."""
        try:
            parsed = parse_pubsub_topic(pubsub_topic)
        except TopicError as exc:
            raise PublishRejectedError(f"Invalid pubsub topic: {exc}") from exc
        if parsed.cluster_id != self.cluster_id:
            raise PublishRejectedError(
                f"pubsub topic {pubsub_topic} is not in this node's cluster {self.cluster_id}"
            )

    def validate(self, pubsub_topic: str, message: WakuMessage) -> WakuMessage:
        """What nwaku checks before publishing; returns the message with its timestamp set
        (a missing or zero timestamp becomes now, as nwaku's REST publish does)."""
        self.check_pubsub_topic(pubsub_topic)
        if not message.payload:
            raise PublishRejectedError("Field `payload` is missing or empty")
        try:
            parse_content_topic(message.content_topic)
        except TopicError as exc:
            raise PublishRejectedError(f"Invalid content topic: {exc}") from exc
        if not message.timestamp:
            message = dataclasses.replace(message, timestamp=self._clock())
        try:
            size = len(message.encode())
        except ValueError as exc:
            raise PublishRejectedError(str(exc)) from exc
        if size > self.max_message_size:
            raise PublishRejectedError(
                f"Message size exceeded maximum of {self.max_message_size} bytes"
            )
        return message

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> bytes:
        if not self._running:
            raise NodeError("the embedded Waku node is not running")
        message = self.validate(pubsub_topic, message)
        digest = message_hash(pubsub_topic, message)
        if digest in self._seen:
            # Relay semantics: a message seen before is not delivered again.
            self._seen.move_to_end(digest)
            return digest
        self._remember(digest)
        if self._archivable(message):
            try:
                inserted = await self._archive.insert(digest, pubsub_topic, message, self._clock())
            except BaseException:
                # Not delivered, so a retry must not be mistaken for a duplicate.
                self._seen.pop(digest, None)
                raise
            if not inserted:
                return digest  # already archived: seen before the seen-cache's memory
            self._count += 1
            self._bytes += waku_messages.stored_size(pubsub_topic, message)
            if self._count > self.retention_messages or (
                self.retention_bytes is not None and self._bytes > self.retention_bytes
            ):
                await self.prune()
        self._deliver(ReceivedMessage(pubsub_topic, message, digest))
        return digest

    def _remember(self, digest: bytes) -> None:
        self._seen[digest] = None
        if len(self._seen) > self._seen_size:
            self._seen.popitem(last=False)

    def _archivable(self, message: WakuMessage) -> bool:
        if message.ephemeral:
            return False
        if self._variance_ns is None:
            return True
        return abs((message.timestamp or 0) - self._clock()) <= self._variance_ns

    def _deliver(self, received: ReceivedMessage) -> None:
        for listener in list(self._listeners):
            try:
                listener(received.pubsub_topic, received.message)
            except Exception:
                log.exception("waku listener %r failed", listener)
        for sub in self._subscribers.values():
            if received.pubsub_topic in sub.topics:
                sub.offer(received)

    def add_listener(self, listener: MessageListener) -> None:
        """Observe every new message (the REST server's caches use this)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: MessageListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def subscribed_topics(self) -> frozenset[str]:
        """Topics some bridge handler is subscribed to."""
        return frozenset(t for sub in self._subscribers.values() for t in sub.topics)

    async def subscribe(self, pubsub_topics: Sequence[str], handler: MessageHandler) -> None:
        for topic in pubsub_topics:
            self.check_pubsub_topic(topic)
        sub = self._subscribers.get(handler)
        if sub is None:
            sub = self._subscribers[handler] = _Subscriber(handler, self._queue_size)
            if self._running:
                sub.start()
        sub.topics.update(pubsub_topics)

    async def unsubscribe(self, pubsub_topics: Sequence[str]) -> None:
        for handler, sub in list(self._subscribers.items()):
            sub.topics.difference_update(pubsub_topics)
            if not sub.topics:
                del self._subscribers[handler]
                await sub.stop()

    # --- store --------------------------------------------------------------------------

    async def query(self, query: HistoryQuery) -> HistoryPage:
        """Store v3 over the archive: pages in (timestamp, hash) order, each page returned in
        chronological order even when paging backwards (as nwaku does); the cursor is the
        hash of the last message included in query order."""
        page_size = query.page_size if query.page_size > 0 else _DEFAULT_PAGE_SIZE
        page_size = min(page_size, _MAX_PAGE_SIZE)
        if len(query.content_topics) > _MAX_CONTENT_TOPICS:
            raise QueryRejectedError(f"too many content topics (max {_MAX_CONTENT_TOPICS})")
        if len(query.hashes) > _MAX_HASHES:
            raise QueryRejectedError(f"too many hashes (max {_MAX_HASHES})")
        if any(len(h) != 32 for h in query.hashes):
            raise QueryRejectedError("message hashes are 32 bytes")
        after: tuple[int, bytes] | None = None
        if query.cursor is not None:
            if len(query.cursor) != 32 or query.cursor == bytes(32):
                raise QueryRejectedError("invalid cursor hash")
            timestamp = await waku_messages.timestamp_of(self.store, query.cursor)
            if timestamp is None:
                # nwaku answers this with an archive error, not an empty page.
                raise NodeError("archive error: cursor not found")
            after = (timestamp, query.cursor)
        rows = await waku_messages.select_page(
            self.store,
            pubsub_topic=query.pubsub_topic,
            content_topics=query.content_topics,
            start_time=query.start_time,
            end_time=query.end_time,
            hashes=query.hashes,
            after=after,
            ascending=query.ascending,
            limit=page_size + 1,
            include_data=query.include_data,
        )
        page = rows[:page_size]
        cursor = page[-1].hash if len(rows) > page_size else None
        if not query.ascending:
            page.reverse()
        messages = [
            ReceivedMessage(row.pubsub_topic, row.message, row.hash)
            for row in page
            if row.message is not None and row.pubsub_topic is not None
        ]
        return HistoryPage(messages, cursor, [row.hash for row in page])

    async def prune(self) -> int:
        """Apply the retention bounds now; returns how many messages were deleted."""
        cutoff = self._clock() - self.retention_seconds * _NS
        deleted = await waku_messages.prune(
            self.store,
            keep=self.retention_messages,
            received_before=cutoff,
            # Down to 90%: the window query reads the whole archive, so it must not run on
            # every insert once the archive is full.
            max_bytes=None if self.retention_bytes is None else self.retention_bytes * 9 // 10,
        )
        self._count = max(self._count - deleted, 0)
        if self.retention_bytes is not None:
            self._bytes = await waku_messages.total_bytes(self.store)
        if deleted:
            log.debug("waku archive retention deleted %d message(s)", deleted)
        return deleted

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(self._prune_interval)
            try:
                await self.prune()
            except Exception:
                log.exception("waku archive retention failed; will retry")

    async def health(self) -> NodeHealth:
        status = "READY" if self._running else "NOT_READY"
        return NodeHealth(ready=self._running, detail={"Relay": status, "Store": status})
