"""The nwaku REST client: a real nwaku node behind the ``WakuNode`` interface (docs/PROTOCOL.md §9).

Receiving is polling: one task per pubsub topic drains ``GET /relay/v1/messages/{topic}``,
computes each message's hash with that topic (the REST API returns none), de-duplicates with a
bounded LRU, and calls the handlers. When the node is unreachable or has forgotten the
subscription (404: nwaku keeps REST subscriptions in memory, so a restart loses them), the
poller backs off exponentially, marks itself not ready, then re-subscribes and asks store v3
for everything since its last good poll (minus a slack for clock skew), so nothing published
during the outage is lost, and the LRU makes sure nothing is delivered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bridge.tasks import cancel_and_wait
from bridge.waku.message import WakuMessage, message_hash
from bridge.waku.node import (
    HistoryPage,
    HistoryQuery,
    MessageHandler,
    NodeError,
    NodeHealth,
    ReceivedMessage,
    WakuNode,
)
from bridge.waku.rest_types import (
    MAX_PAGE_SIZE,
    WireError,
    message_from_node_json,
    parse_health,
    parse_json,
    parse_store_response,
    relay_message_to_json,
    store_query_to_params,
)
from bridge.waku.topics import TopicError, parse_pubsub_topic

__all__ = ["NodeUnreachableError", "NwakuRestClient"]

log = logging.getLogger(__name__)

_NS = 1_000_000_000
_JSON_HEADERS = {"Content-Type": "application/json"}


class NodeUnreachableError(NodeError):
    """No answer from the node: connection refused or reset, timeout, or a broken response."""


class _NodeAnswerError(NodeError):
    """The node answered, but not with something usable for this request."""


@dataclasses.dataclass(eq=False)
class _Topic:
    name: str
    last_good: int  # ns: when the last successful poll was sent
    handlers: list[MessageHandler] = dataclasses.field(default_factory=list)
    task: asyncio.Task[None] | None = None
    subscribed: bool = False  # the node has our REST subscription, as far as we know
    gap_since: int | None = None  # ns: messages since then may have been missed
    healthy: bool = True


class NwakuRestClient(WakuNode):
    """Drives one nwaku node over its REST API."""

    def __init__(
        self,
        base_url: str,
        *,
        poll_interval: float = 0.2,
        request_timeout: float = 10,
        store_peer: str | None = None,
        session: aiohttp.ClientSession | None = None,
        max_backoff: float = 30.0,
        reconcile_slack: float = 30.0,
        max_reconcile_pages: int = 100,
        dedup_capacity: int = 10_000,
        max_response_size: int = 64 * 1024 * 1024,
        clock: Callable[[], int] = time.time_ns,
        token: str | None = None,
    ) -> None:
        """``token``: sent as ``Authorization: Bearer <token>`` on every request (a REST API
        behind a proxy that wants one, or another Parley's embedded API with ``rest_token``).

        ``store_peer`` (a multiaddr) is sent as ``peerAddr`` on store queries; without it,
        nwaku answers from its own store if it runs one, else from a peer it knows.

        ``reconcile_slack`` (seconds) widens the store window after an outage, to cover
        senders whose clocks run behind. ``clock`` returns Unix ns.
        """
        url = URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        if poll_interval <= 0 or request_timeout <= 0 or max_backoff <= 0:
            raise ValueError("intervals and timeouts must be positive")
        self._base = str(url).rstrip("/")
        self._poll_interval = poll_interval
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._store_peer = store_peer
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = session
        self._owns_session = session is None
        self._max_backoff = max_backoff
        self._slack_ns = int(reconcile_slack * _NS)
        self._max_reconcile_pages = max_reconcile_pages
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._seen_capacity = dedup_capacity
        self._max_response = max_response_size
        self._clock = clock
        self._topics: dict[str, _Topic] = {}
        self._started = False

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._started = True

    async def stop(self) -> None:
        topics = list(self._topics)
        for state in list(self._topics.values()):
            await self._cancel(state)
        self._topics.clear()
        if topics:
            # Politeness only: nwaku would otherwise keep caching for a poller that is gone.
            with contextlib.suppress(NodeError):
                await self._send_subscriptions("DELETE", topics, limit=2.0)
        self._started = False
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # --- HTTP ---------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        limit: float | None = None,
    ) -> tuple[int, bytes]:
        if self._session is None or not self._started:
            raise NodeError("the nwaku REST client is not started")
        url = URL(self._base + path, encoded=True)
        if params:
            url = url.with_query(params)
        kwargs: dict[str, Any] = {
            "timeout": self._timeout if limit is None else aiohttp.ClientTimeout(total=limit),
            "headers": self._headers,
        }
        if json_body is not None:
            kwargs["json"] = json_body
        try:
            async with self._session.request(method, url, **kwargs) as resp:
                if resp.content_length is not None and resp.content_length > self._max_response:
                    raise NodeUnreachableError(f"{method} {path}: response too large")
                body = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > self._max_response:
                        raise NodeUnreachableError(f"{method} {path}: response too large")
                return resp.status, bytes(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NodeUnreachableError(
                f"{method} {path}: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from exc

    @staticmethod
    def _text(body: bytes) -> str:
        return body[:500].decode("utf-8", "replace").strip()

    async def _send_subscriptions(
        self, method: str, topics: Sequence[str], *, limit: float | None = None
    ) -> None:
        status, body = await self._request(
            method, "/relay/v1/subscriptions", json_body=list(topics), limit=limit
        )
        if status != 200:
            raise _NodeAnswerError(
                f"{method} /relay/v1/subscriptions: HTTP {status}: {self._text(body)}"
            )

    # --- publish ------------------------------------------------------------------------

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> bytes:
        _check_topic(pubsub_topic)
        if not message.payload:
            raise NodeError("nwaku refuses messages with an empty payload")
        if not message.timestamp:
            # Set it here: nwaku would fill in its own "now", and we must know the hash.
            message = dataclasses.replace(message, timestamp=self._clock())
        status, body = await self._request(
            "POST",
            "/relay/v1/messages/" + quote(pubsub_topic, safe=""),
            json_body=relay_message_to_json(message),
        )
        if status != 200:
            raise _NodeAnswerError(f"nwaku refused the message: HTTP {status}: {self._text(body)}")
        return message_hash(pubsub_topic, message)

    # --- subscriptions and polling ------------------------------------------------------

    async def subscribe(self, pubsub_topics: Sequence[str], handler: MessageHandler) -> None:
        if not self._started:
            raise NodeError("the nwaku REST client is not started")
        for topic in pubsub_topics:
            _check_topic(topic)
        now = self._clock()
        new = [t for t in dict.fromkeys(pubsub_topics) if t not in self._topics]
        states = [_Topic(name=t, last_good=now) for t in new]
        if new:
            try:
                await self._send_subscriptions("POST", new)
                for state in states:
                    state.subscribed = True
            except NodeUnreachableError as exc:
                # Not fatal: the poller subscribes once the node is back and fetches from
                # store whatever was published from now on.
                log.warning("nwaku unreachable, will subscribe %s when it is back: %s", new, exc)
                for state in states:
                    state.gap_since = now
                    state.healthy = False
        for state in states:
            self._topics[state.name] = state
        for topic in pubsub_topics:
            state = self._topics[topic]
            if handler not in state.handlers:
                state.handlers.append(handler)
        for state in states:
            state.task = asyncio.create_task(self._poll(state), name=f"nwaku-poll-{state.name}")

    async def unsubscribe(self, pubsub_topics: Sequence[str]) -> None:
        gone = [t for t in dict.fromkeys(pubsub_topics) if t in self._topics]
        for topic in gone:
            await self._cancel(self._topics.pop(topic))
        if gone:
            try:
                await self._send_subscriptions("DELETE", gone)
            except NodeError as exc:
                log.warning("could not remove nwaku subscription(s) %s: %s", gone, exc)

    async def _cancel(self, state: _Topic) -> None:
        task, state.task = state.task, None
        await cancel_and_wait(task)

    async def _poll(self, state: _Topic) -> None:
        backoff = self._poll_interval
        while True:
            try:
                await self._poll_once(state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, NodeError):
                    reason = str(exc)
                else:  # a bug, not an outage: keep the poller alive and say so
                    log.exception("nwaku poller for %s failed", state.name)
                    reason = repr(exc)
                if state.healthy:
                    log.warning(
                        "nwaku poll of %s failed, backing off (logged once): %s",
                        state.name,
                        reason,
                    )
                    state.healthy = False
                if state.gap_since is None:
                    state.gap_since = state.last_good
                # The node may have restarted in between: subscribe again (it is idempotent).
                state.subscribed = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if not state.healthy:
                log.info("nwaku poll of %s recovered", state.name)
                state.healthy = True
            backoff = self._poll_interval
            await asyncio.sleep(self._poll_interval)

    async def _poll_once(self, state: _Topic) -> None:
        if not state.subscribed:
            await self._send_subscriptions("POST", [state.name])
            state.subscribed = True
        if state.gap_since is not None:
            # After re-subscribing and before draining: whatever arrives from now on is in
            # the cache, everything before is in the store; the LRU absorbs the overlap.
            await self._reconcile(state, state.gap_since)
            state.gap_since = None
        sent_at = self._clock()
        status, body = await self._request(
            "GET", "/relay/v1/messages/" + quote(state.name, safe="")
        )
        if status == 404:
            raise _NodeAnswerError("nwaku does not know our subscription (did it restart?)")
        if status != 200:
            raise _NodeAnswerError(f"HTTP {status}: {self._text(body)}")
        state.last_good = sent_at
        await self._deliver(state, self._relay_messages(state.name, body))

    def _relay_messages(self, topic: str, body: bytes) -> list[ReceivedMessage]:
        try:
            items = parse_json(body)
        except WireError as exc:
            raise _NodeAnswerError(f"relay messages: {exc}") from exc
        if not isinstance(items, list):
            raise _NodeAnswerError("relay messages: expected a JSON array")
        out: list[ReceivedMessage] = []
        for item in items:
            try:
                message = message_from_node_json(item)
            except WireError as exc:
                log.warning("dropping a malformed message polled from %s: %s", topic, exc)
                continue
            out.append(ReceivedMessage(topic, message, message_hash(topic, message)))
        return out

    async def _reconcile(self, state: _Topic, since: int) -> None:
        query = HistoryQuery(
            pubsub_topic=state.name,
            start_time=max(since - self._slack_ns, 1),
            page_size=MAX_PAGE_SIZE,
            ascending=True,
            include_data=True,
        )
        for _ in range(self._max_reconcile_pages):
            try:
                page = await self.query(query)
            except NodeUnreachableError:
                raise
            except NodeError as exc:
                log.warning(
                    "cannot fetch the messages %s missed while nwaku was away (they are lost): %s",
                    state.name,
                    exc,
                )
                return
            await self._deliver(state, page.messages)
            if page.cursor is None:
                return
            query = dataclasses.replace(query, cursor=page.cursor)
        log.warning(
            "stopped reconciling %s after %d store pages; older messages are not delivered",
            state.name,
            self._max_reconcile_pages,
        )

    def _first_sight(self, digest: bytes) -> bool:
        if digest in self._seen:
            self._seen.move_to_end(digest)
            return False
        self._seen[digest] = None
        if len(self._seen) > self._seen_capacity:
            self._seen.popitem(last=False)
        return True

    async def _deliver(self, state: _Topic, messages: Sequence[ReceivedMessage]) -> None:
        for received in messages:
            if received.pubsub_topic != state.name or not self._first_sight(received.hash):
                continue
            for handler in list(state.handlers):
                try:
                    await handler(received)
                except Exception:
                    log.exception(
                        "waku handler %r failed on message 0x%s", handler, received.hash.hex()
                    )

    # --- store and health ---------------------------------------------------------------

    async def query(self, query: HistoryQuery) -> HistoryPage:
        try:
            params = store_query_to_params(query, peer_addr=self._store_peer)
        except ValueError as exc:
            raise NodeError(str(exc)) from exc
        status, body = await self._request("GET", "/store/v3/messages", params=params)
        if status != 200:
            raise _NodeAnswerError(f"store query: HTTP {status}: {self._text(body)}")
        try:
            response = parse_store_response(
                parse_json(body), default_pubsub_topic=query.pubsub_topic
            )
        except WireError as exc:
            raise _NodeAnswerError(f"store query: malformed response: {exc}") from exc
        if response.status_code != 200:
            raise _NodeAnswerError(
                f"store query: status {response.status_code}: {response.status_desc[:500]}"
            )
        return response.page

    async def health(self) -> NodeHealth:
        """The node's own report, and not ready while any poller is failing."""
        detail: dict[str, str] = {}
        stalled = sorted(t.name for t in self._topics.values() if not t.healthy)
        if stalled:
            detail["polling"] = "NOT_READY: " + ", ".join(stalled)
        try:
            status, body = await self._request("GET", "/health")
            if status != 200:
                raise _NodeAnswerError(f"HTTP {status}: {self._text(body)}")
            node, protocols = parse_health(parse_json(body))
        except (NodeError, WireError) as exc:
            return NodeHealth(ready=False, detail={**detail, "error": str(exc)})
        detail = {"node": node, **protocols, **detail}
        return NodeHealth(ready=node == "READY" and not stalled, detail=detail)


def _check_topic(topic: str) -> None:
    try:
        parse_pubsub_topic(topic)
    except TopicError as exc:
        raise NodeError(str(exc)) from exc
