"""The nwaku REST client against real REST servers: the embedded node's, and a hostile one."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge.store import Store
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage, message_hash
from bridge.waku.node import HistoryQuery, NodeError
from bridge.waku.rest_client import NodeUnreachableError, NwakuRestClient
from bridge.waku.rest_server import RestServer, create_rest_app
from tests.waku.support import Inbox

TOPIC = "/waku/2/rs/16/32"
OTHER = "/waku/2/rs/16/64"
CT = "/parley/1/room/proto"


class Rig:
    def __init__(self, node: EmbeddedNode, server: RestServer, client: NwakuRestClient):
        self.node, self.server, self.client = node, server, client


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = await Store.open(tmp_path / "parley.db")
    node = EmbeddedNode(store)
    await node.start()
    server = RestServer(create_rest_app(node, cache_capacity=500))
    await server.start()
    client = NwakuRestClient(server.url, poll_interval=0.01, request_timeout=5, max_backoff=0.05)
    await client.start()
    rig = Rig(node, server, client)
    yield rig
    await client.stop()
    await rig.server.stop()  # tests may have replaced it with a restarted one
    await node.stop()
    await store.close()


def msg(text: str, ts: int | None = None, ct: str = CT) -> WakuMessage:
    return WakuMessage(payload=text.encode(), content_topic=ct, timestamp=ts)


async def test_publish_subscribe_receive(rig: Rig) -> None:
    inbox, other = Inbox(), Inbox()
    await rig.client.subscribe([TOPIC], inbox)
    await rig.client.subscribe([OTHER], other)
    digest = await rig.client.publish(TOPIC, WakuMessage(b"hello", CT, meta=b"\x01"))
    await rig.node.publish(OTHER, msg("there"))
    (received,) = await inbox.wait_for(1)
    await other.wait_for(1)
    assert received.hash == digest == message_hash(TOPIC, received.message)
    assert received.message.meta == b"\x01" and received.message.timestamp
    assert other.payloads == [b"there"]
    # The bridge's own subscription on the embedded node sees REST publishes too.
    page = await rig.client.query(HistoryQuery(pubsub_topic=TOPIC))
    assert [r.hash for r in page.messages] == [digest]


async def test_publish_errors_surface_as_node_errors(rig: Rig) -> None:
    with pytest.raises(NodeError, match="not subscribed"):
        await rig.client.publish(TOPIC, msg("nobody listens"))
    await rig.client.subscribe([TOPIC], Inbox())
    with pytest.raises(NodeError, match=r"HTTP 400.*size exceeded"):
        await rig.client.publish(TOPIC, msg("x" * 160_000))
    with pytest.raises(NodeError, match="empty payload"):
        await rig.client.publish(TOPIC, msg(""))
    with pytest.raises(NodeError):
        await rig.client.publish("/waku/2/default-waku/proto", msg("x"))
    with pytest.raises(NodeError):
        await rig.client.subscribe(["nope"], Inbox())


async def test_store_paging_through_the_client(rig: Rig) -> None:
    base = time.time_ns() - 5_000_000_000
    hashes = [await rig.node.publish(TOPIC, msg(f"m{i}", base + i)) for i in range(23)]
    await rig.node.publish(OTHER, msg("elsewhere", base))
    forward: list[bytes] = []
    query = HistoryQuery(pubsub_topic=TOPIC, page_size=10)
    while True:
        page = await rig.client.query(query)
        forward += [r.hash for r in page.messages]
        if page.cursor is None:
            break
        query = HistoryQuery(pubsub_topic=TOPIC, page_size=10, cursor=page.cursor)
    assert forward == hashes

    backward: list[list[bytes]] = []
    cursor = None
    while True:
        page = await rig.client.query(
            HistoryQuery(pubsub_topic=TOPIC, page_size=10, ascending=False, cursor=cursor)
        )
        backward.append([r.hash for r in page.messages])
        if (cursor := page.cursor) is None:
            break
    assert backward == [hashes[13:], hashes[3:13], hashes[:3]]

    window = await rig.client.query(HistoryQuery(start_time=base + 4, end_time=base + 6))
    assert [r.hash for r in window.messages] == hashes[4:7]
    picked = await rig.client.query(HistoryQuery(hashes=[hashes[9], hashes[2]]))
    assert [r.hash for r in picked.messages] == [hashes[2], hashes[9]]
    bare = await rig.client.query(HistoryQuery(pubsub_topic=TOPIC, include_data=False))
    assert bare.messages == [] and bare.hashes == hashes[:20] and bare.cursor == hashes[19]
    with pytest.raises(NodeError, match="HTTP 500"):
        await rig.client.query(HistoryQuery(cursor=b"\x11" * 32))


async def test_health(rig: Rig) -> None:
    health = await rig.client.health()
    assert health.ready and health.detail["Relay"] == "READY"
    await rig.server.stop()
    down = await rig.client.health()
    assert not down.ready and "error" in down.detail


async def test_node_restart_is_reconciled_exactly_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()
    await rig.client.subscribe([TOPIC], inbox)
    await rig.node.publish(TOPIC, msg("before"))
    await inbox.wait_for(1)

    port = rig.server.port
    await rig.server.stop()  # the REST API (and its subscriptions) is gone ...
    with caplog.at_level(logging.WARNING, logger="bridge.waku.rest_client"):
        for _ in range(1000):  # until the poller has noticed
            if "polling" in (await rig.client.health()).detail:
                break
            await asyncio.sleep(0.01)
        assert not (await rig.client.health()).ready
        # ... while the node keeps relaying: these land only in its store.
        missed = [await rig.node.publish(TOPIC, msg(f"missed {i}")) for i in range(3)]
        await asyncio.sleep(0.2)  # let the poller fail a few more times
    warnings = [r for r in caplog.records if "backing off" in r.getMessage()]
    assert len(warnings) == 1  # logged once per outage, not per retry

    rig.server = RestServer(create_rest_app(rig.node), port=port)
    await rig.server.start()
    await inbox.wait_for(4)
    after = await rig.node.publish(TOPIC, msg("after"))
    await inbox.wait_for(5)
    await asyncio.sleep(0.1)  # a duplicate would show up within a few more polls
    assert inbox.payloads == [b"before", b"missed 0", b"missed 1", b"missed 2", b"after"]
    assert [r.hash for r in inbox.items[1:]] == [*missed, after]
    assert (await rig.client.health()).ready


async def test_subscribing_while_the_node_is_down(rig: Rig) -> None:
    port = rig.server.port
    await rig.server.stop()
    inbox = Inbox()
    await rig.client.subscribe([TOPIC], inbox)  # not fatal: the poller will subscribe later
    await rig.node.publish(TOPIC, msg("while down"))
    rig.server = RestServer(create_rest_app(rig.node), port=port)
    await rig.server.start()
    (received,) = await inbox.wait_for(1)
    assert received.message.payload == b"while down"


async def test_unsubscribe_stops_polling(rig: Rig) -> None:
    inbox = Inbox()
    await rig.client.subscribe([TOPIC], inbox)
    await rig.client.unsubscribe([TOPIC])
    with pytest.raises(NodeError, match="not subscribed"):
        await rig.client.publish(TOPIC, msg("x"))  # the node dropped the REST subscription


async def test_concurrent_publishers(rig: Rig) -> None:
    inbox = Inbox()
    await rig.client.subscribe([TOPIC], inbox)
    second = NwakuRestClient(rig.server.url, poll_interval=0.01)
    await second.start()

    async def publisher(client: NwakuRestClient | EmbeddedNode, name: str) -> list[bytes]:
        return [await client.publish(TOPIC, msg(f"{name}-{i}")) for i in range(15)]

    results = await asyncio.gather(
        publisher(rig.client, "a"),
        publisher(second, "b"),
        publisher(rig.node, "c"),
        publisher(rig.client, "d"),
    )
    await second.stop()
    sent = {h for hashes in results for h in hashes}
    assert len(sent) == 60
    received = await inbox.wait_for(60)
    await asyncio.sleep(0.05)
    assert len(inbox.items) == 60 and {r.hash for r in received} == sent
    stored = await rig.client.query(HistoryQuery(include_data=False, page_size=100))
    assert set(stored.hashes) == sent


async def test_unreachable_node_raises(tmp_path: Path) -> None:
    client = NwakuRestClient("http://127.0.0.1:9", request_timeout=2)
    await client.start()
    with pytest.raises(NodeUnreachableError):
        await client.publish(TOPIC, msg("x"))
    with pytest.raises(NodeUnreachableError):
        await client.query(HistoryQuery())
    await client.stop()
    with pytest.raises(ValueError):
        NwakuRestClient("ftp://example.org")


# --- a hostile node: a real HTTP server that answers with garbage ----------------------


def hostile_app(responses: list[Any]) -> web.Application:
    """Answers polls with the queued JSON values (then empty arrays); store with nothing."""

    async def subscribe(request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def poll(request: web.Request) -> web.Response:
        value = responses.pop(0) if responses else []
        if isinstance(value, bytes):
            return web.Response(body=value, content_type="application/json")
        return web.json_response(value)

    async def store(request: web.Request) -> web.Response:
        return web.json_response(
            {"requestId": "x", "statusCode": 200, "statusDesc": "OK", "messages": "many"}
        )

    app = web.Application()
    app.add_routes(
        [
            web.post("/relay/v1/subscriptions", subscribe),
            web.delete("/relay/v1/subscriptions", subscribe),
            web.get("/relay/v1/messages/{topic}", poll),
            web.get("/store/v3/messages", store),
        ]
    )
    return app


async def test_malformed_entries_are_dropped_and_polling_goes_on() -> None:
    good = {"payload": base64.b64encode(b"good").decode(), "contentTopic": CT, "timestamp": 5}
    responses: list[Any] = [
        [
            {"payload": "!!!", "contentTopic": CT},  # bad base64
            {"payload": base64.b64encode(b"x").decode(), "contentTopic": 7},
            {"payload": base64.b64encode(b"x").decode(), "contentTopic": CT, "version": 2**40},
            "not an object",
            good,
        ],
        b"{broken json",  # a whole broken reply: the poller backs off and carries on
        {"not": "a list"},
        [good, {**good, "payload": base64.b64encode(b"later").decode()}],
    ]
    server = RestServer(hostile_app(responses))
    await server.start()
    client = NwakuRestClient(server.url, poll_interval=0.01, max_backoff=0.02)
    await client.start()
    inbox = Inbox()
    await client.subscribe([TOPIC], inbox)
    await inbox.wait_for(2)
    assert inbox.payloads == [b"good", b"later"]  # the repeated good one was de-duplicated
    with pytest.raises(NodeError, match="malformed"):
        await client.query(HistoryQuery())
    await client.stop()
    await server.stop()
