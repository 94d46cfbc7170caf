"""Per-connection caches of small per-account lookups the relay makes for every message.

Every relayed message asks the store who its author is (verified NFT avatar, profile photo):
one round trip to the database thread each, for rows that change a few times a day. A
:class:`LookupCache` keeps those answers in memory, bounded (least recently used go first),
tied to the connection that the writes go through, so that the store module that writes a
table also invalidates its cache, whoever calls it.

A read fills the cache only when nothing could have made its answer stale meanwhile: no
invalidation of the cache since the read began (``begin()`` / ``fill()``), no transaction that
invalidated this cache still open when the answer arrives (the read may have seen its
uncommitted rows, or the rows it had yet to write) nor committed since the read began
(``committed``, called by ``Store`` after a COMMIT), and no rollback since (``rolled_back``,
called by ``Store`` before it rolls back). A transaction that writes other tables does not
matter: under load one is open much of the time, and refusing then made most reads miss. A
refused fill costs nothing but the next message's read.
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import aiosqlite

__all__ = ["MISS", "LookupCache", "Miss", "cache_of", "committed", "rolled_back"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_ENTRIES = 10_000


class Miss(enum.Enum):
    MISS = enum.auto()


MISS = Miss.MISS


class LookupCache(Generic[K, V]):
    def __init__(self, db: aiosqlite.Connection, max_entries: int = MAX_ENTRIES) -> None:
        self._db = db
        self._max = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._generation = 0
        self._writing = False  # invalidated inside the transaction open on the connection
        self._reads: dict[K, tuple[int, asyncio.Future[V]]] = {}

    def get(self, key: K) -> V | Miss:
        value = self._entries.get(key, MISS)
        if value is not MISS:
            self._entries.move_to_end(key)
        return value

    async def lookup(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The remembered answer for ``key``, else ``read()``'s, remembered if it may be.

        Lookups of one key that miss together share one read (a burst of one author's
        messages on a cold cache ran one each), unless the cache was invalidated since that
        read began: then it may be stale, and a lookup starting now reads again.
        """
        value = self.get(key)
        if value is not MISS:
            return value
        under_way = self._reads.get(key)
        if under_way is None or under_way[0] != self._generation:
            began = self._generation
            task = asyncio.ensure_future(self._read(key, read, began))
            under_way = self._reads[key] = (began, task)
            task.add_done_callback(lambda _: self._read_ended(key, task))
        # Shielded: a cancelled lookup must not cancel the read others are waiting for.
        return await asyncio.shield(under_way[1])

    async def _read(self, key: K, read: Callable[[], Awaitable[V]], began: int) -> V:
        value = await read()
        self.fill(key, value, began)
        return value

    def _read_ended(self, key: K, task: asyncio.Future[V]) -> None:
        under_way = self._reads.get(key)
        if under_way is not None and under_way[1] is task:
            del self._reads[key]
        if not task.cancelled():
            task.exception()  # each waiter got it; not "never retrieved" when none is left

    def begin(self) -> int:
        """Call before the read whose answer will be ``fill``-ed."""
        return self._generation

    def fill(self, key: K, value: V, began: int) -> None:
        if began != self._generation or self._writing:
            return
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key`` (every key when None); reads under way do not fill."""
        self._generation += 1
        # The writes that follow are not committed yet: no read fills until they are.
        self._writing = self._writing or self._db.in_transaction
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def _ended(self) -> None:
        if self._writing:
            self._writing = False
            self._generation += 1  # reads under way may have seen the rows before the writes

    def __len__(self) -> int:
        return len(self._entries)


_caches: weakref.WeakKeyDictionary[aiosqlite.Connection, dict[str, LookupCache[object, object]]]
_caches = weakref.WeakKeyDictionary()


def cache_of(db: aiosqlite.Connection, name: str) -> LookupCache[object, object]:
    """The cache called ``name`` of connection ``db`` (made on first use)."""
    named = _caches.get(db)
    if named is None:
        named = _caches[db] = {}
    cache = named.get(name)
    if cache is None:
        cache = named[name] = LookupCache(db)
    return cache


def committed(db: aiosqlite.Connection) -> None:
    """After a COMMIT on ``db``: the caches it invalidated may be filled again."""
    for cache in _caches.get(db, {}).values():
        cache._ended()


def rolled_back(db: aiosqlite.Connection) -> None:
    """Before a rollback on ``db``: what reads saw inside the transaction may be undone."""
    for cache in _caches.get(db, {}).values():
        cache.invalidate()
        cache._ended()
