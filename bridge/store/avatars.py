"""Verified NFT avatars (migration 0005): one record per chat account and the PNGs by hash.

The record says what was proved (CAIP-19 asset id, the wallet holding it, the block), when it
was last verified, and which stored image to show. Images are content-addressed; an image no
avatar uses any more is deleted with the last record that named it.

Like the other store modules, the functions take a connection: ``store.db`` for reads, the one
yielded by ``store.transaction()`` for writes; none commits. ``image_of`` (asked for every
relayed message) answers from the connection's lookup cache, which ``put`` and ``remove``
invalidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import aiosqlite

from bridge.store.lookup_cache import LookupCache, cache_of

__all__ = [
    "AvatarRecord",
    "due",
    "get",
    "image",
    "image_of",
    "put",
    "remove",
    "touch",
]

_COLUMNS = "platform, user_id, caip19, wallet, block, collection, name, image_sha256, verified_at"


@dataclass(frozen=True)
class AvatarRecord:
    platform: str
    user_id: str
    caip19: str
    wallet: str  # EIP-55
    block: int
    collection: str | None
    name: str | None
    image_sha256: str
    verified_at: int  # Unix seconds


def _record(row: aiosqlite.Row) -> AvatarRecord:
    return AvatarRecord(
        platform=str(row[0]),
        user_id=str(row[1]),
        caip19=str(row[2]),
        wallet=str(row[3]),
        block=int(row[4]),
        collection=None if row[5] is None else str(row[5]),
        name=None if row[6] is None else str(row[6]),
        image_sha256=str(row[7]),
        verified_at=int(row[8]),
    )


async def put(
    db: aiosqlite.Connection, record: AvatarRecord, png: bytes, source_format: str
) -> None:
    """Store the image (once per hash) and make ``record`` the account's avatar."""
    _cache(db).invalidate((record.platform, record.user_id))
    previous = await get(db, record.platform, record.user_id)
    await db.execute(
        "INSERT OR IGNORE INTO avatar_images (sha256, png, source_format, created_at)"
        " VALUES (?, ?, ?, ?)",
        (record.image_sha256, png, source_format, record.verified_at),
    )
    await db.execute(
        f"INSERT INTO avatars ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
        " ON CONFLICT(platform, user_id) DO UPDATE SET caip19 = excluded.caip19,"
        " wallet = excluded.wallet, block = excluded.block, collection = excluded.collection,"
        " name = excluded.name, image_sha256 = excluded.image_sha256,"
        " verified_at = excluded.verified_at",
        (
            record.platform,
            record.user_id,
            record.caip19,
            record.wallet,
            record.block,
            record.collection,
            record.name,
            record.image_sha256,
            record.verified_at,
        ),
    )
    if previous is not None and previous.image_sha256 != record.image_sha256:
        await _collect(db, previous.image_sha256)


async def get(db: aiosqlite.Connection, platform: str, user_id: str) -> AvatarRecord | None:
    # execute_fetchall: one round trip to the database thread (a cursor takes three).
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM avatars WHERE platform = ? AND user_id = ?",  # noqa: S608
        (platform, user_id),
    )
    row = next(iter(rows), None)
    return None if row is None else _record(row)


async def image_of(db: aiosqlite.Connection, platform: str, user_id: str) -> str | None:
    """The image hash of the account's avatar, or None when it has none."""

    async def read() -> str | None:
        record = await get(db, platform, user_id)
        return None if record is None else record.image_sha256

    return await _cache(db).lookup((platform, user_id), read)


async def remove(db: aiosqlite.Connection, platform: str, user_id: str) -> AvatarRecord | None:
    """Drop the account's avatar (and its image if nobody else shows it); returns what it was."""
    _cache(db).invalidate((platform, user_id))
    previous = await get(db, platform, user_id)
    if previous is None:
        return None
    await db.execute("DELETE FROM avatars WHERE platform = ? AND user_id = ?", (platform, user_id))
    await _collect(db, previous.image_sha256)
    return previous


async def touch(
    db: aiosqlite.Connection, platform: str, user_id: str, wallet: str, block: int, now: int
) -> None:
    """Record a successful re-check: the wallet that holds the token now, at which block."""
    await db.execute(
        "UPDATE avatars SET wallet = ?, block = ?, verified_at = ?"
        " WHERE platform = ? AND user_id = ?",
        (wallet, block, now, platform, user_id),
    )


async def due(db: aiosqlite.Connection, verified_before: int, limit: int) -> list[AvatarRecord]:
    """Avatars last verified before ``verified_before``, oldest first."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM avatars WHERE verified_at < ?"  # noqa: S608
        " ORDER BY verified_at LIMIT ?",
        (verified_before, limit),
    ) as cur:
        rows = await cur.fetchall()
    return [_record(r) for r in rows]


async def image(db: aiosqlite.Connection, sha256: str) -> bytes | None:
    async with db.execute("SELECT png FROM avatar_images WHERE sha256 = ?", (sha256,)) as cur:
        row = await cur.fetchone()
    return None if row is None else bytes(row[0])


async def _collect(db: aiosqlite.Connection, sha256: str) -> None:
    await db.execute(
        "DELETE FROM avatar_images WHERE sha256 = ?"
        " AND NOT EXISTS (SELECT 1 FROM avatars WHERE image_sha256 = ?)",
        (sha256, sha256),
    )


def _cache(db: aiosqlite.Connection) -> LookupCache[tuple[str, str], str | None]:
    return cast("LookupCache[tuple[str, str], str | None]", cache_of(db, "avatars"))
