"""nwaku's REST API subset (docs/PROTOCOL.md §9), served over the embedded node.

Routes, status codes, content types and JSON shapes follow nwaku's handlers
(``waku/rest_api/endpoint/{relay,store,health,debug}``), so that the nwaku REST client and
outside Waku tools cannot tell the two apart for this subset. Known, deliberate differences:

* ``/info`` reports no listen addresses and no ENR: the embedded node has no libp2p host
  (docs/PROTOCOL.md §12), and inventing either would mislead a tool that tries to dial it.
* The relay cache holds ``cache_capacity`` messages *per subscribed topic*; nwaku shares one
  cache of that capacity between all topics. Both drop the oldest message when full. All the
  caches together also hold at most ``cache_bytes`` (the oldest message anywhere goes first),
  and at most ``max_subscriptions`` topics can be subscribed.
* A store page is cut short at ``store_page_bytes`` (its cursor then continues after the last
  message included), and at most ``_STORE_CONCURRENCY`` store queries run at once.
* Requests are refused (403) when their ``Host`` is not one of this server's names (loopback
  names and addresses, the bind host, IP addresses when bound to all interfaces, and
  ``allowed_hosts``) or when they carry an ``Origin`` not in ``allowed_origins``: a web page
  in a browser on this machine cannot use the API, also not through DNS rebinding. With a
  ``token``, every request needs ``Authorization: Bearer <token>`` (401 otherwise).
* Bodies must be ``application/json``. nwaku's relay handlers also take ``text/plain`` (a
  content type browsers send cross-site without asking); this server takes it only from
  clients that send no ``Origin`` (tools, not browsers).
* Every ``/relay/v1/auto/…`` route answers 400 "Autosharding is disabled" under static
  sharding (nwaku answers 500 for the subscription routes).
* ``peerAddr`` on a store query is accepted and ignored: the node is its own, only store.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import uuid
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.waku.embedded import EmbeddedNode, PublishRejectedError, QueryRejectedError
from bridge.waku.message import WakuMessage
from bridge.waku.node import HistoryPage, NodeError
from bridge.waku.rest_types import (
    WireError,
    parse_json,
    parse_topic_list,
    relay_message_from_json,
    relay_message_to_json,
    store_query_from_params,
    store_response_to_json,
)
from bridge.waku.topics import TopicError, parse_content_topic, parse_pubsub_topic
from bridge.web.server import HttpServer

__all__ = ["DEFAULT_CACHE_CAPACITY", "RestAccess", "RestServer", "create_rest_app", "is_loopback"]

log = logging.getLogger(__name__)

DEFAULT_CACHE_CAPACITY = 50  # nwaku --rest-relay-cache-capacity
# A 150 KiB message is ~205 KiB as base64; leave room for the JSON around it.
_DEFAULT_MAX_BODY = 512 * 1024
_PUBLISH_TIMEOUT = 5.0  # nwaku futTimeout
_JSON = "application/json"
_TEXT = "text/plain"
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
DEFAULT_STORE_PAGE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_SUBSCRIPTIONS = 100
_STORE_CONCURRENCY = 4
# What a cached message costs beyond its payload and meta (the object, the topic string).
_MESSAGE_OVERHEAD = 256
_LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost", "ip6-loopback")


def _cost(message: WakuMessage) -> int:
    return (
        len(message.payload)
        + len(message.meta or b"")
        + len(message.content_topic)
        + (_MESSAGE_OVERHEAD)
    )


class _Cache:
    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: deque[tuple[int, WakuMessage, int]] = deque()  # (arrival, message, cost)


class _RelayCaches:
    """The REST-facing relay subscriptions and the messages waiting to be polled.

    Bounded three ways: ``capacity`` messages per topic, ``max_bytes`` for all topics together
    (the oldest message anywhere is dropped first), ``max_subscriptions`` topics.
    """

    def __init__(self, capacity: int, max_subscriptions: int, max_bytes: int) -> None:
        self.capacity = capacity
        self.max_subscriptions = max_subscriptions
        self.max_bytes = max_bytes
        self.bytes = 0
        self._arrivals = 0
        self.pubsub: dict[str, _Cache] = {}
        self.content: dict[str, _Cache] = {}

    def on_message(self, pubsub_topic: str, message: WakuMessage) -> None:
        cost = _cost(message)
        if cost > self.max_bytes:
            return
        for cache in (self.pubsub.get(pubsub_topic), self.content.get(message.content_topic)):
            if cache is None:
                continue
            if len(cache.entries) >= self.capacity:
                self.bytes -= cache.entries.popleft()[2]
            while self.bytes + cost > self.max_bytes and self._drop_oldest():
                pass
            self._arrivals += 1
            cache.entries.append((self._arrivals, message, cost))
            self.bytes += cost

    def _drop_oldest(self) -> bool:
        oldest: _Cache | None = None
        for cache in (*self.pubsub.values(), *self.content.values()):
            if cache.entries and (oldest is None or cache.entries[0][0] < oldest.entries[0][0]):
                oldest = cache
        if oldest is None:
            return False
        self.bytes -= oldest.entries.popleft()[2]
        return True

    def drain(self, cache: _Cache) -> list[WakuMessage]:
        drained = [message for _, message, _ in cache.entries]
        self.bytes -= sum(cost for _, _, cost in cache.entries)
        cache.entries.clear()
        return drained

    def add(self, caches: dict[str, _Cache], topics: Sequence[str]) -> None:
        new = [t for t in dict.fromkeys(topics) if t not in caches]
        if len(self.pubsub) + len(self.content) + len(new) > self.max_subscriptions:
            raise WireError(f"too many REST subscriptions (max {self.max_subscriptions})")
        for topic in new:
            caches[topic] = _Cache()

    def remove(self, caches: dict[str, _Cache], topics: Sequence[str]) -> None:
        for topic in topics:
            cache = caches.pop(topic, None)
            if cache is not None:
                self.drain(cache)


def is_loopback(host: str) -> bool:
    """Is ``host`` (a name or an address, maybe in brackets) this machine's loopback?"""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class RestAccess:
    """Who may use the REST API (see the module docstring)."""

    bind_host: str = "127.0.0.1"
    allowed_hosts: Collection[str] = ()
    allowed_origins: Collection[str] = ()
    token: str | None = None

    def host_allowed(self, host_header: str | None) -> bool:
        if not host_header:
            return True  # HTTP/1.0 without Host: not a browser
        host = _host_part(host_header)
        if host is None:
            return False
        names = {self.bind_host.strip("[]").lower(), *(h.lower() for h in self.allowed_hosts)}
        if host in names or is_loopback(host):
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        # An IP address cannot be rebound; any of ours is fine when bound to all of them.
        return self.bind_host in ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound


