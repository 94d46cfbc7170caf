from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.store import Store, messages, parts, reactions
from bridge.store.parts import StoredParts
from tests.fakes.relay_adapter import DC, TG, WK, author, new_message


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db")
    yield store
    await store.close()


async def test_reaction_counts_exclude_the_target_chat_and_rank_by_use(store: Store) -> None:
    alice, carol = author("telegram", "alice"), author("telegram", "carol")
    bob, dora = author("discord", "bob"), author("discord", "dora")
    async with store.transaction() as db:
        mid = await messages.insert(db, "main", new_message(TG, "1", "hi"), None, 1.0)
        assert await reactions.apply(db, mid, TG, alice, "👍", True, 10.0)
        assert not await reactions.apply(db, mid, TG, alice, "👍", True, 11.0)  # a repeat
        assert await reactions.apply(db, mid, TG, carol, "👍", True, 12.0)
        assert await reactions.apply(db, mid, DC, bob, "🔥", True, 13.0)
        assert await reactions.apply(db, mid, DC, dora, "😢", True, 14.0)
    db = store.db
    # Discord sees the Telegram people's reactions only, and the reverse.
    assert await reactions.counts(db, mid, DC) == (("👍", 2),)
    assert await reactions.counts(db, mid, TG) == (("😢", 1), ("🔥", 1))  # tie: newest first
    assert await reactions.counts(db, mid, WK) == (("👍", 2), ("😢", 1), ("🔥", 1))
    async with store.transaction() as db2:
        assert await reactions.apply(db2, mid, TG, carol, "👍", False, 15.0)
        assert not await reactions.apply(db2, mid, TG, carol, "👍", False, 16.0)
    assert await reactions.counts(store.db, mid, DC) == (("👍", 1),)


async def test_parts_are_kept_per_platform_chat_and_copy_and_pruned(store: Store) -> None:
    telegram = StoredParts(lambda: store, "telegram")
    discord = StoredParts(lambda: store, "discord")
    await telegram.put("-100", "7", [[7, "c"], [8, "t"]])
    assert await telegram.get("-100", "7") == [[7, "c"], [8, "t"]]
    assert await discord.get("-100", "7") is None
    await telegram.put("-100", "7", [[7, "c"]])
    assert await telegram.get("-100", "7") == [[7, "c"]]
    await telegram.forget("-100", "7")
    assert await telegram.get("-100", "7") is None
    await discord.put("5", "9", {"ids": [9, 10]})
    async with store.transaction() as db:
        await parts.prune(db, time.time() + 1)
    assert await discord.get("5", "9") is None


async def test_later_parts_lead_to_their_copy_until_dropped_forgotten_or_pruned(
    store: Store,
) -> None:
    waku = StoredParts(lambda: store, "waku")
    await waku.put("room", "0xa", ["0xa", "0xb", "0xc"], ["0xb", "0xc"])
    assert await waku.owner("room", "0xc") == "0xa"
    assert await waku.owner("other-room", "0xc") is None
    assert await StoredParts(lambda: store, "telegram").owner("room", "0xc") is None
    await waku.put("room", "0xa", ["0xa", "0xb"], ["0xb"])  # an edit dropped the last part
    assert await waku.owner("room", "0xc") is None and await waku.owner("room", "0xb") == "0xa"
    await waku.forget("room", "0xa")
    assert await waku.owner("room", "0xb") is None
    await waku.put("room", "0xd", ["0xd", "0xe"], ["0xe"])
    async with store.transaction() as db:
        await parts.prune(db, time.time() + 1)
    assert await waku.owner("room", "0xe") is None
