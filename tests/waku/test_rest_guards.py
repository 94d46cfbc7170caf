"""The embedded REST API's guards: cross-site and DNS-rebinding requests, the bearer token, JSON
bodies, and memory bounds (relay caches as a whole, subscribed topics, store pages, the
archive on disk). Raw HTTP against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from bots.registry import PLATFORMS
from bridge.config import parse_config
from bridge.store import Store, waku_messages
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage
from bridge.waku.rest_client import NwakuRestClient
from bridge.waku.rest_server import RestAccess, RestServer, create_rest_app

TOPIC = "/waku/2/rs/16/32"
ENC = quote(TOPIC, safe="")
CT = "/parley/1/room/proto"


def _body(payload: bytes) -> dict[str, Any]:
    return {"payload": base64.b64encode(payload).decode(), "contentTopic": CT}


class Api:
    def __init__(self, node: EmbeddedNode, server: RestServer, http: aiohttp.ClientSession):
        self.node, self.server, self.http = node, server, http

    async def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        kw: dict[str, Any] = {"headers": headers or {}}
        if body is not None:
            kw["data"] = json.dumps(body).encode()
            kw["headers"].setdefault("Content-Type", "application/json")
        async with self.http.request(method, self.server.url + path, **kw) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if resp.content_type.endswith("json") else text


async def _api(tmp_path: Path, **app_kw: Any) -> AsyncIterator[Api]:
    store = await Store.open(tmp_path / "parley.db")
    node = EmbeddedNode(store, retention_bytes=app_kw.pop("retention_bytes", None))
    await node.start()
    server = RestServer(create_rest_app(node, **app_kw))
    await server.start()
    async with aiohttp.ClientSession() as http:
        yield Api(node, server, http)
    await server.stop()
    await node.stop()
    await store.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async for a in _api(tmp_path):
        yield a


# --- cross-site, rebinding, token, content types ------------------------------------------------


async def test_foreign_origins_and_hosts_are_refused(api: Api) -> None:
    # What a web page in a browser on this machine would send.
    status, _ = await api.call(
        "POST", "/relay/v1/subscriptions", [TOPIC], headers={"Origin": "https://evil.example"}
    )
    assert status == 403
    # DNS rebinding: the browser thinks it talks to evil.example, which now resolves to us.
    status, _ = await api.call("GET", "/health", headers={"Host": "evil.example:8645"})
    assert status == 403
    status, _ = await api.call(
        "POST", f"/relay/v1/messages/{ENC}", _body(b"x"), headers={"Host": "evil.example"}
    )
    assert status == 403
    assert not api.node.subscribed_topics() and not await waku_messages.count(api.node.store)
    # Loopback names and addresses are this machine.
    for host in ("localhost:1", "127.0.0.1", "[::1]:8645", "app.localhost"):
        assert (await api.call("GET", "/health", headers={"Host": host}))[0] == 200, host


async def test_text_plain_bodies_only_from_clients_without_origin(tmp_path: Path) -> None:
    async for api in _api(tmp_path, access=RestAccess(allowed_origins=("http://localhost:3000",))):
        text_plain = {"Content-Type": "text/plain"}
        # A browser page may send text/plain cross-site without a preflight: refused...
        status, reason = await api.call(
            "POST",
            "/relay/v1/subscriptions",
            [TOPIC],
            headers={**text_plain, "Origin": "http://localhost:3000"},
        )
        assert (status, "expected application/json" in reason) == (400, True)
        # ... while the allowed origin with JSON works, and tools (no Origin) keep nwaku's
        # leniency.
        status, _ = await api.call(
            "POST", "/relay/v1/subscriptions", [TOPIC], headers={"Origin": "http://localhost:3000"}
        )
        assert status == 200
        assert (await api.call("DELETE", "/relay/v1/subscriptions", [TOPIC], headers=text_plain))[
            0
        ] == 200


async def test_the_bearer_token_is_required_and_the_client_sends_it(tmp_path: Path) -> None:
    token = "s3cret-" + os.urandom(8).hex()
    async for api in _api(tmp_path, access=RestAccess(token=token)):
        assert (await api.call("GET", "/health"))[0] == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await api.call("POST", "/relay/v1/subscriptions", [TOPIC], headers=wrong))[0] == 401
        good = {"Authorization": f"Bearer {token}"}
        assert (await api.call("GET", "/health", headers=good))[0] == 200

        # The bridge's nwaku-mode client talks to it with the token.
        for given, works in ((None, False), (token, True)):
            client = NwakuRestClient(api.server.url, token=given, max_backoff=0.1)
            await client.start()
            try:
                health = await client.health()
                assert health.ready is works, health
            finally:
                await client.stop()


def test_rest_token_comes_from_the_environment_and_is_a_secret(tmp_path: Path) -> None:
    settings = parse_config(
        {}, base_dir=tmp_path, env={"PARLEY_WAKU__REST_TOKEN": "tok-12345"}, platforms=PLATFORMS
    )
    assert settings.waku.rest_token is not None
    assert settings.waku.rest_token.get_secret_value() == "tok-12345"
    assert "tok-12345" in settings.secrets()


# --- memory bounds ------------------------------------------------------------------------------


async def test_all_relay_caches_share_one_byte_budget(tmp_path: Path) -> None:
    budget = 100_000
    async for api in _api(tmp_path, cache_bytes=budget, cache_capacity=50, max_subscriptions=10):
        topics = [f"/waku/2/rs/16/{shard}" for shard in range(8)]
        assert (await api.call("POST", "/relay/v1/subscriptions", topics))[0] == 200
        # Over the topic cap.
        more = [f"/waku/2/rs/16/{shard}" for shard in range(8, 12)]
        assert (await api.call("POST", "/relay/v1/subscriptions", more))[0] == 400
        for i in range(20):
            for topic in topics:
                payload = f"{topic} {i} ".encode() + os.urandom(4000)
                await api.node.publish(topic, WakuMessage(payload, CT, timestamp=time.time_ns()))
        held = 0
        newest_kept = []
        for topic in topics:
            status, messages = await api.call("GET", "/relay/v1/messages/" + quote(topic, safe=""))
            assert status == 200
            held += sum(len(base64.b64decode(m["payload"])) for m in messages)
            newest_kept.append(base64.b64decode(messages[-1]["payload"]).startswith(b"/waku"))
        assert held <= budget
        assert held > budget // 2  # the budget is used, not just everything dropped
        assert all(newest_kept)  # what was dropped was the oldest


async def test_a_store_page_is_cut_at_its_byte_cap_and_the_cursor_continues(tmp_path: Path) -> None:
    async for api in _api(tmp_path, store_page_bytes=50_000):
        sent = []
        for i in range(30):
            message = WakuMessage(os.urandom(10_000), CT, timestamp=time.time_ns() + i)
            sent.append(await api.node.publish(TOPIC, message))
        for ascending in ("true", "false"):
            seen: list[str] = []
            cursor = None
            for _ in range(30):
                params = f"includeData=true&pageSize=100&ascending={ascending}"
                if cursor:
                    params += f"&cursor={cursor}"
                status, page = await api.call("GET", f"/store/v3/messages?{params}")
                assert status == 200, page
                payload_bytes = sum(
                    len(base64.b64decode(m["message"]["payload"])) for m in page["messages"]
                )
                assert payload_bytes <= 50_000
                seen += [m["messageHash"] for m in page["messages"]]
                cursor = page.get("paginationCursor")
                if cursor is None:
                    break
            assert sorted(seen) == sorted("0x" + h.hex() for h in sent), ascending
            assert len(seen) == len(set(seen))


async def test_the_archive_is_bounded_in_bytes(tmp_path: Path) -> None:
    limit = 200_000
    async for api in _api(tmp_path, retention_bytes=limit):
        for i in range(60):
            message = WakuMessage(os.urandom(10_000), CT, timestamp=time.time_ns() + i)
            await api.node.publish(TOPIC, message)
        assert await waku_messages.total_bytes(api.node.store) <= limit
        kept = await waku_messages.count(api.node.store)
        assert 10 < kept < 20


async def test_a_loud_warning_when_exposed_without_a_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bridge.app import Bridge
    from crypto.keys import generate_private_key

    for host, token, warned in (("0.0.0.0", None, True), ("0.0.0.0", "t0ken-1", False)):
        waku: dict[str, Any] = {"rest_host": host, "rest_port": 0}
        if token:
            waku["rest_token"] = token
        raw = {"bridge": {"data_dir": "data"}, "waku": waku, "web": {"port": 0}}
        settings = parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)
        caplog.clear()
        async with Bridge(settings, generate_private_key()):
            pass
        assert ("UNPROTECTED" in caplog.text) is warned, caplog.text


def test_host_rules() -> None:
    local = RestAccess()
    assert local.host_allowed("127.0.0.1:8645") and local.host_allowed("LOCALHOST")
    assert not local.host_allowed("192.168.1.5:8645")  # bound to loopback: not our address
    assert not local.host_allowed("127.0.0.1.evil.example")
    assert not local.host_allowed("localhost:notaport")
    everywhere = RestAccess(bind_host="0.0.0.0", allowed_hosts=("parley",))
    assert everywhere.host_allowed("192.168.1.5:8645") and everywhere.host_allowed("[fe80::1]")
    assert everywhere.host_allowed("parley:8645")
    assert not everywhere.host_allowed("rebound.evil.example")
