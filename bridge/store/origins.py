"""Messages people wrote in one chat, as the bridge stored them: what a platform's catch-up
compares with the chat's history to find edits and deletes made while the bridge was away."""

from __future__ import annotations

from collections.abc import Callable

from bridge.model import ChatRef, RichText
from bridge.store import Store
from bridge.store.messages import decode_spans

__all__ = ["StoredOrigins"]


class StoredOrigins:
    """The live (not deleted) originals of a chat whose numeric native ids lie in a range."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store

    async def between(self, chat: ChatRef, low: int, high: int, limit: int) -> dict[int, RichText]:
        """Native id -> stored text of the newest ``limit`` originals with ``low <= id <=
        high`` (ids are compared as numbers: Discord snowflakes grow with time)."""
        rows = await self._store().db.execute_fetchall(
            "SELECT n.native_id, m.text, m.spans FROM relay_native_ids n"
            " JOIN relay_messages m ON m.id = n.message_id"
            " WHERE n.platform = ? AND n.chat = ? AND n.origin = 1 AND m.deleted = 0"
            " AND CAST(n.native_id AS INTEGER) BETWEEN ? AND ?"
            " ORDER BY CAST(n.native_id AS INTEGER) DESC LIMIT ?",
            (chat.platform, chat.chat_id, low, high, limit),
        )
        found: dict[int, RichText] = {}
        for native, text, spans in rows:
            if str(native).isdigit():
                found[int(native)] = RichText(str(text), decode_spans(str(spans)))
        return found
