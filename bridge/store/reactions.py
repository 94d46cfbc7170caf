"""Per-person reactions on relayed messages (migration 0020) and the per-chat aggregate.

A chat shows its own people's reactions natively; what the bridge shows there stands for
everyone who reacted in the *other* chats of the message. ``counts`` gives that aggregate,
most used first (ties: the most recently used first), so an adapter that can show one emoji
shows the first it can, and one that shows each emoji keeps it while any count stands.
"""

from __future__ import annotations

import aiosqlite

from bridge.model import Author, ChatRef, MessageId

__all__ = ["MAX_EMOJI", "apply", "counts"]

MAX_EMOJI = 20
"""Distinct emoji carried per aggregate (Discord allows 20 per message)."""


def _user(author: Author) -> str:
    return f"{author.platform}:{author.user_id}"


async def apply(
    db: aiosqlite.Connection,
    message_id: MessageId,
    chat: ChatRef,
    author: Author,
    emoji: str,
    added: bool,
    now: float,
) -> bool:
    """Record that ``author`` added or took back ``emoji``; False when nothing changed."""
    if added:
        cur = await db.execute(
            "INSERT OR IGNORE INTO relay_reactions(message_id, platform, chat, user_id, emoji, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (message_id, chat.platform, chat.chat_id, _user(author), emoji, now),
        )
    else:
        cur = await db.execute(
            "DELETE FROM relay_reactions WHERE message_id = ? AND platform = ? AND chat = ?"
            " AND user_id = ? AND emoji = ?",
            (message_id, chat.platform, chat.chat_id, _user(author), emoji),
        )
    await cur.close()
    return cur.rowcount > 0


async def counts(
    db: aiosqlite.Connection, message_id: MessageId, excluding: ChatRef
) -> tuple[tuple[str, int], ...]:
    """(emoji, people) of the reactions made outside ``excluding``, most used first."""
    rows = await db.execute_fetchall(
        "SELECT emoji, COUNT(*) AS n, MAX(at) AS last FROM relay_reactions"
        " WHERE message_id = ? AND NOT (platform = ? AND chat = ?)"
        " GROUP BY emoji ORDER BY n DESC, last DESC LIMIT ?",
        (message_id, excluding.platform, excluding.chat_id, MAX_EMOJI),
    )
    return tuple((str(r[0]), int(r[1])) for r in rows)
