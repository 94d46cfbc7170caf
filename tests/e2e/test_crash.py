"""kill -9 of a real bridge process in the middle of a burst, then a restart on the same data.

The stand-ins run here; the bridge runs in a child process (``tests/e2e/crash_child.py``)
with the embedded Waku node inside it. 200 Telegram messages go in; after 60 or more have
reached Discord the child gets SIGKILL; a new child starts on the same data dir. Then every
message must be on Discord and in the Waku room, each exactly once. A Discord send cut short by
the kill is in doubt; ``recover`` finds the webhook copy in the channel's history (our webhook,
the relayed name, the rendered text) when it was posted, so it is not sent again. Waku sends are
recovered from the node's store. Telegram is only the source here: it redelivers the updates the
killed process had not confirmed, and the router drops them.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bots.registry import PLATFORMS
from bridge.config import parse_config
from bridge.status import chat_key, chat_topic, parse_status_payload
from bridge.store import Store
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.node import HistoryQuery
from crypto.keys import generate_private_key
from crypto.payload import decrypt_symmetric
from tests.e2e.harness import free_port
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeBot, FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
WAKU_CHAT = "parley-crash"
_BURST = re.compile(r"burst \d{3}")
TOTAL = 200
KILL_AFTER = 60


async def _start_child(
    config: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.crash_child",
        str(config),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PTB_TIMEDELTA": "1", **(env or {})},
    )
    assert child.stdout is not None
    async with asyncio.timeout(60):
        while True:
            line = await child.stdout.readline()
            if not line:
                raise AssertionError("the bridge process died before it was ready")
            if line.strip() == b"READY":
                return child


def _open_rows(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM relay_outbox WHERE state IN ('pending', 'sending')"
        ).fetchone()
        return int(count)


async def _waku_texts(store_path: Path, pubsub_topic: str) -> list[str]:
    """Every chat text the bridge published into the room, read from the node's archive."""
    store = await Store.open(store_path)
    node = EmbeddedNode(store)
    texts: list[str] = []
    try:
        query = HistoryQuery(
            pubsub_topic=pubsub_topic, content_topics=[chat_topic(WAKU_CHAT)], page_size=100
        )
        while True:
            page = await node.query(query)
            for received in page.messages:
                plain = decrypt_symmetric(received.message.payload, chat_key(WAKU_CHAT))
                envelope = parse_status_payload(plain.payload, None)
                found = _BURST.search(str(getattr(envelope.content, "text", "")))
                texts.append(found.group() if found else "")
            if page.cursor is None:
                break
            query = HistoryQuery(
                pubsub_topic=pubsub_topic,
                content_topics=[chat_topic(WAKU_CHAT)],
                cursor=page.cursor,
                page_size=100,
            )
    finally:
        await store.close()
    assert texts, "no messages in the room's archive"
    return texts


def _bridge_config(tmp_path: Path, tg: FakeTelegram, bot: FakeBot) -> dict[str, Any]:
    """The child bridge's config without its rooms: its data folder, ports and Telegram."""
    web_port = free_port()
    return {
        "bridge": {"name": "parley", "data_dir": str(tmp_path / "data"), "flood_burst": 0},
        "waku": {"rest_host": "127.0.0.1", "rest_port": free_port()},
        "web": {
            "host": "127.0.0.1",
            "port": web_port,
            "public_url": f"http://127.0.0.1:{web_port}",
        },
        "telegram": {
            "token": bot.token,
            "api_base_url": tg.base_url,
            "file_base_url": tg.base_file_url,
        },
    }


async def test_kill_9_in_the_middle_of_a_burst(tmp_path: Path) -> None:
    async with FakeTelegram() as tg, FakeDiscord() as dc:
        bot = tg.add_bot("parley_bot")
        alice = tg.add_user("Alice", username="alice_tg")
        group = tg.add_chat("supergroup", "Room", members=[alice], bots=[bot])
        guild = dc.add_guild("Parley")
        channel = dc.add_text_channel(guild, "general")
        webhook = dc.add_webhook(channel.id)
        raw = _bridge_config(tmp_path, tg, bot)
        raw.update(
            {
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
                        "waku_chat": WAKU_CHAT,
                        "webhooks": [
                            {"channel": channel.id, "id": webhook.id, "token": webhook.token}
                        ],
                    }
                ],
            }
        )
        config = tmp_path / "crash.json"
        config.write_text(
            json.dumps({"config": raw, "identity_key": generate_private_key().hex()}), "utf-8"
        )
        settings = parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)
        texts = [f"burst {i:03d}" for i in range(TOTAL)]

        def on_discord() -> collections.Counter[str]:
            return collections.Counter(
                e.content or "" for e in dc.webhook_executions if (e.content or "") in texts
            )

        child = await _start_child(config)
        try:
            for text in texts:
                tg.user_sends(group, alice, text)
            await dc.wait_for(lambda: sum(on_discord().values()) >= KILL_AFTER, timeout=60)
            child.send_signal(signal.SIGKILL)
            await child.wait()
            killed_at = sum(on_discord().values())
            assert killed_at < TOTAL, "the burst was over before the kill: nothing was tested"

            child = await _start_child(config)
            await dc.wait_for(lambda: set(on_discord()) == set(texts), timeout=90)
            async with asyncio.timeout(60):
                while _open_rows(settings.store_path):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
                async with asyncio.timeout(30):
                    await child.wait()

        seen = on_discord()
        assert set(seen) == set(texts)  # nothing lost
        # Exactly once: the send in flight at the kill was recovered, not repeated.
        assert seen == collections.Counter(texts), {t: n for t, n in seen.items() if n != 1}
        # Discord shows them in the order they were written.
        assert [e.content for e in dc.webhook_executions if e.content in texts] == texts

        waku = await _waku_texts(settings.store_path, settings.rooms[0].waku_pubsub_topic)
        counted = collections.Counter(t for t in waku if t in texts)
        assert counted == collections.Counter(texts)  # every one, exactly once
        assert list(dict.fromkeys(t for t in waku if t in texts)) == texts
        # Nothing came back to Telegram (no echo loops through the restart).
        assert [m for m in tg.sent_messages(group) if "burst" in m.content] == []


