"""Rooms made at runtime (``/room join``), in the ``room_members`` table (migration 0008).

Like the other store modules, the functions take a connection: ``store.db`` for reads, the one
yielded by ``store.transaction()`` for writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bridge.model import ChatId, ChatRef
from bridge.store.messages import platform_of

__all__ = ["DynamicMember", "add", "members", "remove"]


@dataclass(frozen=True, slots=True)
class DynamicMember:
    room: str
    chat: ChatRef
    added_by: str
    created_at: float


async def members(db: aiosqlite.Connection) -> list[DynamicMember]:
    """Every stored membership, oldest first."""
    async with db.execute(
        "SELECT room, platform, chat, added_by, created_at FROM room_members"
        " ORDER BY created_at, platform, chat"
    ) as cur:
        rows = await cur.fetchall()
    return [
        DynamicMember(str(r[0]), ChatRef(platform_of(r[1]), ChatId(r[2])), str(r[3]), float(r[4]))
        for r in rows
    ]


async def add(
    db: aiosqlite.Connection, room: str, chat: ChatRef, added_by: str, now: float
) -> None:
    """Put ``chat`` in ``room`` (moving it if it was in another stored room)."""
    await db.execute(
        "INSERT INTO room_members(platform, chat, room, added_by, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(platform, chat) DO UPDATE SET"
        " room = excluded.room, added_by = excluded.added_by, created_at = excluded.created_at",
        (chat.platform, chat.chat_id, room, added_by, now),
    )


async def remove(db: aiosqlite.Connection, chat: ChatRef) -> bool:
    """Forget ``chat``'s stored membership; False when it had none."""
    cur = await db.execute(
        "DELETE FROM room_members WHERE platform = ? AND chat = ?", (chat.platform, chat.chat_id)
    )
    await cur.close()
    return cur.rowcount > 0
