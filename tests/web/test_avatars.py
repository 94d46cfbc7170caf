"""``GET /avatars/<sha256>.png`` on the bridge's web app: stored PNGs only, validated names."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from bridge.nft.image import normalise_avatar
from bridge.nft.service import AvatarService
from bridge.nft.web import avatar_routes
from bridge.store import Store
from bridge.store import avatars as avatar_store
from tests.identity.support import RecordingNotifier, free_socket, serve


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, Store, str]]:
    store = await Store.open(tmp_path / "parley.db")
    service = AvatarService(
        store=lambda: store,
        notifier=RecordingNotifier(),
        public_url="http://bridge.test",
        chain_id=1,
        w3=None,
        ipfs_gateway="https://ipfs.io/ipfs/",
        arweave_gateway="https://arweave.net/",
        max_image_bytes=1 << 20,
        fetch_timeout=5.0,
        recheck_hours=24.0,
    )
    source = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(source, format="JPEG")
    avatar = normalise_avatar(source.getvalue())
    record = avatar_store.AvatarRecord(
        "telegram",
        "1",
        "eip155:1/erc721:0x" + "ab" * 20 + "/1",
        "0x" + "cd" * 20,
        5,
        "C",
        "N",
        avatar.sha256,
        100,
    )
    async with store.transaction() as db:
        await avatar_store.put(db, record, avatar.png, avatar.source_format)
    sock = free_socket()
    try:
        async with serve(sock, [avatar_routes(service)]) as server:
            yield server.url, store, avatar.sha256
    finally:
        await store.close()


async def test_serves_stored_png_with_immutable_caching(served: tuple[str, Store, str]) -> None:
    url, _store, digest = served
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/avatars/{digest}.png") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "image/png"
            assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            body = await r.read()
            etag = r.headers["ETag"]
        assert hashlib.sha256(body).hexdigest() == digest and body.startswith(b"\x89PNG")
        async with http.get(f"{url}/avatars/{digest}.png", headers={"If-None-Match": etag}) as r:
            assert r.status == 304


@pytest.mark.parametrize(
    "name",
    [
        "0" * 64 + ".png",  # well-formed, not stored
        "{digest_upper}.png",
        "{digest}.jpg",
        "{digest}",
        "{digest}.png.png",
        "..%2F..%2Fparley.db",
        "x.png",
    ],
)
async def test_anything_else_is_404(served: tuple[str, Store, str], name: str) -> None:
    url, _store, digest = served
    path = name.format(digest=digest, digest_upper=digest.upper())
    async with aiohttp.ClientSession() as http, http.get(f"{url}/avatars/{path}") as r:
        assert r.status == 404


async def test_removed_avatar_takes_its_image_along(served: tuple[str, Store, str]) -> None:
    url, store, digest = served
    async with store.transaction() as db:
        assert await avatar_store.remove(db, "telegram", "1") is not None
    async with aiohttp.ClientSession() as http, http.get(f"{url}/avatars/{digest}.png") as r:
        assert r.status == 404
