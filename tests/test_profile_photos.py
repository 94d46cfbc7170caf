"""The profile-photo cache: bounded in bytes, refreshed, and served by content hash."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bridge.model import Author, Platform, UserId
from bridge.profile_photos import PhotoSource, ProfilePhotos
from bridge.store import Store


class Photos:
    """A platform's photo service as the adapter would answer: one noisy image per user."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def profile_photo(self, user_id: str) -> bytes | None:
        self.asked.append(user_id)
        if user_id == "nobody":
            return None
        seed = sum(map(ord, user_id))
        image = Image.effect_noise((256, 256), 64 + seed % 32).convert("RGB")
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db")
    yield store
    await store.close()


def _author(user: str) -> Author:
    return Author("telegram", UserId(user), user)


async def test_cache_is_bounded_refreshed_and_never_overrides_an_avatar(store: Store) -> None:
    now = [1000.0]
    source = Photos()

    def sources(platform: Platform) -> PhotoSource | None:
        return source if platform == "telegram" else None

    photos = ProfilePhotos(
        lambda: store,
        sources,
        "https://bridge.example",
        refresh=60.0,
        max_bytes=250_000,  # room for one noisy 256×256 PNG (about 170 kB), not two
        clock=lambda: now[0],
    )
    first = await photos.enrich(_author("ann"))
    assert first.avatar_url is not None
    assert first.avatar_url.startswith("https://bridge.example/photos/")
    sha = first.avatar_url.rsplit("/", 1)[1].removesuffix(".png")
    png = await photos.image(sha)
    assert png is not None and png.startswith(b"\x89PNG")
    assert (await photos.enrich(_author("ann"))).avatar_url == first.avatar_url
    assert source.asked == ["ann"]  # cached

    # A second user's photo pushes the first out: the budget holds, ann is fetched again.
    now[0] += 1
    assert (await photos.enrich(_author("ben"))).avatar_url is not None
    assert await photos.image(sha) is None
    assert (await photos.enrich(_author("ann"))).avatar_url is None  # gone; refetched
    await photos.wait_idle()
    assert source.asked == ["ann", "ben", "ann"]

    # No photo is remembered too; after the refresh time it is asked again.
    assert (await photos.enrich(_author("nobody"))).avatar_url is None
    asked = source.asked.count("nobody")
    await photos.enrich(_author("nobody"))
    assert source.asked.count("nobody") == asked
    now[0] += 61
    await photos.enrich(_author("nobody"))
    await photos.wait_idle()
    assert source.asked.count("nobody") == asked + 1

    # An author who has an avatar (a verified NFT) keeps it; Discord has no source here.
    nft = Author("telegram", UserId("ann"), "ann", avatar_url="https://bridge.example/avatars/x")
    assert await photos.enrich(nft) == nft
    assert await photos.enrich(Author("discord", UserId("1"), "d")) == Author(
        "discord", UserId("1"), "d"
    )
