"""The parts of multi-message copies (migration 0021), for the adapters' edits and deletes.

An adapter that posts one relayed message as several platform messages records how it did
(``layout``: JSON of its own making) under the copy's native id, and reads it back when an edit
or delete comes, after a restart too. ``StoredParts`` is the handle an adapter gets. The ids of
the later parts can point back at the copy (``owner``, migration 0125), for what the platform's
users aim at a part.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import aiosqlite

from bridge.model import Platform
from bridge.store import Store

__all__ = ["PartsMemory", "StoredParts", "prune"]

MAX_LAYOUT = 64 * 1024
"""Bytes of JSON kept per copy (a 4096-character text is a handful of ids)."""


class PartsMemory(Protocol):
    """What an adapter needs: the layout of its copy ``native_id`` in ``chat``."""

    async def get(self, chat: str, native_id: str) -> Any | None: ...

    async def put(self, chat: str, native_id: str, layout: Any) -> None: ...

    async def forget(self, chat: str, native_id: str) -> None: ...


class StoredParts:
    """``PartsMemory`` in the bridge's store, for one platform's adapter."""

    def __init__(self, store: Callable[[], Store], platform: Platform) -> None:
        self._store = store
        self._platform = platform

    async def get(self, chat: str, native_id: str) -> Any | None:
        rows = await self._store().db.execute_fetchall(
            "SELECT layout FROM relay_parts WHERE platform = ? AND chat = ? AND native_id = ?",
            (self._platform, chat, native_id),
        )
        for row in rows:
            try:
                return json.loads(row[0])
            except ValueError:
                return None
        return None

    async def put(
        self, chat: str, native_id: str, layout: Any, parts: Sequence[str] | None = None
    ) -> None:
        """Record ``layout``; ``parts`` (the later parts' ids), when given, then lead to
        ``native_id`` instead of the parts given before."""
        raw = json.dumps(layout, separators=(",", ":"))
        if len(raw) > MAX_LAYOUT:
            return  # an edit then reaches the parts remembered in memory only
        now = time.time()
        async with self._store().transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO relay_parts(platform, chat, native_id, layout, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (self._platform, chat, native_id, raw, now),
            )
            if parts is None:
                return
            # An edit may have dropped parts: they no longer lead here.
            await db.execute(
                "DELETE FROM relay_part_ids WHERE platform = ? AND chat = ? AND native_id = ?",
                (self._platform, chat, native_id),
            )
            if parts:
                await db.executemany(
                    "INSERT OR REPLACE INTO relay_part_ids"
                    "(platform, chat, part_id, native_id, created_at) VALUES (?, ?, ?, ?, ?)",
                    [(self._platform, chat, part, native_id, now) for part in parts],
                )

    async def owner(self, chat: str, part_id: str) -> str | None:
        """The copy whose later part ``part_id`` is, if it is one."""
        rows = await self._store().db.execute_fetchall(
            "SELECT native_id FROM relay_part_ids WHERE platform = ? AND chat = ? AND part_id = ?",
            (self._platform, chat, part_id),
        )
        for row in rows:
            return str(row[0])
        return None

    async def forget(self, chat: str, native_id: str) -> None:
        async with self._store().transaction() as db:
            await db.execute(
                "DELETE FROM relay_parts WHERE platform = ? AND chat = ? AND native_id = ?",
                (self._platform, chat, native_id),
            )
            await db.execute(
                "DELETE FROM relay_part_ids WHERE platform = ? AND chat = ? AND native_id = ?",
                (self._platform, chat, native_id),
            )


async def prune(db: aiosqlite.Connection, before: float) -> None:
    cur = await db.execute("DELETE FROM relay_parts WHERE created_at < ?", (before,))
    await cur.close()
    cur = await db.execute("DELETE FROM relay_part_ids WHERE created_at < ?", (before,))
    await cur.close()
