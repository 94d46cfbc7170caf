"""What the Waku adapter has read, per content topic, and reading what it missed.

The last Waku timestamp handled on each content topic lives in the store's ``kv`` table, so a
restart (or a reconnection) re-reads history from there minus a margin, bounded in time and in
store pages; the first start ever relays from now on."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bots.waku.rooms import AdapterState, RoomDirectory, seen_key
from bots.waku.status_format import NS_PER_S
from bridge.waku.message import WakuMessage
from bridge.waku.node import HistoryQuery, NodeError, ReceivedMessage

__all__ = ["HISTORY_PAGE", "CatchUp"]

# The adapter's log, as before its parts were split into modules.
log = logging.getLogger("bots.waku.adapter")

HISTORY_PAGE = 100
# Persisting the last-seen timestamp on every message would be a write per message; losing a
# few seconds of it on a crash only makes the next catch-up re-read (the router de-duplicates).
_SEEN_FLUSH_NS = 5 * NS_PER_S

Process = Callable[[ReceivedMessage], Awaitable[None]]


class CatchUp:
    def __init__(
        self,
        state: AdapterState,
        directory: RoomDirectory,
        *,
        margin_ns: int,
        max_catch_up_ns: int,
        max_pages: int,
    ) -> None:
        self._state = state
        self._directory = directory
        self.margin_ns = margin_ns
        self.max_catch_up_ns = max_catch_up_ns
        self.max_pages = max_pages

    async def advance_seen(self, message: WakuMessage) -> None:
        seen = self._directory.seen.get(message.content_topic)
        if seen is None or not message.timestamp:
            return
        # A forged future timestamp must not make the next catch-up start after real messages.
        ts = min(message.timestamp, self._state.clock())
        if seen.value is None or ts > seen.value:
            seen.value = ts
        await self.flush_seen(message.content_topic)

    async def flush_seen(self, content_topic: str, *, force: bool = False) -> None:
        seen = self._directory.seen[content_topic]
        now = self._state.clock()
        if seen.hold or seen.value is None or seen.value == seen.flushed:
            return
        if not force and now - seen.flushed_at < _SEEN_FLUSH_NS:
            return
        await self._state.kv.set(seen_key(content_topic), seen.value)
        seen.flushed = seen.value
        seen.flushed_at = now

    async def flush_all(self) -> None:
        for content_topic in self._directory.seen:
            await self.flush_seen(content_topic, force=True)

    async def catch_up(self, process: Process) -> None:
        for content_topic in list(self._directory.seen):
            try:
                await self._catch_up_topic(content_topic, process)
            except Exception:
                log.exception("waku catch-up on %s failed; live messages still flow", content_topic)

    async def _catch_up_topic(self, content_topic: str, process: Process) -> None:
        state = self._state
        seen = self._directory.seen[content_topic]
        now = state.clock()
        if seen.fresh or seen.flushed is None:
            seen.fresh = False
            seen.value = max(seen.value or 0, now)
            await self.flush_seen(content_topic, force=True)
            return
        start = max(seen.flushed - self.margin_ns, now - self.max_catch_up_ns)
        cursor: bytes | None = None
        # Released only when the whole window was read; a failed catch-up keeps the old
        # position on disk, so the next start (or reconnection) tries the same window again.
        seen.hold = True
        for _ in range(self.max_pages):
            if not state.running:
                return
            try:
                page = await state.node.query(
                    HistoryQuery(
                        pubsub_topic=seen.pubsub_topic,
                        content_topics=[content_topic],
                        start_time=start,
                        cursor=cursor,
                        page_size=HISTORY_PAGE,
                    )
                )
            except NodeError as exc:
                log.warning("waku catch-up on %s: the store refused: %s", content_topic, exc)
                return
            for received in page.messages:
                if not state.running:
                    return
                async with state.inbound_lock:
                    await process(received)
            if page.cursor is None:
                break
            cursor = page.cursor
        else:
            # Bounded on purpose: a long outage must not flood the platforms; what is left is
            # skipped (and said so).
            log.warning("waku catch-up on %s stopped after %d pages", content_topic, self.max_pages)
        seen.hold = False
        await self.flush_seen(content_topic, force=True)
