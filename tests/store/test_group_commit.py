"""The group commit: units of different keys share a transaction concurrently, units of one key
run in the order they were asked for, and a failing unit fails neither the others nor leaves
anything of itself behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import aiosqlite
import pytest

from bridge.store import Store
from bridge.store.group_commit import GroupCommit


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    await store.db.execute("CREATE TABLE t(k TEXT, v INTEGER)")
    await store.db.commit()
    yield store
    await store.close()


async def _rows(store: Store) -> list[tuple[str, int]]:
    rows = await store.db.execute_fetchall("SELECT k, v FROM t ORDER BY rowid")
    return [(str(r[0]), int(r[1])) for r in rows]


async def _blocker(writes: GroupCommit) -> tuple[asyncio.Future[None], asyncio.Task[None]]:
    """A unit that holds the transaction open until released: what is asked meanwhile queues
    and goes out as one batch."""
    release: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def hold(db: aiosqlite.Connection) -> None:
        await db.execute("INSERT INTO t VALUES ('first', 0)")
        await release

    task = asyncio.create_task(writes.run(hold))
    await asyncio.sleep(0.05)
    return release, task


async def test_units_of_different_keys_interleave_inside_one_transaction(store: Store) -> None:
    writes = GroupCommit(store)
    release, first = await _blocker(writes)
    b_wrote = asyncio.Event()

    async def a(db: aiosqlite.Connection) -> str:
        # Waits for b, which comes after it in the batch: one at a time, this never finishes.
        await asyncio.wait_for(b_wrote.wait(), timeout=5)
        await db.execute("INSERT INTO t VALUES ('a', 1)")
        return "a"

    async def b(db: aiosqlite.Connection) -> str:
        await db.execute("INSERT INTO t VALUES ('b', 2)")
        b_wrote.set()
        return "b"

    ta = asyncio.create_task(writes.run(a, key="room-a"))
    tb = asyncio.create_task(writes.run(b, key="room-b"))
    await asyncio.sleep(0.01)
    release.set_result(None)
    await first
    assert (await ta, await tb) == ("a", "b")
    assert sorted(await _rows(store)) == [("a", 1), ("b", 2), ("first", 0)]


async def test_units_of_one_key_run_in_the_order_asked(store: Store) -> None:
    writes = GroupCommit(store)
    release, first = await _blocker(writes)
    trace: list[str] = []

    def unit(name: str, statements: int) -> Callable[[aiosqlite.Connection], Awaitable[str]]:
        async def run(db: aiosqlite.Connection) -> str:
            for i in range(statements):
                trace.append(f"{name}{i}")
                await db.execute("INSERT INTO t VALUES (?, ?)", (name, i))
            return name

        return run

    tasks = [
        asyncio.create_task(writes.run(unit("x", 3), key="room")),
        asyncio.create_task(writes.run(unit("y", 3), key="room")),
        asyncio.create_task(writes.run(unit("z", 1), key="other")),
    ]
    await asyncio.sleep(0.01)
    release.set_result(None)
    await first
    assert [await t for t in tasks] == ["x", "y", "z"]
    same_key = [step for step in trace if step[0] in "xy"]
    assert same_key == ["x0", "x1", "x2", "y0", "y1", "y2"]


async def test_a_failing_unit_leaves_nothing_and_fails_no_other(store: Store) -> None:
    writes = GroupCommit(store)
    release, first = await _blocker(writes)
    slow_done = asyncio.Event()

    async def bad(db: aiosqlite.Connection) -> None:
        await db.execute("INSERT INTO t VALUES ('bad', 1)")
        raise ValueError("refused")

    async def slow(db: aiosqlite.Connection) -> str:
        # Still writing when its neighbour fails: it must finish inside the transaction, not
        # run on after the rollback into whatever comes next.
        for i in range(5):
            await asyncio.sleep(0.01)
            await db.execute("INSERT INTO t VALUES ('slow', ?)", (i,))
        slow_done.set()
        return "slow"

    t_bad = asyncio.create_task(writes.run(bad, key="one"))
    t_slow = asyncio.create_task(writes.run(slow, key="two"))
    await asyncio.sleep(0.01)
    release.set_result(None)
    await first
    with pytest.raises(ValueError, match="refused"):
        await t_bad
    assert await t_slow == "slow"
    rows = await _rows(store)
    assert ("bad", 1) not in rows
    assert [v for k, v in rows if k == "slow"] == [0, 1, 2, 3, 4]
    assert not store.db.in_transaction


async def test_bulk_work_sees_every_item_of_the_batch_and_a_bad_item_fails_alone(
    store: Store,
) -> None:
    writes = GroupCommit(store)
    calls: list[list[str]] = []

    async def insert_all(db: aiosqlite.Connection, items: Sequence[str]) -> list[int]:
        calls.append(list(items))
        for item in items:
            await db.execute("INSERT INTO t VALUES (?, 1)", (item,))
        if "bad" in items:
            raise ValueError("bad item")
        return [len(item) for item in items]

    release, first = await _blocker(writes)
    tasks = [asyncio.create_task(writes.run_many(insert_all, item)) for item in ("a", "bad", "ccc")]
    await asyncio.sleep(0.01)
    release.set_result(None)
    await first
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], ValueError)
    # Once all together (failed, undone), then each alone.
    assert calls == [["a", "bad", "ccc"], ["a"], ["bad"], ["ccc"]]
    assert sorted(k for k, _ in await _rows(store)) == ["a", "ccc", "first"]
