"""Group commit: many small write units from concurrent coroutines share one transaction.

Under load the relay makes thousands of tiny writes a second (record a message, mark a row
sending, mark it delivered). Each transaction costs two extra round trips to the database
thread and a WAL commit; running every unit queued while the previous commit was in flight
in one transaction removes most of that cost without delaying a lone writer (a batch of one
starts at once). Each caller still learns its own outcome: if a batch fails, its units are
re-run one per transaction so that one bad unit cannot fail the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiosqlite

from bridge.store import Store

__all__ = ["GroupCommit", "settle"]

T = TypeVar("T")
_Unit = Callable[[aiosqlite.Connection], Awaitable[Any]]


class GroupCommit:
    def __init__(self, store: Store, max_batch: int = 256) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[tuple[_Unit, asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, unit: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``unit`` inside a transaction; returns its result once that is committed.

        Units must only write through the connection they are given (no other awaits on
        slow things): they share the transaction with others.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((unit, future))
        if self._drainer is None or self._drainer.done():
            # A task of its own, so that a cancelled caller never strands the others.
            self._drainer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def wait_closed(self) -> None:
        """Wait until every queued unit is committed (or failed)."""
        if self._drainer is not None:
            await asyncio.shield(self._drainer)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                results = []
                async with self._store.transaction() as db:
                    for unit, _ in batch:
                        results.append(await unit(db))
            except Exception as exc:
                if len(batch) == 1:
                    settle(batch[0][1], exc=exc)
                else:
                    for unit, future in batch:
                        await self._alone(unit, future)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                settle(future, result=result)

    async def _alone(self, unit: _Unit, future: asyncio.Future[Any]) -> None:
        try:
            async with self._store.transaction() as db:
                result = await unit(db)
        except Exception as exc:
            settle(future, exc=exc)
        else:
            settle(future, result=result)


def settle(
    future: asyncio.Future[Any], *, result: Any = None, exc: BaseException | None = None
) -> None:
    if future.done():  # the caller was cancelled; the write stands regardless
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