def _host_part(value: str) -> str | None:
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else None
    host, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return host or None


_ACCESS = web.AppKey("waku_rest_access", RestAccess)


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    access = request.app[_ACCESS]
    if not access.host_allowed(request.headers.get("Host")):
        return _text("Forbidden: unexpected Host", 403)
    origin = request.headers.get("Origin")
    if origin is not None and origin not in access.allowed_origins:
        return _text("Forbidden: cross-origin requests are not allowed", 403)
    response: web.StreamResponse
    if origin is not None and request.method == "OPTIONS":
        response = web.Response(status=200)  # a preflight (it carries no credentials)
    elif access.token is not None and not _authorized(request, access.token):
        refused = _text("Unauthorized", 401)
        refused.headers["WWW-Authenticate"] = 'Bearer realm="waku-rest"'
        return refused
    else:
        response = await handler(request)
    if origin is not None:  # an allowed origin: let its page read the answer
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
    return response


_NODE = web.AppKey("waku_node", EmbeddedNode)
_CACHES = web.AppKey("waku_rest_caches", _RelayCaches)
_VERSION = web.AppKey("waku_rest_version", str)
_STORE_SLOTS = web.AppKey("waku_rest_store_slots", asyncio.Semaphore)
_PAGE_BYTES = web.AppKey("waku_rest_page_bytes", int)


def _cut(page: HistoryPage, max_bytes: int, *, ascending: bool) -> HistoryPage:
    """``page`` with at most ``max_bytes`` of messages (at least one); a cut page's cursor
    continues after its last message in query order, so nothing is skipped. The page is in
    chronological order; the query order is that or its reverse."""
    in_query_order = page.messages if ascending else page.messages[::-1]
    total, kept = 0, 0
    for received in in_query_order:
        total += _cost(received.message)
        if kept and total > max_bytes:
            break
        kept += 1
    if kept == len(page.messages):
        return page
    chosen = in_query_order[:kept]
    cursor = chosen[-1].hash
    messages = chosen if ascending else chosen[::-1]
    return HistoryPage(messages, cursor, [m.hash for m in messages])


def _text(body: str, status: int = 200) -> web.Response:
    return web.Response(body=body.encode(), status=status, content_type=_TEXT)


def _ok() -> web.Response:
    return _text("OK")


def _json(data: Any) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), content_type=_JSON)


async def _read_json(request: web.Request) -> object:
    """The request body as JSON, or an HTTP 400 with nwaku's wording."""
    # text/plain needs no CORS preflight: only tools (no Origin) may use it, as with nwaku.
    plain_ok = "Origin" not in request.headers
    if request.content_type != _JSON and not (plain_ok and request.content_type == _TEXT):
        raise web.HTTPBadRequest(text="Wrong Content-Type, expected application/json")
    body = await request.read()  # client_max_size bounds this (413 beyond it)
    if not body:
        raise web.HTTPBadRequest(text="Missing content body")
    try:
        return parse_json(body)
    except WireError as exc:
        raise web.HTTPBadRequest(text=f"Invalid content body, could not decode: {exc}") from exc


