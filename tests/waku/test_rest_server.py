"""The embedded node's REST server, spoken to as raw HTTP: nwaku's routes, codes and shapes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from bridge.store import Store
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage, message_hash
from bridge.waku.rest_server import RestServer, create_rest_app
from bridge.waku.topics import autoshard

TOPIC = "/waku/2/rs/16/32"
ENC = quote(TOPIC, safe="")
CT = "/parley/1/room/proto"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Api:
    """A node, its REST server on an ephemeral port, and a plain HTTP session."""

    def __init__(self, node: EmbeddedNode, server: RestServer, http: aiohttp.ClientSession):
        self.node, self.server, self.http = node, server, http

    async def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, **kw: Any
    ) -> tuple[int, str, Any]:
        """(status, content type, parsed JSON or text)."""
        if body is not None:
            kw["json"] = body
        if raw is not None:
            kw["data"] = raw
            kw.setdefault("headers", {"Content-Type": "application/json"})
        async with self.http.request(method, self.server.url + path, **kw) as resp:
            text = await resp.text()
            ctype = resp.content_type
            return resp.status, ctype, json.loads(text) if ctype == "application/json" else text


async def make_api(tmp_path: Path, **node_kw: Any) -> AsyncIterator[Api]:
    store = await Store.open(tmp_path / "parley.db")
    cache = node_kw.pop("cache_capacity", 50)
    node = EmbeddedNode(store, max_message_size=4096, **node_kw)
    await node.start()
    server = RestServer(create_rest_app(node, cache_capacity=cache, max_body_size=16384))
    await server.start()
    async with aiohttp.ClientSession() as http:
        yield Api(node, server, http)
    await server.stop()
    await node.stop()
    await store.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, cache_capacity=3):
        yield a


@pytest.fixture
async def auto_api(tmp_path: Path) -> AsyncIterator[Api]:
    async for a in make_api(tmp_path, cluster_id=1, num_shards=8):
        yield a


def body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"payload": b64(text.encode()), "contentTopic": CT, **extra}


async def test_subscribe_publish_and_drain(api: Api) -> None:
    assert await api.call("POST", "/relay/v1/subscriptions", [TOPIC]) == (200, "text/plain", "OK")
    now = time.time_ns()
    status, _, text = await api.call(
        "POST", f"/relay/v1/messages/{ENC}", body(meta=b64(b"m"), timestamp=now, version=1)
    )
    assert (status, text) == (200, "OK")
    status, ctype, messages = await api.call("GET", f"/relay/v1/messages/{ENC}")
    assert (status, ctype) == (200, "application/json")
    assert messages == [
        {
            "payload": b64(b"hi"),
            "contentTopic": CT,
            "version": 1,
            "timestamp": now,
            "meta": b64(b"m"),
            "ephemeral": False,
            "proof": "",
        }
    ]
    assert await api.call("GET", f"/relay/v1/messages/{ENC}") == (200, "application/json", [])


async def test_cache_keeps_the_newest_up_to_capacity(api: Api) -> None:
    await api.call("POST", "/relay/v1/subscriptions", [TOPIC])
    for i in range(5):
        await api.call("POST", f"/relay/v1/messages/{ENC}", body(f"m{i}"))
    _, _, messages = await api.call("GET", f"/relay/v1/messages/{ENC}")
    assert [base64.b64decode(m["payload"]) for m in messages] == [b"m2", b"m3", b"m4"]


async def test_missing_timestamp_is_now_and_stored(api: Api) -> None:
    await api.call("POST", "/relay/v1/subscriptions", [TOPIC])
    before = time.time_ns()
    await api.call("POST", f"/relay/v1/messages/{ENC}", body())
    _, _, (polled,) = await api.call("GET", f"/relay/v1/messages/{ENC}")
    assert polled["timestamp"] >= before
    message = WakuMessage(b"hi", CT, timestamp=polled["timestamp"])
    _, _, stored = await api.call("GET", "/store/v3/messages")
    assert stored["messages"] == [{"messageHash": "0x" + message_hash(TOPIC, message).hex()}]


async def test_unsubscribed_poll_is_404_and_unsubscribe_works(api: Api) -> None:
    assert (await api.call("GET", f"/relay/v1/messages/{ENC}"))[0] == 404
    await api.call("POST", "/relay/v1/subscriptions", [TOPIC])
    assert (await api.call("GET", f"/relay/v1/messages/{ENC}"))[0] == 200
    assert (await api.call("DELETE", "/relay/v1/subscriptions", [TOPIC]))[0] == 200
    assert (await api.call("GET", f"/relay/v1/messages/{ENC}"))[0] == 404


async def test_publish_needs_a_subscription(api: Api) -> None:
    status, ctype, text = await api.call("POST", f"/relay/v1/messages/{ENC}", body())
    assert (status, ctype) == (400, "text/plain")
    assert "not subscribed" in text


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"payload": "", "contentTopic": CT}, "payload"),
        ({"contentTopic": CT}, "payload"),
        ({"payload": b64(b"x")}, "contentTopic"),
        ({"payload": "not base64!", "contentTopic": CT}, "base64"),
        (body(timestamp="soon"), "timestamp"),
        (body(version=-1), "version"),
        (body(ephemeral="yes"), "ephemeral"),
        (body("x" * 5000), "size exceeded"),
        ({"payload": b64(b"x"), "contentTopic": "nope"}, "content topic"),
        ([1, 2], "object"),
    ],
)
async def test_publish_rejects_invalid_messages(api: Api, payload: Any, reason: str) -> None:
    await api.call("POST", "/relay/v1/subscriptions", [TOPIC])
    status, ctype, text = await api.call("POST", f"/relay/v1/messages/{ENC}", payload)
    assert (status, ctype) == (400, "text/plain")
    assert reason in text
    assert (await api.call("GET", "/store/v3/messages"))[2]["messages"] == []


@pytest.mark.parametrize(
    ("raw", "headers", "reason"),
    [
        (b"{not json", None, "could not decode"),
        (b'{"payload":"aGk=","payload":"aGk=","contentTopic":"/a/1/b/c"}', None, "Multiple"),
        (b'{"payload":"aGk=","contentTopic":"/a/1/b/c","timestamp":NaN}', None, "NaN"),
        (b"", None, "Missing content body"),
        (b"{}", {"Content-Type": "application/x-www-form-urlencoded"}, "Content-Type"),
    ],
)
async def test_malformed_bodies_are_400_text(
    api: Api, raw: bytes, headers: dict[str, str] | None, reason: str
) -> None:
    await api.call("POST", "/relay/v1/subscriptions", [TOPIC])
    kw: dict[str, Any] = {"headers": headers} if headers else {}
    status, ctype, text = await api.call("POST", f"/relay/v1/messages/{ENC}", raw=raw, **kw)
    assert (status, ctype) == (400, "text/plain")
    assert reason in text


async def test_oversized_body_is_refused(api: Api) -> None:
    status, _, _ = await api.call("POST", "/relay/v1/subscriptions", raw=b"[" + b" " * 20000 + b"]")
    assert status == 413


@pytest.mark.parametrize(
    "topics", [["/waku/2/default-waku/proto"], [TOPIC, "/waku/2/rs/x/1"], "not a list", [7]]
)
async def test_subscription_bodies_are_validated(api: Api, topics: Any) -> None:
    status, ctype, _ = await api.call("POST", "/relay/v1/subscriptions", topics)
    assert (status, ctype) == (400, "text/plain")
    assert (await api.call("GET", f"/relay/v1/messages/{ENC}"))[0] == 404


async def test_autosharding_routes_when_disabled(api: Api) -> None:
    for method, path, payload in [
        ("POST", "/relay/v1/auto/subscriptions", [CT]),
        ("DELETE", "/relay/v1/auto/subscriptions", [CT]),
        ("GET", "/relay/v1/auto/messages/" + quote(CT, safe=""), None),
        ("POST", "/relay/v1/auto/messages", body()),
    ]:
        status, ctype, text = await api.call(method, path, payload)
        assert (status, ctype) == (400, "text/plain"), path
        assert "Autosharding is disabled" in text


async def test_autosharding_routes_when_enabled(auto_api: Api) -> None:
    ct_path = "/relay/v1/auto/messages/" + quote(CT, safe="")
    assert (await auto_api.call("GET", ct_path))[0] == 404
    assert (await auto_api.call("POST", "/relay/v1/auto/subscriptions", ["bad"]))[0] == 400
    assert (await auto_api.call("POST", "/relay/v1/auto/subscriptions", [CT]))[0] == 200
    assert (await auto_api.call("POST", "/relay/v1/auto/messages", body("auto")))[:2] == (
        200,
        "text/plain",
    )
    other = body("other", contentTopic="/other/1/x/proto")
    assert (await auto_api.call("POST", "/relay/v1/auto/messages", other))[0] == 200
    _, _, messages = await auto_api.call("GET", ct_path)
    assert [base64.b64decode(m["payload"]) for m in messages] == [b"auto"]
    assert (await auto_api.call("GET", ct_path))[2] == []
    _, _, stored = await auto_api.call(
        "GET", "/store/v3/messages", params={"includeData": "true", "contentTopics": CT}
    )
    (entry,) = stored["messages"]
    assert entry["pubsubTopic"] == autoshard(CT, 1, 8)
    assert (await auto_api.call("DELETE", "/relay/v1/auto/subscriptions", [CT]))[0] == 200
    assert (await auto_api.call("GET", ct_path))[0] == 404


async def test_store_response_shape_and_paging(api: Api) -> None:
    await api.call("POST", "/relay/v1/subscriptions", [TOPIC])
    base = time.time_ns() - 5_000_000_000
    hashes = []
    for i in range(5):
        ts = base + i
        await api.call("POST", f"/relay/v1/messages/{ENC}", body(f"m{i}", timestamp=ts))
        hashes.append("0x" + message_hash(TOPIC, WakuMessage(f"m{i}".encode(), CT, 0, ts)).hex())
    status, ctype, page = await api.call(
        "GET",
        "/store/v3/messages",
        params={"includeData": "true", "pubsubTopic": TOPIC, "pageSize": "2"},
    )
    assert (status, ctype) == (200, "application/json")
    assert set(page) == {"requestId", "statusCode", "statusDesc", "messages", "paginationCursor"}
    assert (page["statusCode"], page["statusDesc"]) == (200, "OK")
    assert page["messages"][0] == {
        "messageHash": hashes[0],
        "message": {
            "payload": b64(b"m0"),
            "contentTopic": CT,
            "version": 0,
            "timestamp": base,
            "ephemeral": False,
        },
        "pubsubTopic": TOPIC,
    }
    assert page["paginationCursor"] == hashes[1]
    _, _, last = await api.call(
        "GET",
        "/store/v3/messages",
        params={"cursor": hashes[3], "ascending": "true", "pageSize": "2"},
    )
    assert [m["messageHash"] for m in last["messages"]] == [hashes[4]]
    assert "paginationCursor" not in last
    # nwaku pages backwards for any "ascending" other than exactly "true".
    _, _, back = await api.call(
        "GET", "/store/v3/messages", params={"ascending": "True", "pageSize": "2"}
    )
    assert [m["messageHash"] for m in back["messages"]] == hashes[3:5]
    _, _, chosen = await api.call(
        "GET",
        "/store/v3/messages",
        params={"hashes": f"{hashes[2]},{hashes[0][2:]}", "startTime": str(base + 1)},
    )
    assert [m["messageHash"] for m in chosen["messages"]] == [hashes[2]]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"includeData": "maybe"}, 400),
        ({"pageSize": "ten"}, 400),
        ({"pageSize": "-1"}, 400),
        ({"startTime": "yesterday"}, 400),
        ({"hashes": "0x1234"}, 400),
        ({"cursor": "0x" + "zz" * 32}, 400),
        ({"cursor": "0x" + "00" * 32}, 400),
        ({"contentTopics": ",".join(f"/a/1/{i}/p" for i in range(11))}, 400),
        ({"cursor": "0x" + "11" * 32}, 500),  # unknown cursor: nwaku's archive error
    ],
)
async def test_store_rejects_bad_parameters(api: Api, params: dict[str, str], status: int) -> None:
    got, ctype, _ = await api.call("GET", "/store/v3/messages", params=params)
    assert (got, ctype) == (status, "text/plain")


async def test_health_info_and_version(api: Api) -> None:
    status, ctype, health = await api.call("GET", "/health")
    assert (status, ctype) == (200, "application/json")
    assert health["nodeHealth"] == "READY"
    assert {"Relay": "READY"} in health["protocolsHealth"]
    assert {"Store": "READY"} in health["protocolsHealth"]
    for path in ("/info", "/debug/v1/info"):
        assert await api.call("GET", path) == (200, "application/json", {"listenAddresses": []})
    status, ctype, version = await api.call("GET", "/version")
    assert (status, ctype) == (200, "text/plain") and version.startswith("parley-embedded-v")
    await api.node.stop()
    _, _, health = await api.call("GET", "/health")
    assert health["nodeHealth"] == "NOT_READY"
    assert health["protocolsHealth"][0]["Relay"] == "NOT_READY"
