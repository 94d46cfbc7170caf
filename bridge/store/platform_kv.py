"""One platform's own durable records: a key-value store under the platform's name.

A platform package gets a ``PlatformKv`` in its ``PlatformContext`` and keeps there what it
alone needs across restarts (a Matrix user's direct room, a Waku room's Lamport clock, a
Discord channel's catch-up position). Its keys live in the shared ``kv`` table (migration
0001) as ``<platform>.<key>``: the namespace every platform used when it wrote that table
itself (``matrix.dm.<user>``, ``waku.clock.<chat>``, ``discord.cursor.<channel>``), so a store
written before the namespace existed reads the same. A platform cannot reach another's keys
nor the core's (``metrics.``, ``feed.``, ``points.``): a platform name is ``[a-z][a-z0-9_]*``,
never containing the dot that ends the prefix.

Every write is one self-committing statement (``Store.write``): one round trip, never inside
another coroutine's transaction. Writes are carried out in the order they were asked for, and
the ``set`` calls made while an earlier write is in flight go out together as one statement
(the Waku adapter persists a room's clock before every message: under load, many rooms'
clocks share a round trip). Keys and values are bounded, so hostile input (an event id, a user
id) cannot grow a row without limit; an oversized one raises ``KvLimitError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bridge.model import Platform
from bridge.store import Store, kv
from bridge.store.batching import Batcher
from bridge.store.cursors import KvCursor

__all__ = ["MAX_ITEMS", "MAX_KEY", "MAX_MANY", "MAX_VALUE", "KvLimitError", "PlatformKv"]

MAX_KEY: Final = 1024
"""Bytes (UTF-8) of a key under the namespace: a Matrix user id is at most 255."""
MAX_VALUE: Final = 64 * 1024
"""Bytes (UTF-8) of a value: room ids, clocks and small JSON, never documents."""
MAX_MANY: Final = 500
"""Pairs in one ``set_many`` (one statement, one JSON parameter)."""
MAX_ITEMS: Final = 10_000
"""Rows ``items`` returns at most (it is for small sets such as per-chat positions)."""

_PLATFORM: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")


class KvLimitError(ValueError):
    """A key or value over its bound, or an empty key."""


def _check(namespace: str, key: str, value: str | None = None) -> None:
    size = len(key.encode("utf-8", "surrogatepass"))
    if not 0 < size <= MAX_KEY:
        raise KvLimitError(f"{namespace} kv key of {size} bytes: keys must be 1 to {MAX_KEY} bytes")
    if value is not None:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_VALUE:
            raise KvLimitError(
                f"{namespace} kv value of {size} bytes for {key[:64]!r}: at most {MAX_VALUE}"
            )


# One statement whatever the count ("WHERE true": SQLite's upsert after a SELECT needs it).
_SET_MANY: Final = (
    "INSERT INTO kv(key, value, updated_at)"
    " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), unixepoch()"
    " FROM json_each(?) WHERE true"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


@dataclass(eq=False)
class _Write:
    """A write waiting for its turn: ``pairs`` to set, or else a statement of its own."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    sql: str = ""
    parameters: tuple[Any, ...] = ()


def _joins(group: Sequence[_Write], write: _Write) -> bool:
    """Sets queued behind a set go out with it, up to the next other write (order is kept)."""
    return bool(group[0].pairs and write.pairs) and len(group) < MAX_MANY


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class PlatformKv:
    """``get``/``set``/``delete`` of text values under ``<platform>.``; keys are given without
    the prefix."""

    def __init__(self, store: Store, platform: Platform) -> None:
        if _PLATFORM.fullmatch(platform) is None:
            raise ValueError(f"not a platform name: {platform!r}")
        self._store = store
        self._platform = platform
        self._prefix = platform + "."
        self._writes: Batcher[_Write, list[Any]] = Batcher(self._run, _joins, name=f"{platform}-kv")

    @property
    def namespace(self) -> str:
        return self._platform

    def _key(self, key: str, value: str | None = None) -> str:
        _check(self._platform, key, value)
        return self._prefix + key

    async def get(self, key: str) -> str | None:
        return await kv.get(self._store.db, self._key(key))

    async def get_int(self, key: str) -> int | None:
        """An integer value, or None when absent or not an integer (a hand-edited row)."""
        return await kv.get_int(self._store.db, self._key(key))

    async def set(self, key: str, value: str | int) -> None:
        text = str(value)
        await self._writes.submit(_Write(pairs=[(self._key(key, text), text)]))

    async def set_many(self, values: Mapping[str, str | int]) -> None:
        """Write every pair at once: one statement, so all or none are stored."""
        if not values:
            return
        if len(values) > MAX_MANY:
            raise KvLimitError(
                f"{len(values)} {self._platform} kv pairs at once: at most {MAX_MANY}"
            )
        pairs = []
        for key, value in values.items():
            text = str(value)
            pairs.append((self._key(key, text), text))
        await self._statement(_SET_MANY, (json.dumps(pairs),))

    async def delete(self, key: str) -> None:
        await self._statement("DELETE FROM kv WHERE key = ?", (self._key(key),))

    async def items(self, prefix: str = "", limit: int = MAX_ITEMS) -> list[tuple[str, str]]:
        """The (key, value) pairs whose key starts with ``prefix``, by key, at most ``limit``."""
        rows = await self._store.db.execute_fetchall(
            "SELECT key, value FROM kv WHERE key LIKE ? ESCAPE '\\' ORDER BY key LIMIT ?",
            (_like(self._prefix + prefix), max(0, min(limit, MAX_ITEMS))),
        )
        cut = len(self._prefix)
        return [(str(key)[cut:], str(value)) for key, value in rows]

    async def prune(self, prefix: str, older_than: float) -> int:
        """Delete the keys under ``prefix`` not written for ``older_than`` seconds; returns how
        many (for records that would otherwise grow forever, e.g. one per reaction)."""
        rows = await self._statement(
            "DELETE FROM kv WHERE key LIKE ? ESCAPE '\\' AND updated_at < unixepoch() - ?"
            " RETURNING 1",
            (_like(self._prefix + prefix), older_than),
        )
        return len(rows)

    async def _statement(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        return await self._writes.submit(_Write(sql=sql, parameters=parameters))

    async def _run(self, group: Sequence[_Write]) -> list[list[Any]]:
        """One statement for ``group``: a write of its own, or sets (one pair each) together."""
        first = group[0]
        if not first.pairs:
            sql, parameters = first.sql, first.parameters
        else:
            pairs = [pair for write in group for pair in write.pairs]
            sql, parameters = (
                (kv.SET, pairs[0]) if len(pairs) == 1 else (_SET_MANY, (json.dumps(pairs),))
            )
        rows = await self._store.write(sql, parameters)
        return [rows] * len(group)

    def cursor(self, name: str) -> KvCursor:
        """Integer positions per chat under ``<platform>.<name>.<chat id>``."""
        _check(self._platform, name)
        return KvCursor(lambda: self._store, self._prefix + name)
