"""nwaku's REST API subset (docs/PROTOCOL.md §9), served over the embedded node.

Routes, status codes, content types and JSON shapes follow nwaku's handlers
(``waku/rest_api/endpoint/{relay,store,health,debug}``), so that the nwaku REST client and
outside Waku tools cannot tell the two apart for this subset. Known, deliberate differences:

* ``/info`` reports no listen addresses and no ENR: the embedded node has no libp2p host
  (docs/PROTOCOL.md §12), and inventing either would mislead a tool that tries to dial it.
* The relay cache holds ``cache_capacity`` messages *per subscribed topic*; nwaku shares one
  cache of that capacity between all topics. Both drop the oldest message when full.
* Every ``/relay/v1/auto/…`` route answers 400 "Autosharding is disabled" under static
  sharding (nwaku answers 500 for the subscription routes).
* ``peerAddr`` on a store query is accepted and ignored: the node is its own, only store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from aiohttp import web

from bridge.waku.embedded import EmbeddedNode, PublishRejectedError, QueryRejectedError
from bridge.waku.message import WakuMessage
from bridge.waku.node import NodeError
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

__all__ = ["DEFAULT_CACHE_CAPACITY", "RestServer", "create_rest_app"]

log = logging.getLogger(__name__)

DEFAULT_CACHE_CAPACITY = 50  # nwaku --rest-relay-cache-capacity
# A 150 KiB message is ~205 KiB as base64; leave room for the JSON around it.
_DEFAULT_MAX_BODY = 512 * 1024
_PUBLISH_TIMEOUT = 5.0  # nwaku futTimeout
_JSON = "application/json"
_TEXT = "text/plain"


class _RelayCaches:
    """The REST-facing relay subscriptions and the messages waiting to be polled."""

    def __init__(self, capacity: int, max_subscriptions: int) -> None:
        self.capacity = capacity
        self.max_subscriptions = max_subscriptions
        self.pubsub: dict[str, deque[WakuMessage]] = {}
        self.content: dict[str, deque[WakuMessage]] = {}

    def on_message(self, pubsub_topic: str, message: WakuMessage) -> None:
        for cache in (self.pubsub.get(pubsub_topic), self.content.get(message.content_topic)):
            if cache is not None:
                cache.append(message)  # deque(maxlen): the oldest falls out

    def add(self, caches: dict[str, deque[WakuMessage]], topics: Sequence[str]) -> None:
        new = [t for t in topics if t not in caches]
        if len(self.pubsub) + len(self.content) + len(new) > self.max_subscriptions:
            raise WireError(f"too many REST subscriptions (max {self.max_subscriptions})")
        for topic in new:
            caches[topic] = deque(maxlen=self.capacity)


_NODE = web.AppKey("waku_node", EmbeddedNode)
_CACHES = web.AppKey("waku_rest_caches", _RelayCaches)
_VERSION = web.AppKey("waku_rest_version", str)


def _text(body: str, status: int = 200) -> web.Response:
    return web.Response(body=body.encode(), status=status, content_type=_TEXT)


def _ok() -> web.Response:
    return _text("OK")


def _json(data: Any) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), content_type=_JSON)


async def _read_json(request: web.Request) -> object:
    """The request body as JSON, or an HTTP 400 with nwaku's wording."""
    if request.content_type not in (_JSON, _TEXT):
        raise web.HTTPBadRequest(text="Wrong Content-Type, expected application/json or text/plain")
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
    # --- relay, static sharding ---------------------------------------------------------

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
        for topic in topics:
            caches.pubsub.pop(topic, None)
        return _ok()

    async def get_messages(request: web.Request) -> web.Response:
        topic = request.match_info["topic"]
        cache = request.app[_CACHES].pubsub.get(topic)
        if cache is None:
            return _text("", 404)
        drained = [relay_message_to_json(m) for m in cache]
        cache.clear()
        return _json(drained)

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

    # --- relay, autosharding ------------------------------------------------------------

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
        for topic in topics:
            caches.content.pop(topic, None)
        return _ok()

    async def auto_get_messages(request: web.Request) -> web.Response:
        _require_autosharding(request.app[_NODE])
        topic = request.match_info["topic"]
        cache = request.app[_CACHES].content.get(topic)
        if cache is None:
            return _text(topic, 404)
        drained = [relay_message_to_json(m) for m in cache]
        cache.clear()
        return _json(drained)

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

    # --- store v3 -----------------------------------------------------------------------

    async def store_query(request: web.Request) -> web.Response:
        params = {key: request.query.getone(key) for key in request.query}
        try:
            query = store_query_from_params(params)
        except WireError as exc:
            return _text(str(exc), 400)
        try:
            page = await request.app[_NODE].query(query)
        except QueryRejectedError as exc:
            return _text(str(exc), 400)
        except NodeError as exc:
            return _text(f"error in handleSelfStoreRequest: {exc}", 500)
        return _json(store_response_to_json(page, uuid.uuid4().hex))

    # --- health and info ----------------------------------------------------------------

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
        web.post("/relay/v1/subscriptions", subscribe),
        web.delete("/relay/v1/subscriptions", unsubscribe),
        # {topic:.+}: accept the URL-encoded form and, leniently, a raw "/waku/2/…" too.
        web.get("/relay/v1/messages/{topic:.+}", get_messages),
        web.post("/relay/v1/messages/{topic:.+}", post_message),
        web.post("/relay/v1/auto/subscriptions", auto_subscribe),
        web.delete("/relay/v1/auto/subscriptions", auto_unsubscribe),
        web.post("/relay/v1/auto/messages", auto_post_message),
        web.get("/relay/v1/auto/messages/{topic:.+}", auto_get_messages),
        web.get("/store/v3/messages", store_query),
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
    max_subscriptions: int = 1000,
) -> web.Application:
    """The REST application over ``node``; its caches start empty and live with the app."""
    if cache_capacity < 1:
        raise ValueError("cache_capacity must be positive")
    app = web.Application(client_max_size=max_body_size)
    caches = _RelayCaches(cache_capacity, max_subscriptions)
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
