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
        async with store.db.execute("SELECT 1") as cursor:  # execute, fetchone, close
            await cursor.fetchone()
        assert await kv.get(store.db, "a") == "1"  # execute_fetchall: one hop
        assert counters - before == StoreCounters(round_trips=4, statements=2, transactions=0)
        assert await store.count() is counters  # a second call keeps the same counters
    finally:
        await store.close()


async def test_a_lone_write_is_one_round_trip_and_commits(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    try:
        counters = await store.count()
        sql = "INSERT OR IGNORE INTO kv(key, value, updated_at) VALUES (?, ?, 0) RETURNING 1"
        assert len(await store.write(sql, ("a", "1"))) == 1
        assert await store.write(sql, ("a", "2")) == []  # ignored: nothing returned
        assert counters.round_trips == 2
        assert counters.transactions == 2
        assert not store.db.in_transaction
        # Committed: another connection sees it.
        other = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
        try:
            assert await kv.get(other.db, "a") == "1"
        finally:
            await other.close()
    finally:
        await store.close()


async def test_statements_are_traced_only_when_asked(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    try:
        # A bench times throughput without tracing: the database thread is not called back.
        counters = await store.count(statements=False)
        async with store.transaction() as db:
            await kv.set(db, "a", 1)
        assert counters == StoreCounters(round_trips=3, statements=0, transactions=1)
        assert await store.count(statements=True) is counters
        async with store.transaction() as db:
            await kv.set(db, "b", 2)
        assert counters == StoreCounters(round_trips=6, statements=3, transactions=2)
        await store.count(statements=False)
        await kv.get(store.db, "a")
        assert counters == StoreCounters(round_trips=7, statements=3, transactions=2)
    finally:
        await store.close()