async def _read_topics(request: web.Request, max_items: int) -> list[str]:
    try:
        return parse_topic_list(await _read_json(request), max_items=max_items)
    except WireError as exc:
        raise web.HTTPBadRequest(text=f"Invalid content body, could not decode: {exc}") from exc


def _static_topics(topics: Sequence[str]) -> None:
    bad = []
    for topic in topics:
        try:
            parse_pubsub_topic(topic)
        except TopicError:
            bad.append(topic)
    if bad:
        raise web.HTTPBadRequest(text=f"Invalid pubsub topic(s): {bad}")


def _content_topics(topics: Sequence[str]) -> None:
    bad = []
    for topic in topics:
        try:
            parse_content_topic(topic)
        except TopicError:
            bad.append(topic)
    if bad:
        raise web.HTTPBadRequest(text=f"Invalid content topic(s): {bad}")


async def _publish(node: EmbeddedNode, pubsub_topic: str, message: WakuMessage) -> web.Response:
    try:
        await asyncio.wait_for(node.publish(pubsub_topic, message), _PUBLISH_TIMEOUT)
    except PublishRejectedError as exc:
        return _text(f"Failed to publish: {exc}", 400)
    except TimeoutError:
        return _text("Failed to publish: timedout", 500)
    except NodeError as exc:
        return _text(f"Failed to publish: {exc}", 500)
    return _ok()


def _require_autosharding(node: EmbeddedNode, prefix: str = "") -> None:
    if not node.autosharding:
        raise web.HTTPBadRequest(text=f"{prefix}Autosharding is disabled")


def _routes(max_topics: int) -> list[web.RouteDef]:
    return [
        *_relay_routes(max_topics),
        *_auto_routes(max_topics),
        *_store_routes(),
        *_info_routes(),
    ]


def _relay_routes(max_topics: int) -> list[web.RouteDef]:
    """Relay, static sharding."""

    async def subscribe(request: web.Request) -> web.Response:
        topics = await _read_topics(request, max_topics)
        _static_topics(topics)
        caches = request.app[_CACHES]
        try:
            caches.add(caches.pubsub, topics)
        except WireError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return _ok()

    async def unsubscribe(request: web.Request) -> web.Response:
        topics = await _read_topics(request, max_topics)
        _static_topics(topics)
        caches = request.app[_CACHES]
        caches.remove(caches.pubsub, topics)
        return _ok()

    async def get_messages(request: web.Request) -> web.Response:
        topic = request.match_info["topic"]
        caches = request.app[_CACHES]
        cache = caches.pubsub.get(topic)
        if cache is None:
            return _text("", 404)
        return _json([relay_message_to_json(m) for m in caches.drain(cache)])

    async def post_message(request: web.Request) -> web.Response:
        topic = request.match_info["topic"]
        node = request.app[_NODE]
        # nwaku refuses to publish where it is not subscribed (no peers to send to).
        if topic not in request.app[_CACHES].pubsub and topic not in node.subscribed_topics():
            return _text(f"Failed to publish: Node not subscribed to topic: {topic}", 400)
        body = await _read_json(request)
        try:
            message = relay_message_from_json(body)
        except WireError as exc:
            return _text(f"Invalid content body, could not decode: {exc}", 400)
        return await _publish(node, topic, message)

    return [
        web.post("/relay/v1/subscriptions", subscribe),
        web.delete("/relay/v1/subscriptions", unsubscribe),
        # {topic:.+}: accept the URL-encoded form and, leniently, a raw "/waku/2/…" too.
        web.get("/relay/v1/messages/{topic:.+}", get_messages),
        web.post("/relay/v1/messages/{topic:.+}", post_message),
    ]


