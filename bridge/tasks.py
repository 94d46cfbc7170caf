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
    current = asyncio.current_task()
    # Cleanup code often runs in a task that was cancelled already (a ``finally``): only a
    # cancellation requested while we wait here is the caller's to receive.
    requested = current.cancelling() if current is not None else 0
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if current is not None and current.cancelling() > requested:
            raise
