"""Group commit: many small write units from concurrent coroutines share one transaction.

Under load the relay makes thousands of tiny writes a second (record a message, mark a row
sending, mark it delivered). Each transaction costs two extra round trips to the database
thread and a WAL commit; running every unit queued while the previous commit was in flight
in one transaction removes most of that cost without delaying a lone writer (a batch of one
starts at once). Each caller still learns its own outcome: if a batch fails, its units are
re-run one per transaction so that one bad unit cannot fail the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import aiosqlite

from bridge.store import Store
from bridge.store.batching import Batcher

__all__ = ["GroupCommit"]

T = TypeVar("T")
_Unit = Callable[[aiosqlite.Connection], Awaitable[Any]]


class GroupCommit:
    def __init__(self, store: Store, max_batch: int = 256) -> None:
        self._store = store
        self._batcher: Batcher[_Unit, Any] = Batcher(
            self._commit, lambda batch, _: len(batch) < max_batch, name="group-commit"
        )

    async def run(self, unit: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``unit`` inside a transaction; returns its result once that is committed.

        Units must only write through the connection they are given (no other awaits on
        slow things): they share the transaction with others.
        """
        return cast(T, await self._batcher.submit(unit))

    async def wait_closed(self) -> None:
        """Wait until every queued unit is committed (or failed)."""
        await self._batcher.wait_closed()

    async def _commit(self, units: Sequence[_Unit]) -> list[Any]:
        async with self._store.transaction() as db:
            return [await unit(db) for unit in units]
