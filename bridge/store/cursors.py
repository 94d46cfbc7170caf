"""Per-chat positions in the store's ``kv`` table, e.g. the last message id an adapter has seen
in a channel so that it can catch up on what was said while the bridge was down.

Each cursor lives in its own namespace (``<namespace>.<chat id>``), chosen by its owner (a
platform package names it after itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bridge.store import Store, kv

__all__ = ["KvCursor"]


class KvCursor:
    """``get``/``set`` of an integer position per chat."""

    def __init__(self, store: Callable[[], Store], namespace: str) -> None:
        self._store = store
        self._namespace = namespace

    def _key(self, chat_id: int | str) -> str:
        return f"{self._namespace}.{chat_id}"

    async def get(self, chat_id: int) -> int | None:
        return await kv.get_int(self._store().db, self._key(chat_id))

    async def set(self, chat_id: int, position: int) -> None:
        # Written once per message seen (echoes of our own sends too), one statement: a lone
        # self-committing write is one round trip, where even a shared group commit costs its
        # BEGIN and COMMIT on top of every statement (WAL with synchronous=NORMAL: no fsync
        # per commit to share).
        await kv.write(self._store(), self._key(chat_id), position)

    async def set_many(self, positions: Mapping[int, int]) -> None:
        """Several chats' positions in one transaction (a lagging cursor's catch-up write)."""
        if not positions:
            return
        async with self._store().transaction() as db:
            await kv.set_many(db, {self._key(c): p for c, p in positions.items()})
