"""Failures a user can meet, through the whole bridge: the real python-telegram-bot and
discord.py against the stand-ins, a real ``Bridge`` wired by ``wire_features``.

Each test injects a fault at the protocol level (an HTTP status, a dropped websocket, a Waku
node that refuses connections) and asserts what the people in the chats see: every message
delivered, exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.registry import PLATFORMS
from bridge.app import Bridge, wire_features
from bridge.config import parse_config
from bridge.model import ChatRef
from bridge.relay import Relay
from bridge.store import Store
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.rest_client import NwakuRestClient
from bridge.waku.rest_server import RestServer, create_rest_app
from crypto.keys import generate_private_key
from tests.e2e.harness import (
    TIMEOUT,
    Harness,
    WakuClient,
    free_port,
    running_bridge,
)
from tests.e2e.harness import test_tuning as e2e_tuning
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeTelegram


async def _row(h: Harness, target: ChatRef, text: str) -> dict[str, Any]:
    """The send row of ``text``'s message to ``target`` (the outbox's own record)."""
    rows = await h.bridge.store.db.execute_fetchall(
        "SELECT o.state, o.attempts, o.next_attempt_at, o.last_error FROM relay_outbox o"
        " JOIN relay_messages m ON m.id = o.message_id"
        " WHERE o.kind = 'send' AND o.target_platform = ? AND o.target_chat = ? AND m.text = ?",
        (target.platform, target.chat_id, text),
    )
    (row,) = rows
    return {"state": row[0], "attempts": row[1], "next_attempt_at": row[2], "last_error": row[3]}


async def _until(check: Any, timeout: float = TIMEOUT) -> Any:  # noqa: ASYNC109
    """Poll ``check`` (a coroutine function) until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.02)


def _tg_texts(h: Harness, marker: str) -> list[str]:
    return [m.content for m in h.tg.sent_messages(h.tg_group) if marker in m.content]


def _dc_texts(h: Harness, marker: str) -> list[str]:
    return [str(m.get("content")) for m in h.dc_messages(marker) if m.get("webhook_id")]


def _waku_texts(h: Harness, marker: str) -> list[str]:
    return [
        getattr(s.envelope.content, "text", "")
        for s in h.waku_copies(marker)
        if s.envelope is not None
    ]


def _in_order(seen: list[str], expected: list[str]) -> None:
    """Each expected text appears exactly once, and in this order."""
    for text in expected:
        assert sum(text in s for s in seen) == 1, (text, seen)
    positions = [next(i for i, s in enumerate(seen) if text in s) for text in expected]
    assert positions == sorted(positions), seen


# --- Telegram sendMessage ---------------------------------------------------------------------