async def _waku_parts(store_path: Path, pubsub_topic: str) -> list[tuple[str, str, str]]:
    """(Status message id, BridgeMessage.messageID, content) of every bridged message the
    room's archive holds, in order, repeats included."""
    store = await Store.open(store_path)
    node = EmbeddedNode(store)
    found: list[tuple[str, str, str]] = []
    try:
        query = HistoryQuery(
            pubsub_topic=pubsub_topic, content_topics=[chat_topic(WAKU_CHAT)], page_size=100
        )
        while True:
            page = await node.query(query)
            for received in page.messages:
                plain = decrypt_symmetric(received.message.payload, chat_key(WAKU_CHAT))
                envelope = parse_status_payload(plain.payload, None)
                bridged = getattr(envelope.content, "bridge", None)
                if bridged is not None:
                    found.append((envelope.message_id_hex, bridged.message_id, bridged.content))
            if page.cursor is None:
                break
            query = HistoryQuery(
                pubsub_topic=pubsub_topic,
                content_topics=[chat_topic(WAKU_CHAT)],
                cursor=page.cursor,
                page_size=100,
            )
    finally:
        await store.close()
    return found


@pytest.mark.parametrize("kill_at", [1, 2])
async def test_kill_9_between_the_parts_of_a_long_status_message(
    tmp_path: Path, kill_at: int
) -> None:
    """A Telegram text of 3,999 characters is over status-go's 4,096 runes once its asterisks
    are escaped for Status: two Status messages. The bridge dies as it publishes the first
    (recorded, not out) or the second (the first out); after the restart both parts are in the
    room, each once as status-go counts them (by message id: a part published again after the
    crash is the same signed message, which status-go skips)."""
    async with FakeTelegram() as tg:
        bot = tg.add_bot("parley_bot")
        alice = tg.add_user("Alice", username="alice_tg")
        group = tg.add_chat("supergroup", "Room", members=[alice], bots=[bot])
        raw = _bridge_config(tmp_path, tg, bot)
        raw.update(
            {
                "rooms": [{"name": "main", "telegram_chats": [group.id], "waku_chat": WAKU_CHAT}],
            }
        )
        config = tmp_path / "crash.json"
        config.write_text(
            json.dumps({"config": raw, "identity_key": generate_private_key().hex()}), "utf-8"
        )
        settings = parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)
        text = " ".join(["a*b"] * 1000)
        assert len(text) < 4096  # Telegram takes it as one message

        child = await _start_child(config, {"PARLEY_TEST_KILL_AT_PUBLISH": str(kill_at)})
        try:
            tg.user_sends(group, alice, text)
            async with asyncio.timeout(60):
                await child.wait()
            assert child.returncode == -signal.SIGKILL
            child = await _start_child(config)
            async with asyncio.timeout(60):
                while _open_rows(settings.store_path):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
                async with asyncio.timeout(30):
                    await child.wait()

        published = await _waku_parts(settings.store_path, settings.rooms[0].waku_pubsub_topic)
        # status-go keeps the first of each message id (protocol/messenger.go,
        # handleRetrievedMessages: "Don't process duplicates").
        kept: dict[str, tuple[str, str]] = {}
        for status_id, bridged, content in published:
            kept.setdefault(status_id, (bridged, content))
        parts = list(kept.values())
        assert len(parts) == 2 and parts[1][0] == parts[0][0] + "#2", published
        joined = " ".join(content for _, content in parts)
        assert joined.replace("\\*", "*").split() == text.split()
        assert [m for m in tg.sent_messages(group) if "a*b" in m.content] == []
