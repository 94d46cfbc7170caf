"""What ``/room status`` reads about one room's deliveries: the outbox rows still waiting and
the delivery errors of a recent window. Reads only (``store.db``); nothing commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bridge.model import ChatRef

__all__ = ["FailureCount", "RecentFailures", "recent_failures", "waiting"]


@dataclass(frozen=True)
class FailureCount:
    platform: str
    state: str
    """``delivered`` (after retrying), ``failed`` (given up), or still open."""
    count: int


@dataclass(frozen=True)
class RecentFailures:
    counts: tuple[FailureCount, ...]
    last_platform: str | None = None
    last_error: str | None = None


def _targets(chats: Sequence[ChatRef]) -> tuple[str, list[str]]:
    where = " OR ".join("(target_platform = ? AND target_chat = ?)" for _ in chats)
    return where or "0", [v for c in chats for v in (c.platform, c.chat_id)]


async def waiting(db: aiosqlite.Connection, chats: Sequence[ChatRef]) -> int:
    """Deliveries to ``chats`` not finished yet (pending, or an attempt under way)."""
    where, params = _targets(chats)
    async with db.execute(
        "SELECT COUNT(*) FROM relay_outbox WHERE state IN ('pending', 'sending')"  # noqa: S608
        f" AND ({where})",
        params,
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def recent_failures(
    db: aiosqlite.Connection, chats: Sequence[ChatRef], since: float
) -> RecentFailures:
    """Deliveries to ``chats`` created since ``since`` whose attempts failed (retried, or given
    up), also when a later attempt went through, per platform and state; and the latest
    error."""
    where, params = _targets(chats)
    rows = await db.execute_fetchall(
        "SELECT target_platform, state, COUNT(*), MAX(id) FROM relay_outbox"  # noqa: S608
        " WHERE last_error IS NOT NULL AND state != 'skipped' AND created_at >= ?"
        f" AND ({where})"
        " GROUP BY target_platform, state",
        [since, *params],
    )
    if not rows:
        return RecentFailures(())
    counts = tuple(FailureCount(str(p), str(s), int(n)) for p, s, n, _ in rows)
    last = max(rows, key=lambda r: int(r[3]))
    query = "SELECT last_error FROM relay_outbox WHERE id = ?"
    found = list(await db.execute_fetchall(query, (int(last[3]),)))
    return RecentFailures(counts, str(last[0]), str(found[0][0]) if found else None)
