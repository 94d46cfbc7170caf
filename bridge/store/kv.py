"""Small settings that must survive restarts, in the ``kv`` table (migration 0001).

Values are text; callers own their encoding. The core's components prefix their key names with
the component (``metrics.``, ``feed.``, ``points.``); a platform package does not use this module
but the ``PlatformKv`` of its context (``bridge/store/platform_kv.py``), which prefixes the
platform's name for it and keeps it out of other keys. Like the other store modules, the
functions take a connection: ``store.db`` for reads, the one yielded by ``store.transaction()``
for writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiosqlite

if TYPE_CHECKING:
    from bridge.store import Store

__all__ = ["SET", "delete", "get", "get_int", "prune", "set", "set_many", "write"]

SET = (
    "INSERT INTO kv(key, value, updated_at) VALUES (?, ?, unixepoch())"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


async def get(db: aiosqlite.Connection, key: str) -> str | None:
    # execute_fetchall: one round trip to the database thread (a cursor takes three).
    row = next(iter(await db.execute_fetchall("SELECT value FROM kv WHERE key = ?", (key,))), None)
    return None if row is None else str(row[0])


async def get_int(db: aiosqlite.Connection, key: str) -> int | None:
    """An integer value, or None when absent or not an integer (a hand-edited row)."""
    raw = await get(db, key)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


async def set(db: aiosqlite.Connection, key: str, value: str | int) -> None:
    await db.execute(SET, (key, str(value)))


async def set_many(db: aiosqlite.Connection, values: Mapping[str, str | int]) -> None:
    await db.executemany(SET, [(key, str(value)) for key, value in values.items()])


async def write(store: Store, key: str, value: str | int) -> None:
    """``set`` as a transaction of its own: one round trip (``Store.write``) where opening one
    costs four."""
    await store.write(SET, (key, str(value)))


async def delete(db: aiosqlite.Connection, key: str) -> None:
    await db.execute("DELETE FROM kv WHERE key = ?", (key,))


async def prune(db: aiosqlite.Connection, prefix: str, older_than: float) -> int:
    """Delete the keys under ``prefix`` not written for ``older_than`` seconds; returns how
    many (for records that would otherwise grow forever, e.g. one per reaction)."""
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    cursor = await db.execute(
        "DELETE FROM kv WHERE key LIKE ? ESCAPE '\\' AND updated_at < unixepoch() - ?",
        (pattern, older_than),
    )
    return int(cursor.rowcount)
