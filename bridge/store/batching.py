"""Batching of small concurrent writes: what is asked for while one write is in flight goes out
together with the others queued behind it, and each caller still learns its own outcome.

A lone writer is not delayed (a batch of one starts at once). If a shared batch fails, its
items are run again one at a time, so that one bad item cannot fail the others. The group
commit (units sharing a transaction), the platform kv (sets sharing a statement) and the Waku
archive (rows sharing an insert) are this mechanism with their own ``run``.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["Batcher", "settle"]

I = TypeVar("I")  # noqa: E741 - the item type, as R is the result type
R = TypeVar("R")


class Batcher(Generic[I, R]):
    def __init__(
        self,
        run: Callable[[Sequence[I]], Awaitable[Sequence[R]]],
        joins: Callable[[Sequence[I], I], bool],
        *,
        name: str,
    ) -> None:
        """``run`` writes a batch and returns one result per item, in order; ``joins`` says
        whether the next queued item may go out with the batch taken so far."""
        self._run = run
        self._joins = joins
        self._name = name
        self._queue: collections.deque[tuple[I, asyncio.Future[R]]] = collections.deque()
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: I) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._drainer is None or self._drainer.done():
            # A task of its own, so that a cancelled caller never strands the others.
            self._drainer = asyncio.create_task(self._drain(), name=self._name)
        return await future

    async def wait_closed(self) -> None:
        """Wait until every queued item is written (or failed)."""
        if self._drainer is not None:
            await asyncio.shield(self._drainer)

    async def _drain(self) -> None:
        while self._queue:
            batch = [self._queue.popleft()]
            items = [batch[0][0]]
            while self._queue and self._joins(items, self._queue[0][0]):
                batch.append(self._queue.popleft())
                items.append(batch[-1][0])
            try:
                results = await self._run(items)
            except Exception as exc:
                if len(batch) == 1:
                    settle(batch[0][1], exc=exc)
                else:
                    for one in batch:
                        await self._alone(*one)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                settle(future, result=result)

    async def _alone(self, item: I, future: asyncio.Future[R]) -> None:
        try:
            (result,) = await self._run([item])
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
