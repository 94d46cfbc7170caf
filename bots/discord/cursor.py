"""Where Discord catch-up resumes, kept in the store's ``kv`` table (``discord.cursor.<id>``)."""

from __future__ import annotations

from bridge.store import Store, kv
from bridge.store.group_commit import GroupCommit

__all__ = ["KvHistoryCursor"]


class KvHistoryCursor:
    """The newest message id seen per channel (a ``HistoryCursor``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._writes: GroupCommit | None = None

    @staticmethod
    def _key(channel_id: int) -> str:
        return f"discord.cursor.{channel_id}"

    async def get(self, channel_id: int) -> int | None:
        return await kv.get_int(self._store.db, self._key(channel_id))

    async def set(self, channel_id: int, message_id: int) -> None:
        # One write per Discord message (our webhook echoes too): the channels' concurrent
        # writes share a commit.
        if self._writes is None:
            self._writes = GroupCommit(self._store)
        key = self._key(channel_id)
        await self._writes.run(lambda db: kv.set(db, key, message_id))
