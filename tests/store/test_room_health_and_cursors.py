"""The store reads behind ``/room status`` and the per-chat catch-up cursors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.store import Store, messages, outbox_rows, room_health
from bridge.store.cursors import KvCursor
from tests.fakes.relay_adapter import DC, TG, TG2, WK, new_message


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db")
    yield store
    await store.close()


async def test_waiting_and_recent_failures_are_per_room_and_window(store: Store) -> None:
    now = 1_000_000.0
    async with store.transaction() as db:
        mid = await messages.insert(db, "main", new_message(WK, "1", "hi"), None, now)
        rows = [outbox_rows.NewRow(mid, t, "send") for t in (TG, DC, DC, TG2)]
        await outbox_rows.insert(db, rows, now)
        old = await messages.insert(db, "main", new_message(WK, "2", "old"), None, now - 7200)
        await outbox_rows.insert(db, [outbox_rows.NewRow(old, TG, "send")], now - 7200)
    ids = {
        (str(r.target), r.message_id): r.id
        for t in (TG, DC, TG2)
        for r in await outbox_rows.open_rows(store.db, t, 10)
    }
    dc_rows = [r.id for r in await outbox_rows.open_rows(store.db, DC, 10)]
    async with store.transaction() as db:
        await outbox_rows.reschedule(db, [(ids[(str(TG), mid)], 1, now + 5, "timed out")])
        await outbox_rows.mark_delivered(db, [(ids[(str(TG), mid)], None)])
        await outbox_rows.finish(db, [(dc_rows[0], "failed", "403 Missing Permissions", 3)])
        await outbox_rows.reschedule(db, [(dc_rows[1], 1, now + 5, "429 slow down")])
        await outbox_rows.reschedule(db, [(ids[(str(TG2), mid)], 1, now + 5, "elsewhere")])
        await outbox_rows.reschedule(db, [(ids[(str(TG), old)], 1, now + 5, "long ago")])
    room = [TG, DC]
    # Open: the second Discord row (pending again) and the old Telegram row.
    assert await room_health.waiting(store.db, room) == 2
    assert await room_health.waiting(store.db, []) == 0
    found = await room_health.recent_failures(store.db, room, now - 3600)
    assert sorted((c.platform, c.state, c.count) for c in found.counts) == [
        ("discord", "failed", 1),
        ("discord", "pending", 1),
        ("telegram", "delivered", 1),
    ]
    assert (found.last_platform, found.last_error) == ("discord", "429 slow down")
    assert await room_health.recent_failures(store.db, [WK], now - 3600) == (
        room_health.RecentFailures(())
    )


async def test_cursors_are_namespaced_and_survive_a_reopen(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.db")
    a, b = KvCursor(lambda: store, "one"), KvCursor(lambda: store, "two")
    assert await a.get(5) is None
    await asyncio.gather(a.set(5, 10), a.set(6, 11), b.set(5, 99))
    assert (await a.get(5), await a.get(6), await b.get(5)) == (10, 11, 99)
    await store.close()
    store = await Store.open(tmp_path / "parley.db")
    assert await KvCursor(lambda: store, "one").get(6) == 11
    await store.close()


async def test_a_cursor_write_is_one_round_trip_committed_at_once(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    try:
        cursor = KvCursor(lambda: store, "one")
        counters = await store.count()
        await cursor.set(5, 10)
        # Its own transaction, committed by SQLite: no BEGIN/COMMIT round trips around it.
        assert (counters.round_trips, counters.transactions) == (1, 1)
        assert not store.db.in_transaction
    finally:
        await store.close()


async def test_cursor_positions_of_several_chats_in_one_write(store: Store) -> None:
    cursor = KvCursor(lambda: store, "many")
    counters = await store.count()
    await cursor.set_many({1: 10, 2: 20})
    assert counters.transactions == 1
    assert (await cursor.get(1), await cursor.get(2)) == (10, 20)
    await cursor.set_many({2: 21})
    assert (await cursor.get(1), await cursor.get(2)) == (10, 21)
