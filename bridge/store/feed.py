"""Feed entries (migration 0007): the records this bridge signed, their publication and anchors.

Like the other store modules, functions take ``store.db`` for reads and the connection of
``store.transaction()`` for writes; none commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import aiosqlite

__all__ = [
    "AnchorState",
    "FeedRow",
    "by_cid",
    "insert",
    "list_posts",
    "mark_anchored",
    "mark_published",
    "mark_tombstoned",
    "pending_anchor",
    "post_of_message",
    "unpublished",
]

AnchorState = Literal["none", "pending", "anchored"]


@dataclass(frozen=True, slots=True)
class FeedRow:
    cid: str
    entry_id: str
    kind: str
    record: bytes
    signature: str
    source_message_id: int | None
    target_cid: str | None
    status_message_id: str | None
    created_at: float
    published: bool
    tombstoned: bool
    anchor_state: AnchorState
    anchor: dict[str, Any] | None


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _row(row: Any) -> FeedRow:
    state = str(row["anchor_state"])
    assert state in ("none", "pending", "anchored")
    return FeedRow(
        cid=str(row["cid"]),
        entry_id=str(row["entry_id"]),
        kind=str(row["kind"]),
        record=bytes(row["record"]),
        signature=str(row["signature"]),
        source_message_id=None
        if row["source_message_id"] is None
        else int(row["source_message_id"]),
        target_cid=None if row["target_cid"] is None else str(row["target_cid"]),
        status_message_id=None
        if row["status_message_id"] is None
        else str(row["status_message_id"]),
        created_at=float(row["created_at"]),
        published=bool(row["published"]),
        tombstoned=bool(row["tombstoned"]),
        anchor_state=state,  # type: ignore[arg-type]
        anchor=None if row["anchor"] is None else json.loads(row["anchor"]),
    )


async def insert(
    db: aiosqlite.Connection,
    *,
    cid: str,
    entry_id: str,
    kind: str,
    record: bytes,
    signature: str,
    created_at: float,
    anchor_state: AnchorState,
    source_message_id: int | None = None,
    target_cid: str | None = None,
) -> None:
    await db.execute(
        "INSERT INTO feed_entries(cid, entry_id, kind, record, signature, source_message_id,"
        " target_cid, created_at, anchor_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            cid,
            entry_id,
            kind,
            record,
            signature,
            source_message_id,
            target_cid,
            created_at,
            anchor_state,
        ),
    )


async def by_cid(db: aiosqlite.Connection, cid: str) -> FeedRow | None:
    async with db.execute("SELECT * FROM feed_entries WHERE cid = ?", (cid,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _row(row)


async def post_of_message(db: aiosqlite.Connection, message_id: int) -> FeedRow | None:
    async with db.execute(
        "SELECT * FROM feed_entries WHERE kind = 'post' AND source_message_id = ?",
        (message_id,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _row(row)


async def list_posts(
    db: aiosqlite.Connection, *, limit: int = 50, include_tombstoned: bool = False
) -> list[FeedRow]:
    """Posts, newest first."""
    async with db.execute(
        "SELECT * FROM feed_entries WHERE kind = 'post' AND (tombstoned = 0 OR ?)"
        " ORDER BY created_at DESC, rowid DESC LIMIT ?",
        (int(include_tombstoned), limit),
    ) as cur:
        rows = await cur.fetchall()
    return [_row(r) for r in rows]


async def unpublished(db: aiosqlite.Connection, limit: int = 100) -> list[FeedRow]:
    async with db.execute(
        "SELECT * FROM feed_entries WHERE published = 0 ORDER BY rowid LIMIT ?",
        (limit,),
    ) as cur:
        rows = await cur.fetchall()
    return [_row(r) for r in rows]


async def pending_anchor(db: aiosqlite.Connection, limit: int) -> list[FeedRow]:
    async with db.execute(
        "SELECT * FROM feed_entries WHERE anchor_state = 'pending' ORDER BY rowid LIMIT ?",
        (limit,),
    ) as cur:
        rows = await cur.fetchall()
    return [_row(r) for r in rows]


async def mark_published(db: aiosqlite.Connection, cid: str, status_message_id: str | None) -> None:
    await db.execute(
        "UPDATE feed_entries SET published = 1,"
        " status_message_id = COALESCE(?, status_message_id) WHERE cid = ?",
        (status_message_id, cid),
    )


async def mark_tombstoned(db: aiosqlite.Connection, cid: str) -> None:
    await db.execute("UPDATE feed_entries SET tombstoned = 1 WHERE cid = ?", (cid,))


async def mark_anchored(db: aiosqlite.Connection, cid: str, anchor: dict[str, Any]) -> None:
    await db.execute(
        "UPDATE feed_entries SET anchor_state = 'anchored', anchor = ? WHERE cid = ?",
        (json.dumps(anchor, sort_keys=True), cid),
    )
