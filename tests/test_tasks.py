from __future__ import annotations

import asyncio

import pytest

from bridge.tasks import cancel_and_wait


async def test_cancels_and_waits_for_the_task() -> None:
    finished: list[str] = []

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("cleaned up")

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()
    assert finished == ["cleaned up"]
    await cancel_and_wait(None)
    await cancel_and_wait(task)  # already finished: nothing to do


async def test_a_cancellation_of_the_caller_is_not_swallowed() -> None:
    release = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await release.wait()

    task = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0)
    stopper.cancel()  # the stop itself is cancelled while it waits
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert task.done()


async def test_cleanup_in_an_already_cancelled_task_completes() -> None:
    stopped: list[bool] = []

    async def poller() -> None:
        await asyncio.sleep(3600)

    async def owner() -> None:
        inner = asyncio.create_task(poller())
        try:
            await asyncio.sleep(3600)
        finally:
            await cancel_and_wait(inner)  # must not raise: the cancel was for the owner
            stopped.append(inner.cancelled())

    task = asyncio.create_task(owner())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped == [True]