async def test_telegram_429_retry_after_is_honoured_and_delivered_once(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.tg.fail_next("sendMessage", 429, retry_after=1)
        before = time.time()
        texts = ["flood one", "flood two", "flood three"]
        for text in texts:
            h.dc.user_sends(h.channel.id, h.bob, text)
        # The first send was refused: its row waits for Telegram's retry_after, not the
        # (much shorter) backoff, and holds the rows behind it.
        row = await _until(
            lambda: _pending_retry(h, h.tg_ref, "flood one"),
        )
        assert "429" in row["last_error"] or "flood" in row["last_error"]
        assert row["next_attempt_at"] >= before + 1.0
        await h.tg_copy("flood three")
        await h.settle()
        _in_order(_tg_texts(h, "flood"), texts)
        attempts = [c for c in h.tg.calls("sendMessage") if "flood one" in str(c.params)]
        assert [c.status for c in attempts] == [
            429,
            200,
        ]  # the refused attempt and the one that went through
        # The other targets were never held back by Telegram's flood control.
        _in_order(_waku_texts(h, "flood"), texts)


async def _pending_retry(h: Harness, target: ChatRef, text: str) -> dict[str, Any] | None:
    with contextlib.suppress(ValueError):
        row = await _row(h, target, text)
        if row["attempts"] >= 1 and row["state"] == "pending":
            return row
    return None


async def test_telegram_5xx_is_retried_and_delivered_once(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.tg.fail_next("sendMessage", 500, count=2)
        h.tg.fail_next("sendMessage", 502)
        texts = ["server one", "server two"]
        for text in texts:
            h.dc.user_sends(h.channel.id, h.bob, text)
        await h.tg_copy("server two")
        await h.settle()
        _in_order(_tg_texts(h, "server"), texts)
        attempts = [c for c in h.tg.calls("sendMessage") if "server one" in str(c.params)]
        assert [c.status for c in attempts] == [500, 500, 502, 200]
        assert (await _row(h, h.tg_ref, "server one"))["state"] == "delivered"


# --- Discord webhook execute ------------------------------------------------------------------


async def test_discord_429_with_via_is_retried_by_discord_py(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.dc.fail_next("POST /webhooks/*", 429, retry_after=0.05)
        texts = ["limited one", "limited two"]
        for text in texts:
            h.tg.user_sends(h.tg_group, h.alice, text)
        await h.dc_copy("limited two")
        await h.settle()
        _in_order(_dc_texts(h, "limited"), texts)
        posts = [c for c in h.dc.requests("POST /webhooks/*") if "limited one" in str(c.json)]
        assert [c.status for c in posts] == [429, 200]
        # discord.py waited and retried inside one attempt: the outbox saw no failure.
        assert (await _row(h, h.dc_ref, "limited one"))["attempts"] == 0


async def test_discord_429_surfacing_is_honoured_by_the_outbox(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        # Without Via, discord.py does not retry: the adapter reports the 429 and its
        # Retry-After, and the outbox waits that long (not its 0.05 s test backoff).
        h.dc.fail_next("POST /webhooks/*", 429, retry_after=1.0, via=False)
        before = time.time()
        texts = ["surfaced one", "surfaced two"]
        for text in texts:
            h.tg.user_sends(h.tg_group, h.alice, text)
        row = await _until(lambda: _pending_retry(h, h.dc_ref, "surfaced one"))
        assert "429" in row["last_error"]
        assert row["next_attempt_at"] >= before + 1.0
        await h.dc_copy("surfaced two")
        await h.settle()
        _in_order(_dc_texts(h, "surfaced"), texts)
        _in_order(_waku_texts(h, "surfaced"), texts)


async def test_discord_503_is_retried_and_delivered_once(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        # discord.py's webhook path sleeps 1 s and retries a 5xx itself: one is enough.
        h.dc.fail_next("POST /webhooks/*", 503)
        texts = ["unavailable one", "unavailable two"]
        for text in texts:
            h.tg.user_sends(h.tg_group, h.alice, text)
        await h.dc_copy("unavailable two")
        await h.settle()
        _in_order(_dc_texts(h, "unavailable"), texts)
        posts = [c for c in h.dc.requests("POST /webhooks/*") if "unavailable one" in str(c.json)]
        assert [c.status for c in posts] == [503, 200]


# --- Discord gateway, Telegram polling --------------------------------------------------------


async def test_dropped_discord_gateway_loses_nothing(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.dc.user_sends(h.channel.id, h.bob, "before the drop")
        await h.tg_copy("before the drop")
        h.dc.drop_gateway()
        # Said while the bot is away from the gateway: the resume (or catch-up) brings it.
        h.dc.user_sends(h.channel.id, h.bob, "during the drop")
        await h.tg_copy("during the drop")
        h.dc.user_sends(h.channel.id, h.bob, "after the drop")
        await h.tg_copy("after the drop")
        await h.waku_copy("after the drop")
        await h.settle()
        texts = ["before the drop", "during the drop", "after the drop"]
        _in_order(_tg_texts(h, "the drop"), texts)
        _in_order(_waku_texts(h, "the drop"), texts)


async def test_telegram_get_updates_failing_for_a_while(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.tg.user_sends(h.tg_group, h.alice, "poll before")
        await h.dc_copy("poll before")
        h.tg.fail_next("getUpdates", 500, count=4)
        # The long poll in flight answers this one; the polls after it fail.
        h.tg.user_sends(h.tg_group, h.alice, "poll trigger")
        await h.tg.wait_for_request("getUpdates", lambda r: r.status == 500)
        texts = ["poll during one", "poll during two"]
        for text in texts:
            h.tg.user_sends(h.tg_group, h.alice, text)
        await h.dc_copy("poll during two")
        await h.waku_copy("poll during two")
        await h.settle()
        failed = [c for c in h.tg.calls("getUpdates") if c.status == 500]
        assert len(failed) == 4
        expected = ["poll before", "poll trigger", *texts]
        _in_order(_dc_texts(h, "poll"), expected)
        _in_order(_waku_texts(h, "poll"), expected)


# --- a real nwaku-style node over REST that goes away -----------------------------------------


@dataclass
class _Outside:
    """A separate Waku node (the embedded one, behind its REST server) that the bridge reaches
    through NwakuRestClient, as it would a real nwaku; ``down()``/``up()`` stop and restart
    its REST server on the same port."""

    store: Store
    node: EmbeddedNode
    port: int
    server: RestServer | None = None

    async def up(self) -> None:
        self.server = RestServer(create_rest_app(self.node), port=self.port)
        await self.server.start()

    async def down(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None


@contextlib.asynccontextmanager
async def _nwaku_bridge(tmp_path: Path) -> AsyncIterator[tuple[Harness, _Outside, WakuClient]]:
    store = await Store.open(tmp_path / "outside.db")
    node = EmbeddedNode(store)
    await node.start()
    outside = _Outside(store, node, free_port())
    await outside.up()
    try:
        async with FakeTelegram() as tg, FakeDiscord() as dc:
            tg_bot = tg.add_bot("parley_bot")
            alice = tg.add_user("Alice", username="alice_tg")
            group = tg.add_chat("supergroup", "Room", members=[alice], bots=[tg_bot])
            guild = dc.add_guild("Parley")
            channel = dc.add_text_channel(guild, "general")
            webhook = dc.add_webhook(channel.id)
            bob = dc.add_member(guild, "bob")
            (tmp_path / "data").mkdir()
            web_port = free_port()
            raw = {
                "bridge": {"name": "parley", "data_dir": str(tmp_path / "data")},
                "waku": {
                    "mode": "nwaku",
                    "nwaku_url": f"http://127.0.0.1:{outside.port}",
                    "poll_interval": 0.05,
                },
                "web": {
                    "host": "127.0.0.1",
                    "port": web_port,
                    "public_url": f"http://127.0.0.1:{web_port}",
                },
                "telegram": {
                    "token": tg_bot.token,
                    "api_base_url": tg.base_url,
                    "file_base_url": tg.base_file_url,
                },
                "discord": {
                    "token": dc.token,
                    "api_base_url": dc.api_base,
                    "gateway_url": dc.gateway_url,
                },
                "rooms": [
                    {
                        "name": "main",
                        "telegram_chats": [group.id],
                        "discord_channels": [channel.id],
                        "waku_chat": "parley-nwaku",
                        "webhooks": [
                            {"channel": channel.id, "id": webhook.id, "token": webhook.token}
                        ],
                    }
                ],
            }
            settings = parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)
            h = Harness(
                tmp_path=tmp_path,
                tg=tg,
                tg_bot=tg_bot,
                tg_group=group,
                alice=alice,
                tg_admin=alice,
                dc=dc,
                guild=guild,
                channel=channel,
                webhook=webhook,
                bob=bob,
                dc_admin=bob,
                settings=settings,
                identity_key=generate_private_key(),
                tuning=e2e_tuning(),
                waku_chat="parley-nwaku",
            )
            bridge = Bridge(settings, h.identity_key)
            relay: Relay = wire_features(bridge, tuning=h.tuning, platforms=PLATFORMS)
            h.bridge, h.relay = bridge, relay
            await bridge.start()
            # Status users on the outside node: one publishes, and the harness's client (which
            # records everything the node carries) is the one the Waku helpers read.
            h.waku = WakuClient(node, "parley-nwaku", settings.rooms[0].waku_pubsub_topic)
            phone = WakuClient(node, "parley-nwaku", settings.rooms[0].waku_pubsub_topic)
            try:
                await h.wait_connected()
                yield h, outside, phone
            finally:
                phone.close()
                h.waku.close()
                await bridge.stop()
    finally:
        await outside.down()
        await node.stop()
        await store.close()


def _nwaku_client(h: Harness) -> NwakuRestClient:
    node = h.bridge.node
    assert isinstance(node, NwakuRestClient)
    return node


async def test_waku_node_down_both_directions(tmp_path: Path) -> None:
    async with _nwaku_bridge(tmp_path) as (h, outside, phone):
        h.tg.user_sends(h.tg_group, h.alice, "waku before")
        await h.waku_copy("waku before")
        await phone.say("status before")
        await h.tg_copy("status before")

        await outside.down()
        client = _nwaku_client(h)
        await _until(lambda: _node_unready(client))
        # Outbound: posts made while the node refuses connections wait in the outbox.
        outbound = ["waku during one", "waku during two"]
        for text in outbound:
            h.tg.user_sends(h.tg_group, h.alice, text)
        await _until(lambda: _pending_retry(h, h.waku_ref, "waku during one"))
        # Inbound: Status users keep talking on the node; the bridge cannot poll it.
        inbound = ["status during one", "status during two"]
        for text in inbound:
            await phone.say(text)
        assert _waku_texts(h, "waku during") == []

        await outside.up()
        await h.waku_copy("waku during two")
        await h.tg_copy("status during two")
        await h.dc_copy("status during two")
        h.tg.user_sends(h.tg_group, h.alice, "waku after")
        await h.waku_copy("waku after")
        await h.settle()

        _in_order(_waku_texts(h, "waku "), ["waku before", *outbound, "waku after"])
        expected_in = ["status before", *inbound]
        _in_order(_tg_texts(h, "status "), expected_in)
        _in_order(_dc_texts(h, "status "), expected_in)


async def _node_unready(client: NwakuRestClient) -> bool:
    return not (await client.health()).ready
