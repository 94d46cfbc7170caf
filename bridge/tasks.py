"""Stopping background tasks."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has finished; nothing to do for None.

    The task's own cancellation is absorbed, but not one aimed at the caller: the usual
    ``with suppress(CancelledError): await task`` swallows both, so a stop that was itself
    cancelled would carry on as if nothing happened.
    """
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
