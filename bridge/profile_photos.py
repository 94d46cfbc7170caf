"""Profile photos of chat users as per-message avatars (Telegram users on Discord and Status).

Telegram messages carry no avatar; its Bot API gives a user's profile photo to bots
(``getUserProfilePhotos`` + ``getFile``). The adapter of the author's platform fetches it
(``profile_photo(user_id) -> bytes | None``); here it is re-encoded to a 256×256 PNG without
metadata (:func:`bridge.nft.image.normalise_avatar`), cached in the store, and served by the
bridge's web server as ``/photos/<sha256>.png``. A verified NFT avatar always wins: only
authors without an avatar get one from here.

Caching: an account's photo (or its lack) is used for ``refresh`` seconds (6 hours), then
fetched again in the background at the author's next message, which keeps the old one
meanwhile. A first fetch is waited for at most ``first_wait`` seconds so that relaying is never
held up; what comes later serves the next message. The images are bounded to ``max_bytes`` in
total (the least recently used go first, and their accounts are fetched again when needed).
The account -> photo rows are asked for every message, so they are kept in memory too
(:mod:`bridge.store.lookup_cache`) until a fetch or the byte bound changes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol, cast

import aiosqlite
from aiohttp import web

from bridge.commands import Commands
from bridge.host import Enricher, Host, Traffic
from bridge.model import Author, Platform
from bridge.nft.image import ImageError, normalise_avatar
from bridge.store import Store
from bridge.store.lookup_cache import LookupCache, cache_of
from bridge.store.messages import platform_of
from bridge.web.app import RouteRegistrar
from bridge.web.hashed_png import png_by_hash

__all__ = ["PhotoSource", "ProfilePhotos", "install_profile_photos", "photo_routes"]

log = logging.getLogger(__name__)

REFRESH = 6 * 3600.0
FIRST_WAIT = 2.0
MAX_BYTES = 64 * 1024 * 1024
MAX_IN_FLIGHT = 8


class PhotoSource(Protocol):
    """An adapter that can fetch its users' profile photos."""

    async def profile_photo(self, user_id: str) -> bytes | None: ...


