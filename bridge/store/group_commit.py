"""Group commit: many small write units from concurrent coroutines share one transaction.

Under load the relay makes thousands of tiny writes a second (record a message, mark a row
sending, mark it delivered). Each transaction costs two extra round trips to the database
thread and a WAL commit; running every unit queued while the previous commit was in flight
in one transaction removes most of that cost without delaying a lone writer (a batch of one
starts at once). Each caller still learns its own outcome: if a batch fails, its units are
re-run one per transaction so that one bad unit cannot fail the others.

Inside the transaction, units with different keys run concurrently: their statements queue on
the database thread together instead of one unit waiting for the event loop between each of
another's statements (a hundred units of two statements each were two hundred hops to the
database thread and back, one after the other; now they are two waves). Units with the same
key run one after the other in the order they were asked for, as before: a key names what
units may share (the router uses the room: rooms share no rows).

Items of one kind of bulk work (``run_many``) go further: the work runs once per transaction
with all of the batch's items, so that a hundred new messages are one INSERT, not a hundred.
Bulk work runs before the batch's other units.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import aiosqlite

from bridge.store import Store
from bridge.store.batching import Batcher

__all__ = ["GroupCommit"]

T = TypeVar("T")
X = TypeVar("X")
_Work = Callable[[aiosqlite.Connection], Awaitable[Any]]
BulkWork = Callable[[aiosqlite.Connection, Sequence[X]], Awaitable[Sequence[T]]]
"""Does all of its items at once; returns one result per item, in order."""


@dataclass(frozen=True, slots=True)
class _Many(Generic[X]):
    work: BulkWork[X, Any]
    item: X


_Unit = tuple[Hashable, _Work] | _Many[Any]


class GroupCommit:
    def __init__(self, store: Store, max_batch: int = 256) -> None:
        self._store = store
        self._batcher: Batcher[_Unit, Any] = Batcher(
            self._commit, lambda batch, _: len(batch) < max_batch, name="group-commit"
        )

    async def run(
        self, unit: Callable[[aiosqlite.Connection], Awaitable[T]], *, key: Hashable = None
    ) -> T:
        """Run ``unit`` inside a transaction; returns its result once that is committed.

        Units must only write through the connection they are given (no other awaits on
        slow things): they share the transaction with others. A unit may interleave, statement
        by statement, with units of other keys; never with one of its own key.
        """
        return cast(T, await self._batcher.submit((key, unit)))

    async def run_many(self, work: BulkWork[X, T], item: X) -> T:
        """Have ``work`` do ``item`` inside a transaction, with every other item of the same
        ``work`` in it (in the order they were asked for); returns ``item``'s result once that
        is committed. Like a unit, ``work`` only writes through the connection it is given."""
        return cast(T, await self._batcher.submit(_Many(work, item)))

    async def wait_closed(self) -> None:
        """Wait until every queued unit is committed (or failed)."""
        await self._batcher.wait_closed()

    async def _commit(self, units: Sequence[_Unit]) -> list[Any]:
        async with self._store.transaction() as db:
            results: list[Any] = [None] * len(units)
            bulk: dict[BulkWork[Any, Any], list[int]] = {}
            by_key: dict[Hashable, list[int]] = {}
            for index, unit in enumerate(units):
                if isinstance(unit, _Many):
                    bulk.setdefault(unit.work, []).append(index)
                else:
                    by_key.setdefault(unit[0], []).append(index)
            for work, indexes in bulk.items():
                done = await work(db, [cast(_Many[Any], units[i]).item for i in indexes])
                if len(done) != len(indexes):
                    raise RuntimeError(f"{work!r} answered {len(done)} of {len(indexes)} items")
                for index, result in zip(indexes, done, strict=True):
                    results[index] = result

            async def in_order(indexes: list[int]) -> None:
                for index in indexes:
                    results[index] = await cast(tuple[Hashable, _Work], units[index])[1](db)

            if len(by_key) <= 1:
                for indexes in by_key.values():
                    await in_order(indexes)
                return results
            # Every unit finishes (or fails) before the transaction ends either way: none may
            # still be writing once it is committed or rolled back.
            outcomes = await asyncio.gather(
                *(in_order(indexes) for indexes in by_key.values()), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            return results
