"""Messages people wrote in one chat, as the bridge stored them: what a platform's catch-up
compares with the chat's history to find edits and deletes made while the bridge was away, and
who wrote a message an edit or a delete names. A read-only view of the router's tables."""

from __future__ import annotations

from collections.abc import Callable

from bridge.model import ChatRef, NativeId, Platform, RichText, UserId
from bridge.store import Store
from bridge.store.messages import decode_author, decode_spans

__all__ = ["StoredOrigins"]


class StoredOrigins:
    """The live (not deleted) originals of a chat whose numeric native ids lie in a range."""

    def __init__(self, store: Callable[[], Store], platform: Platform | None = None) -> None:
        """``platform``: the only platform whose chats it answers for (None: every one)."""
        self._store = store
        self._platform = platform

    def _check(self, chat: ChatRef) -> None:
        if self._platform is not None and chat.platform != self._platform:
            raise ValueError(f"{chat} is not a {self._platform} chat")

    async def between(self, chat: ChatRef, low: int, high: int, limit: int) -> dict[int, RichText]:
        """Native id -> stored text of the newest ``limit`` originals with ``low <= id <=
        high`` (ids are compared as numbers: Discord snowflakes grow with time)."""
        self._check(chat)
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

    async def author_of(self, chat: ChatRef, native_id: NativeId) -> UserId | None:
        """Who wrote ``native_id`` in ``chat``, when a person wrote it there (the bridge's own
        copies of other chats' messages and unknown ids: None)."""
        self._check(chat)
        rows = await self._store().db.execute_fetchall(
            "SELECT m.author FROM relay_native_ids n JOIN relay_messages m ON m.id = n.message_id"
            " WHERE n.platform = ? AND n.chat = ? AND n.native_id = ? AND n.origin = 1",
            (chat.platform, chat.chat_id, native_id),
        )
        for (author,) in rows:
            return decode_author(str(author)).user_id
        return None
