"""Store.count(): the round trips, statements and commits that bench/relay.py reports."""

from __future__ import annotations

from pathlib import Path

from bridge.store import Store, StoreCounters, kv


async def test_counts_round_trips_statements_and_commits(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    try:
        await kv.get(store.db, "before")  # not counted: counting has not started
        counters = await store.count()
        assert counters == StoreCounters()
        async with store.transaction() as db:  # BEGIN, two executes, COMMIT: four hops
            await kv.set(db, "a", 1)
            await db.executemany(
                "INSERT INTO kv(key, value, updated_at) VALUES (?, ?, 0)", [("b", "2"), ("c", "3")]
            )
        assert counters == StoreCounters(round_trips=4, statements=5, transactions=1)
        before = counters.copy()
        assert await kv.get(store.db, "a") == "1"  # a cursor: execute, fetchone, close
        await store.db.execute_fetchall("SELECT 1", ())
        assert counters - before == StoreCounters(round_trips=4, statements=2, transactions=0)
        assert await store.count() is counters  # a second call keeps the same counters
    finally:
        await store.close()
