"""Author lookups made for every relayed message (verified avatar, profile photo) are cached in
memory, and every change to their rows, committed or rolled back, is seen at the next lookup."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bridge.model import Author, Platform, UserId
from bridge.profile_photos import PhotoSource, ProfilePhotos
from bridge.store import Store
from bridge.store import avatars as avatar_store
from bridge.store.avatars import AvatarRecord


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db")
    yield store
    await store.close()


def _record(user: str, sha: str) -> AvatarRecord:
    return AvatarRecord(
        platform="discord",
        user_id=user,
        caip19="eip155:1/erc721:0x" + "11" * 20 + "/1",
        wallet="0x" + "22" * 20,
        block=1,
        collection="Squares",
        name="Red #1",
        image_sha256=sha,
        verified_at=1,
    )


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(out, "PNG")
    return out.getvalue()


async def test_avatar_lookup_is_cached_and_sees_every_put_and_remove(store: Store) -> None:
    counters = await store.count()
    assert await avatar_store.image_of(store.db, "discord", "7") is None
    before = counters.round_trips
    assert await avatar_store.image_of(store.db, "discord", "7") is None
    assert counters.round_trips == before  # answered from memory

    async with store.transaction() as db:
        await avatar_store.put(db, _record("7", "ab" * 32), _png(), "png")
    assert await avatar_store.image_of(store.db, "discord", "7") == "ab" * 32
    before = counters.round_trips
    assert await avatar_store.image_of(store.db, "discord", "7") == "ab" * 32
    assert counters.round_trips == before

    async with store.transaction() as db:
        await avatar_store.put(db, _record("7", "cd" * 32), _png(), "png")
    assert await avatar_store.image_of(store.db, "discord", "7") == "cd" * 32

    async with store.transaction() as db:
        await avatar_store.remove(db, "discord", "7")
    assert await avatar_store.image_of(store.db, "discord", "7") is None


async def test_a_lookup_inside_a_rolled_back_change_is_not_remembered(store: Store) -> None:
    async with store.transaction() as db:
        await avatar_store.put(db, _record("8", "ab" * 32), _png(), "png")
    assert await avatar_store.image_of(store.db, "discord", "8") == "ab" * 32

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with store.transaction() as db:
            await avatar_store.remove(db, "discord", "8")
            # Another coroutine relays a message meanwhile: on the one connection it sees
            # the uncommitted removal ...
            seen = await asyncio.create_task(avatar_store.image_of(store.db, "discord", "8"))
            assert seen is None
            raise Undo
    # ... which was undone: the avatar is back, not a remembered "none".
    assert await avatar_store.image_of(store.db, "discord", "8") == "ab" * 32


class _Photos:
    def __init__(self) -> None:
        self.asked = 0

    async def profile_photo(self, user_id: str) -> bytes | None:
        self.asked += 1
        out = io.BytesIO()
        Image.new("RGB", (32, 32), (0, self.asked * 40 % 256, 0)).save(out, "PNG")
        return out.getvalue()


async def test_profile_photo_lookup_is_cached_until_the_photo_is_refetched(store: Store) -> None:
    now = [1000.0]
    source = _Photos()

    def sources(platform: Platform) -> PhotoSource | None:
        return source if platform == "telegram" else None

    photos = ProfilePhotos(
        lambda: store, sources, "https://bridge.example", refresh=60.0, clock=lambda: now[0]
    )
    ann = Author("telegram", UserId("ann"), "ann")
    first = (await photos.enrich(ann)).avatar_url
    assert first is not None
    assert (await photos.enrich(ann)).avatar_url == first  # read once since the fetch
    counters = await store.count()
    assert (await photos.enrich(ann)).avatar_url == first
    assert counters.round_trips == 0  # no query for a known author

    now[0] += 61  # due: refetched in the background, a new photo
    assert (await photos.enrich(ann)).avatar_url == first
    await photos.wait_idle()
    second = (await photos.enrich(ann)).avatar_url
    assert second is not None and second != first
    assert source.asked == 2


class _NoPhoto:
    async def profile_photo(self, user_id: str) -> bytes | None:
        return None


async def test_lookups_answered_during_an_unrelated_write_are_remembered(store: Store) -> None:
    # Under load another coroutine's transaction (a relayed message's) is open much of the
    # time; a lookup answered meanwhile saw committed rows of its table all the same.
    photos = ProfilePhotos(lambda: store, lambda _p: _NoPhoto(), "https://bridge.example")
    bob = Author("telegram", UserId("bob"), "bob")
    assert (await photos.enrich(bob)).avatar_url is None  # fetched: bob has no photo
    await photos.wait_idle()
    counters = await store.count()
    async with store.transaction() as db:
        await db.execute("INSERT INTO kv(key, value, updated_at) VALUES ('unrelated', '1', 0)")
        assert (await asyncio.create_task(photos.enrich(bob))).avatar_url is None
        seen = await asyncio.create_task(avatar_store.image_of(store.db, "discord", "9"))
        assert seen is None
    before = counters.round_trips
    assert (await photos.enrich(bob)).avatar_url is None
    assert await avatar_store.image_of(store.db, "discord", "9") is None
    assert counters.round_trips == before  # both answered from memory


async def test_a_lookup_between_a_writes_invalidation_and_its_commit_is_not_remembered(
    store: Store,
) -> None:
    async with store.transaction() as db:
        await avatar_store.put(db, _record("10", "ab" * 32), _png(), "png")
    async with store.transaction() as db:
        # Queued on the connection after put's invalidation, before its writes: it reads the
        # old avatar, which the commit then replaces.
        lookup = asyncio.create_task(avatar_store.image_of(store.db, "discord", "10"))
        await avatar_store.put(db, _record("10", "cd" * 32), _png(), "png")
        assert await lookup == "ab" * 32
    assert await avatar_store.image_of(store.db, "discord", "10") == "cd" * 32


async def test_lookups_of_one_author_missing_together_share_one_read(store: Store) -> None:
    # A burst of one author's messages on a cold cache: one read, not one per message.
    photos = ProfilePhotos(lambda: store, lambda _p: _NoPhoto(), "https://bridge.example")
    carl = Author("telegram", UserId("carl"), "carl")
    assert (await photos.enrich(carl)).avatar_url is None
    await photos.wait_idle()  # the fetch wrote carl's row (no photo), invalidating it
    counters = await store.count()
    enriched = await asyncio.gather(*(photos.enrich(carl) for _ in range(20)))
    looked_up = await asyncio.gather(
        *(avatar_store.image_of(store.db, "discord", "11") for _ in range(20))
    )
    assert [a.avatar_url for a in enriched] == [None] * 20
    assert looked_up == [None] * 20
    assert counters.round_trips == 2  # one SELECT each