def _auto_routes(max_topics: int) -> list[web.RouteDef]:
    """Relay, autosharding."""

    async def auto_subscribe(request: web.Request) -> web.Response:
        _require_autosharding(request.app[_NODE])
        topics = await _read_topics(request, max_topics)
        _content_topics(topics)
        caches = request.app[_CACHES]
        try:
            caches.add(caches.content, topics)
        except WireError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return _ok()

    async def auto_unsubscribe(request: web.Request) -> web.Response:
        _require_autosharding(request.app[_NODE])
        topics = await _read_topics(request, max_topics)
        caches = request.app[_CACHES]
        caches.remove(caches.content, topics)
        return _ok()

    async def auto_get_messages(request: web.Request) -> web.Response:
        _require_autosharding(request.app[_NODE])
        topic = request.match_info["topic"]
        caches = request.app[_CACHES]
        cache = caches.content.get(topic)
        if cache is None:
            return _text(topic, 404)
        return _json([relay_message_to_json(m) for m in caches.drain(cache)])

    async def auto_post_message(request: web.Request) -> web.Response:
        node = request.app[_NODE]
        body = await _read_json(request)
        try:
            message = relay_message_from_json(body)
        except WireError as exc:
            return _text(f"Invalid content body, could not decode: {exc}", 400)
        _require_autosharding(node, "Failed to publish. ")
        try:
            topic = node.shard_for(message.content_topic)
        except PublishRejectedError as exc:
            return _text(f"Failed to publish. {exc}", 400)
        return await _publish(node, topic, message)

    return [
        web.post("/relay/v1/auto/subscriptions", auto_subscribe),
        web.delete("/relay/v1/auto/subscriptions", auto_unsubscribe),
        web.post("/relay/v1/auto/messages", auto_post_message),
        web.get("/relay/v1/auto/messages/{topic:.+}", auto_get_messages),
    ]


def _store_routes() -> list[web.RouteDef]:
    """Store v3."""

    async def store_query(request: web.Request) -> web.Response:
        params = {key: request.query.getone(key) for key in request.query}
        try:
            query = store_query_from_params(params)
        except WireError as exc:
            return _text(str(exc), 400)
        try:
            async with request.app[_STORE_SLOTS]:
                page = await request.app[_NODE].query(query)
                page = _cut(page, request.app[_PAGE_BYTES], ascending=query.ascending)
        except QueryRejectedError as exc:
            return _text(str(exc), 400)
        except NodeError as exc:
            return _text(f"error in handleSelfStoreRequest: {exc}", 500)
        return _json(store_response_to_json(page, uuid.uuid4().hex))

    return [web.get("/store/v3/messages", store_query)]


def _info_routes() -> list[web.RouteDef]:
    """Health and info."""

    async def health(request: web.Request) -> web.Response:
        node = request.app[_NODE]
        state = "READY" if node.running else "NOT_READY"
        mounted: list[dict[str, str]] = []
        for name in ("Relay", "Store"):
            entry = {name: state}
            if not node.running:
                entry["desc"] = "the embedded node is stopped"
            mounted.append(entry)
        absent = [{name: "NOT_MOUNTED"} for name in ("Rln Relay", "Lightpush", "Filter")]
        return _json({"nodeHealth": state, "protocolsHealth": mounted + absent})

    async def info(request: web.Request) -> web.Response:
        return _json({"listenAddresses": []})

    async def version(request: web.Request) -> web.Response:
        return _text(request.app[_VERSION])

    return [
        web.get("/health", health),
        web.get("/info", info),
        web.get("/debug/v1/info", info),
        web.get("/version", version),
        web.get("/debug/v1/version", version),
    ]


def _package_version() -> str:
    try:
        return metadata.version("parley")
    except metadata.PackageNotFoundError:
        return "unknown"


def create_rest_app(
    node: EmbeddedNode,
    *,
    cache_capacity: int = DEFAULT_CACHE_CAPACITY,
    max_body_size: int = _DEFAULT_MAX_BODY,
    max_topics_per_request: int = 100,
    max_subscriptions: int = DEFAULT_MAX_SUBSCRIPTIONS,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    store_page_bytes: int = DEFAULT_STORE_PAGE_BYTES,
    access: RestAccess | None = None,
) -> web.Application:
    """The REST application over ``node``; its caches start empty and live with the app."""
    if cache_capacity < 1 or cache_bytes < 1 or store_page_bytes < 1:
        raise ValueError("cache_capacity, cache_bytes and store_page_bytes must be positive")
    app = web.Application(client_max_size=max_body_size, middlewares=[_guard])
    caches = _RelayCaches(cache_capacity, max_subscriptions, cache_bytes)
    app[_ACCESS] = access if access is not None else RestAccess()
    app[_STORE_SLOTS] = asyncio.Semaphore(_STORE_CONCURRENCY)
    app[_PAGE_BYTES] = store_page_bytes
    app[_NODE] = node
    app[_CACHES] = caches
    app[_VERSION] = f"parley-embedded-v{_package_version()}"
    app.add_routes(_routes(max_topics_per_request))

    async def attach(_: web.Application) -> None:
        node.add_listener(caches.on_message)

    async def detach(_: web.Application) -> None:
        node.remove_listener(caches.on_message)

    app.on_startup.append(attach)
    app.on_cleanup.append(detach)
    return app


class RestServer(HttpServer):
    """The REST app on loopback and a free port unless told otherwise."""

    def __init__(self, app: web.Application, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__("waku_rest", app, host, port)
