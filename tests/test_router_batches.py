"""New messages that arrive together are recorded together: one INSERT for the messages and
one for their deliveries, whatever their number, and still each as if it came alone (replies
within the batch, repeats, delivery order)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.model import NewMessage
from bridge.router import Room, Router
from bridge.store import Store
from tests.fakes.relay_adapter import new_message

ROOMS = [
    Room(
        f"room{i}",
        (telegram_chat(TelegramChatId(-1000 - i)), discord_channel(DiscordChannelId(500 + i))),
    )
    for i in range(12)
]
TG0, DC0 = ROOMS[0].members


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    yield store
    await store.close()


async def _together(router: Router, events: list[NewMessage]) -> None:
    # Handed over at once, as a getUpdates answer's updates are: they queue for one commit.
    await asyncio.gather(*(router.handle(e) for e in events))


async def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await store.db.execute_fetchall(sql)]


async def test_a_batch_of_new_messages_is_two_statements(store: Store) -> None:
    router = Router(store, ROOMS)
    counters = await store.count()
    await _together(router, [new_message(room.members[0], "1", room.name) for room in ROOMS])
    # BEGIN, the messages (with their id map entries), their outbox rows, COMMIT: one
    # message at a time this was two round trips per message.
    assert counters.round_trips == 4
    assert counters.transactions == 1
    stored = await _rows(store, "SELECT text FROM relay_messages ORDER BY id")
    assert sorted(t for (t,) in stored) == sorted(room.name for room in ROOMS)
    targets = await _rows(
        store,
        "SELECT m.text, o.target_chat FROM relay_outbox o JOIN relay_messages m"
        " ON m.id = o.message_id",
    )
    assert sorted(targets) == sorted((r.name, r.members[1].chat_id) for r in ROOMS)


async def test_a_reply_to_a_message_of_the_same_batch_finds_its_parent(store: Store) -> None:
    router = Router(store, ROOMS)
    await _together(
        router,
        [
            new_message(TG0, "21", "answer", reply_to="20"),
            new_message(TG0, "20", "question"),
        ],
    )
    rows = await _rows(store, "SELECT id, text, reply_to FROM relay_messages")
    by_text = {text: (mid, parent) for mid, text, parent in rows}
    assert by_text["answer"][1] == by_text["question"][0]


async def test_a_repeat_within_a_batch_is_recorded_once(store: Store) -> None:
    router = Router(store, ROOMS)
    await _together(router, [new_message(TG0, "30", "once"), new_message(TG0, "30", "once")])
    assert await _rows(store, "SELECT text FROM relay_messages") == [("once",)]
    assert len(await _rows(store, "SELECT id FROM relay_outbox")) == 1
    # A repeat of what the map already knows is ignored too, batch or not.
    await _together(router, [new_message(TG0, "30", "once"), new_message(TG0, "31", "new")])
    assert sorted(await _rows(store, "SELECT text FROM relay_messages")) == [("new",), ("once",)]


async def test_one_targets_deliveries_keep_the_order_of_their_messages(store: Store) -> None:
    router = Router(store, ROOMS)
    texts = [f"m{i}" for i in range(20)]
    await _together(router, [new_message(TG0, str(100 + i), t) for i, t in enumerate(texts)])
    rows = await _rows(
        store,
        "SELECT m.text FROM relay_outbox o JOIN relay_messages m ON m.id = o.message_id"
        f" WHERE o.target_chat = '{DC0.chat_id}' ORDER BY o.id",
    )
    assert [t for (t,) in rows] == texts