class ProfilePhotos:
    """Profile photos as avatar URLs: ``enrich(author)`` and the store behind ``/photos``."""

    def __init__(
        self,
        store: Callable[[], Store],
        source: Callable[[Platform], PhotoSource | None],
        public_url: str,
        *,
        refresh: float = REFRESH,
        first_wait: float = FIRST_WAIT,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._source = source
        self._base = public_url.rstrip("/") + "/photos/"
        self._refresh = refresh
        self._first_wait = first_wait
        self._max_bytes = max_bytes
        self._clock = clock
        self._fetches: dict[tuple[str, str], asyncio.Task[str | None]] = {}

    def url(self, sha256: str) -> str:
        return f"{self._base}{sha256}.png"

    async def enrich(self, author: Author) -> Author:
        """``author`` with its profile photo as ``avatar_url`` when it has no avatar yet."""
        if author.avatar_url or author.is_bot or self._source(author.platform) is None:
            return author
        key = (author.platform, str(author.user_id))
        db = self._store().db

        async def read() -> _Row:
            rows = list(
                await db.execute_fetchall(
                    "SELECT sha256, fetched_at FROM profile_photos"
                    " WHERE platform = ? AND user_id = ?",
                    key,
                )
            )
            return (rows[0][0], float(rows[0][1])) if rows else None

        # Asked for every message, changed a few times a day: the row is cached until
        # _refetch or _bound change it.
        known = await _cache(db).lookup(key, read)
        sha: str | None = None
        if known is not None:
            sha, fetched_at = known
            if fetched_at + self._refresh <= self._clock():
                self._fetch(key)  # in the background; the old photo serves meanwhile
        else:
            task = self._fetch(key)
            if task is not None:
                done, _ = await asyncio.wait({task}, timeout=self._first_wait)
                if done and not task.cancelled() and task.exception() is None:
                    sha = task.result()
        return author if sha is None else replace(author, avatar_url=self.url(sha))

    def _fetch(self, key: tuple[str, str]) -> asyncio.Task[str | None] | None:
        running = self._fetches.get(key)
        if running is not None:
            return running
        if len(self._fetches) >= MAX_IN_FLIGHT:
            return None  # a burst of new authors: the next message tries again
        task = asyncio.create_task(self._refetch(key), name=f"profile-photo {key[0]}")
        self._fetches[key] = task
        task.add_done_callback(lambda done: self._done(key, done))
        return task

    def _done(self, key: tuple[str, str], task: asyncio.Task[str | None]) -> None:
        self._fetches.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            log.warning("profile photo of %s:%s: %r", key[0], key[1], task.exception())

    async def _refetch(self, key: tuple[str, str]) -> str | None:
        platform, user_id = key
        source = self._source(platform_of(platform))
        if source is None:
            return None
        try:
            data = await source.profile_photo(user_id)
        except Exception as exc:
            log.info("profile photo of %s:%s not fetched (%s); later", platform, user_id, exc)
            return None
        sha: str | None = None
        png = b""
        if data is not None:
            try:
                avatar = await asyncio.to_thread(normalise_avatar, data)
            except ImageError as exc:
                log.info("profile photo of %s:%s unusable: %s", platform, user_id, exc)
            else:
                sha, png = avatar.sha256, avatar.png
        now = self._clock()
        async with self._store().transaction() as db:
            _cache(db).invalidate(key)
            if sha is not None:
                await db.execute(
                    "INSERT INTO profile_photo_images(sha256, png, used_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(sha256) DO UPDATE SET used_at = excluded.used_at",
                    (sha, png, now),
                )
            await db.execute(
                "INSERT OR REPLACE INTO profile_photos(platform, user_id, sha256, fetched_at)"
                " VALUES (?, ?, ?, ?)",
                (platform, user_id, sha, now),
            )
            await self._bound(db)
        return sha

    async def _bound(self, db: aiosqlite.Connection) -> None:
        """Drop the least recently used images beyond ``max_bytes``; their accounts are
        fetched again at their next message."""
        rows = await db.execute_fetchall(
            "SELECT sha256, length(png) FROM profile_photo_images ORDER BY used_at DESC"
        )
        total, gone = 0, []
        for sha, size in rows:
            total += int(size)
            if total > self._max_bytes:
                gone.append(sha)
        if gone:
            _cache(db).invalidate()
        for sha in gone:
            await db.execute("DELETE FROM profile_photo_images WHERE sha256 = ?", (sha,))
            await db.execute(
                "UPDATE profile_photos SET sha256 = NULL, fetched_at = 0 WHERE sha256 = ?", (sha,)
            )

    async def image(self, sha256: str) -> bytes | None:
        rows = list(
            await self._store().db.execute_fetchall(
                "SELECT png FROM profile_photo_images WHERE sha256 = ?", (sha256,)
            )
        )
        return bytes(rows[0][0]) if rows else None

    async def wait_idle(self) -> None:
        """Return once the fetches under way have ended."""
        while self._fetches:
            await asyncio.gather(*self._fetches.values(), return_exceptions=True)

    async def stop(self) -> None:
        tasks = list(self._fetches.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


_Row = tuple[str | None, float] | None
"""An account's profile_photos row (sha256, fetched_at), None when it has none."""


def _cache(db: aiosqlite.Connection) -> LookupCache[tuple[str, str], _Row]:
    return cast("LookupCache[tuple[str, str], _Row]", cache_of(db, "profile_photos"))


def photo_routes(image: Callable[[str], Awaitable[bytes | None]]) -> RouteRegistrar:
    """``GET /photos/<sha256>.png``: the cached profile photos, by content hash."""

    serve = png_by_hash(image)

    def register(app: web.Application) -> None:
        app.router.add_get("/photos/{name}", serve)

    return register


class _PhotoEnricher:
    """The relay's enricher with profile photos after it: a verified NFT avatar wins, and a
    failing avatar lookup still leaves the author a profile photo."""

    def __init__(self, inner: Enricher | None, photos: ProfilePhotos) -> None:
        self.inner = inner
        self._photos = photos

    async def enrich(self, author: Author) -> Author:
        if self.inner is not None:
            try:
                author = await self.inner.enrich(author)
            except Exception:
                log.exception("avatar lookup failed for %s", author.user_id)
        return await self._photos.enrich(author)


class _PhotosComponent:
    name = "profile_photos"

    def __init__(self, photos: ProfilePhotos) -> None:
        self._photos = photos

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        await self._photos.stop()

    def health(self) -> bool:
        return True


def install_profile_photos(
    host: Host,
    commands: Commands,
    *,
    traffic: Traffic,
    sources: Callable[[Platform], PhotoSource | None],
    refresh: float = REFRESH,
) -> ProfilePhotos:
    """Serve ``/photos`` and put profile photos on authors after the relay's enricher (install
    it after the features that set ``traffic.enricher``). ``sources``: the running adapter of a
    platform when it can fetch profile photos. ``commands``: unused (the feature has none),
    taken for the one install convention."""
    del commands
    photos = ProfilePhotos(
        lambda: host.store, sources, host.settings.web.public_url, refresh=refresh
    )
    traffic.enricher = _PhotoEnricher(traffic.enricher, photos)
    host.add_component(_PhotosComponent(photos))
    host.add_routes(photo_routes(photos.image))
    return photos
