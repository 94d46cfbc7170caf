"""A platform's namespaced key-value records (issue 9, item 1): rows written when the platforms
reached the ``kv`` table themselves read the same; namespaces are closed; sizes are bounded."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.matrix import events as matrix_events
from bots.matrix.direct import DirectRooms
from bots.waku.rooms import seen_key
from bridge.model import NativeId
from bridge.store import Store, kv, messages
from bridge.store.origins import StoredOrigins
from bridge.store.platform_kv import MAX_KEY, MAX_MANY, MAX_VALUE, KvLimitError, PlatformKv
from tests.fakes.relay_adapter import DC, TG, WK, new_message


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    yield store
    await store.close()


async def test_rows_written_before_the_namespace_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = await Store.open(path, checkpoint_interval=None)
    # Exactly the keys the platforms wrote themselves before PlatformKv existed.
    await kv.write(old, "matrix.dm.@alice:example.org", "!dm:example.org")
    await kv.write(old, "matrix.reaction.$ev1", '["$target", "👍"]')
    await kv.write(old, "discord.cursor.1234", 999)
    await kv.write(old, "waku.clock.room", 77)
    await kv.write(old, "waku.last_seen./waku/1/0xabc/rfc26", 123456789)
    await kv.write(old, "metrics.counters", "{}")
    await old.close()

    store = await Store.open(path, checkpoint_interval=None)
    try:
        matrix, discord, waku = (PlatformKv(store, p) for p in ("matrix", "discord", "waku"))
        assert await DirectRooms(matrix).known("@alice:example.org") == "!dm:example.org"
        assert await matrix.get(matrix_events._REACTION_KEY + "$ev1") == '["$target", "👍"]'
        # bots/discord/__init__.py builds its catch-up cursor as context.kv.cursor("cursor").
        assert await discord.cursor("cursor").get(1234) == 999
        assert await waku.get_int("clock.room") == 77
        assert await waku.get_int(seen_key("/waku/1/0xabc/rfc26")) == 123456789
        # ...and what they write now is the same row.
        await matrix.set("dm.@bob:example.org", "!other:example.org")
        await discord.cursor("cursor").set(1234, 1000)
        assert await kv.get(store.db, "matrix.dm.@bob:example.org") == "!other:example.org"
        assert await kv.get_int(store.db, "discord.cursor.1234") == 1000
        # A platform sees only its own rows, without its prefix.
        assert [k for k, _ in await waku.items()] == ["clock.room", "last_seen./waku/1/0xabc/rfc26"]
        assert "metrics.counters" not in str([await p.items() for p in (matrix, discord, waku)])
    finally:
        await store.close()


async def test_namespaces_are_closed(store: Store) -> None:
    a, b = PlatformKv(store, "telegram"), PlatformKv(store, "telegram_x")
    await a.set("k", "one")
    await b.set("k", "two")
    await a.set("under_score%", "three")
    await a.set("underXscore", "four")
    assert await a.get("k") == "one" and await b.get("k") == "two"
    # LIKE wildcards in a prefix are literal: "_" does not match "X".
    assert await a.items("under_") == [("under_score%", "three")]
    assert await b.items() == [("k", "two")]
    assert await a.items(limit=1) == [("k", "one")]
    with pytest.raises(ValueError, match="not a platform name"):
        PlatformKv(store, "matrix.dm")
    with pytest.raises(ValueError, match="not a platform name"):
        PlatformKv(store, "")


async def test_get_set_delete_many_and_prune(store: Store) -> None:
    space = PlatformKv(store, "matrix")
    assert await space.get("absent") is None
    await space.set("n", 5)
    assert await space.get_int("n") == 5
    await space.set("n", "five")
    assert await space.get_int("n") is None  # a hand-edited row is not a number
    await space.set_many({"a": 1, "b": "two", "c": "three"})
    assert await space.items() == [("a", "1"), ("b", "two"), ("c", "three"), ("n", "five")]
    await space.set_many({"a": 2})
    assert await space.get("a") == "2"
    await space.delete("a")
    assert await space.get("a") is None
    await store.write("UPDATE kv SET updated_at = updated_at - 100 WHERE key = 'matrix.b'")
    assert await space.prune("", 50) == 1
    assert await space.items() == [("c", "three"), ("n", "five")]


async def test_each_write_is_one_self_committing_statement(store: Store) -> None:
    space = PlatformKv(store, "discord")
    statements: list[str] = []
    await store.db.set_trace_callback(statements.append)
    await space.set("one", 1)
    await space.set_many({str(i): i for i in range(50)})
    await space.delete("one")
    await store.db.set_trace_callback(lambda _sql: None)
    assert len(statements) == 3
    assert not any(s.startswith(("BEGIN", "COMMIT")) for s in statements)


async def test_sets_made_while_a_write_is_in_flight_share_one_statement(store: Store) -> None:
    # The Waku adapter persists a room's clock before each message: under load the rooms'
    # clocks go out together instead of one round trip each, and every write keeps its place.
    space = PlatformKv(store, "waku")
    counters = await store.count()
    before = counters.copy()
    await asyncio.gather(*(space.set(f"clock.{i}", i) for i in range(40)))
    used = counters - before
    # One self-committing statement, one round trip (each set alone took one of each).
    assert (used.statements, used.round_trips, used.transactions) == (1, 1, 1)
    assert await space.items("clock.") == sorted((f"clock.{i}", str(i)) for i in range(40))
    # Order is kept across kinds of writes, and the later value of a key wins.
    writes = [space.set("k", 1), space.set("k", 2), space.delete("k"), space.set("k", 3)]
    await asyncio.gather(*writes, space.set("j", 1))
    assert (await space.get("k"), await space.get("j")) == ("3", "1")
    await asyncio.gather(space.set("k", 4), space.delete("k"))
    assert await space.get("k") is None


async def test_a_failing_shared_statement_fails_only_its_own_write(store: Store) -> None:
    space = PlatformKv(store, "waku")
    await store.write(
        "CREATE TRIGGER refuse BEFORE INSERT ON kv WHEN NEW.value = 'bad'"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    results = await asyncio.gather(
        space.set("a", 1), space.set("b", "bad"), space.set("c", 3), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert await space.items() == [("a", "1"), ("c", "3")]


async def test_sizes_are_bounded_with_a_clear_error(store: Store) -> None:
    space = PlatformKv(store, "matrix")
    with pytest.raises(KvLimitError, match=f"keys must be 1 to {MAX_KEY} bytes"):
        await space.set("k" * (MAX_KEY + 1), "v")
    with pytest.raises(KvLimitError, match="keys must be"):
        await space.get("")
    with pytest.raises(KvLimitError, match=f"at most {MAX_VALUE}"):
        await space.set("k", "é" * (MAX_VALUE // 2 + 1))  # bytes, not characters
    await space.set("k" * MAX_KEY, "v" * MAX_VALUE)  # the bounds themselves are fine
    with pytest.raises(KvLimitError, match=f"at most {MAX_MANY}"):
        await space.set_many({str(i): i for i in range(MAX_MANY + 1)})
    # One bad pair refuses the whole batch: nothing of it is written.
    with pytest.raises(KvLimitError):
        await space.set_many({"fine": 1, "big": "v" * (MAX_VALUE + 1)})
    assert await space.get("fine") is None


async def test_origins_name_the_author_of_an_original_only(store: Store) -> None:
    now = 1_000_000.0
    async with store.transaction() as db:
        mid = await messages.insert(db, "main", new_message(WK, "w1", "hi"), None, now)
        await messages.record_copies(db, [(mid, TG, NativeId("t1"))])
    waku = StoredOrigins(lambda: store, "waku")
    assert await waku.author_of(WK, NativeId("w1")) == new_message(WK, "w1", "hi").author.user_id
    assert await waku.author_of(WK, NativeId("nope")) is None
    # The bridge's copy elsewhere is not an original there.
    assert await StoredOrigins(lambda: store).author_of(TG, NativeId("t1")) is None
    with pytest.raises(ValueError, match="not a waku chat"):
        await waku.author_of(DC, NativeId("w1"))
