"""The embedded Waku node's message archive: insert, store v3 page selection, retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from bridge.store import Store
from bridge.store.batching import Batcher
from bridge.waku.message import WakuMessage

__all__ = [
    "Inserts",
    "StoredMessage",
    "count",
    "insert",
    "prune",
    "select_page",
    "stored_size",
    "timestamp_of",
    "total_bytes",
]

# A row's bytes on disk, roughly: its blobs and texts plus a fixed allowance for the rest (the
# integers, the row header, its share of the indexes).
_ROW_BYTES = (
    "LENGTH(payload) + IFNULL(LENGTH(meta), 0) + IFNULL(LENGTH(rate_limit_proof), 0)"
    " + LENGTH(content_topic) + LENGTH(pubsub_topic) + 160"
)


def stored_size(pubsub_topic: str, message: WakuMessage) -> int:
    """What :func:`total_bytes` counts for one message (the same formula, in Python)."""
    return (
        len(message.payload)
        + len(message.meta or b"")
        + len(message.rate_limit_proof or b"")
        + len(message.content_topic.encode())
        + len(pubsub_topic.encode())
        + 160
    )


_COLUMNS = "hash, pubsub_topic, content_topic, payload, version, timestamp, meta, rate_limit_proof"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    hash: bytes
    pubsub_topic: str | None  # None when selected without data
    message: WakuMessage | None  # None when selected without data


async def insert(
    store: Store, msg_hash: bytes, pubsub_topic: str, message: WakuMessage, received_at: int
) -> bool:
    """Archive one message; False if its hash is already there (the copy on disk wins)."""
    row = _row(msg_hash, pubsub_topic, message, received_at)
    # RETURNING answers whether the row went in (an ignored one returns nothing).
    return bool(await store.write(_insert_sql(1), row))


def _row(
    msg_hash: bytes, pubsub_topic: str, message: WakuMessage, received_at: int
) -> tuple[Any, ...]:
    if message.timestamp is None:
        raise ValueError("archived messages must carry a timestamp")
    return (
        msg_hash,
        pubsub_topic,
        message.content_topic,
        message.payload,
        message.version,
        message.timestamp,
        message.meta,
        message.rate_limit_proof,
        received_at,
    )


def _insert_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return (
        f"INSERT OR IGNORE INTO waku_messages ({_COLUMNS}, received_at)"  # noqa: S608
        f" VALUES {values} RETURNING hash"
    )


_MAX_ROWS: Final = 100
"""Rows in one shared insert: 900 parameters, below SQLite's oldest limit (999)."""


class Inserts:
    """``insert`` for a node that archives many messages at once (the bridge publishing into
    a thousand rooms): the inserts asked for while one is in flight go out together as one
    self-committing statement, one round trip. Each caller still returns once its own row is
    committed, with its own answer; a failing shared insert is retried row by row, so that
    one bad row cannot fail the others."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._batcher: Batcher[tuple[Any, ...], bool] = Batcher(
            self._insert, _joins, name="waku-archive"
        )

    async def insert(
        self, msg_hash: bytes, pubsub_topic: str, message: WakuMessage, received_at: int
    ) -> bool:
        return await self._batcher.submit(_row(msg_hash, pubsub_topic, message, received_at))

    async def _insert(self, batch: Sequence[tuple[Any, ...]]) -> list[bool]:
        params = tuple(value for row in batch for value in row)
        inserted = {bytes(r[0]) for r in await self._store.write(_insert_sql(len(batch)), params)}
        return [row[0] in inserted for row in batch]


def _joins(batch: Sequence[tuple[Any, ...]], row: tuple[Any, ...]) -> bool:
    # The same hash twice waits for the next statement: each must learn whether it was the
    # one that went in.
    return len(batch) < _MAX_ROWS and all(row[0] != other[0] for other in batch)


async def total_bytes(store: Store) -> int:
    """The archive's size as retention counts it (see ``_ROW_BYTES``)."""
    async with store.db.execute(
        f"SELECT IFNULL(SUM({_ROW_BYTES}), 0) FROM waku_messages"  # noqa: S608
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def count(store: Store) -> int:
    async with store.db.execute("SELECT COUNT(*) FROM waku_messages") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def timestamp_of(store: Store, msg_hash: bytes) -> int | None:
    """The timestamp of an archived message (what a store v3 cursor resolves to)."""
    async with store.db.execute(
        "SELECT timestamp FROM waku_messages WHERE hash = ?", (msg_hash,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else None


async def select_page(
    store: Store,
    *,
    pubsub_topic: str | None,
    content_topics: Sequence[str],
    start_time: int | None,
    end_time: int | None,
    hashes: Sequence[bytes],
    after: tuple[int, bytes] | None,
    ascending: bool,
    limit: int,
    include_data: bool,
) -> list[StoredMessage]:
    """Up to ``limit`` rows in (timestamp, hash) order, strictly past ``after`` in that order.

    Times are inclusive. Rows come back in query order (newest first when descending).
    """
    where: list[str] = []
    params: list[object] = []
    if after is not None:
        where.append("(timestamp, hash) > (?, ?)" if ascending else "(timestamp, hash) < (?, ?)")
        params.extend(after)
    if pubsub_topic is not None:
        where.append("pubsub_topic = ?")
        params.append(pubsub_topic)
    if content_topics:
        where.append(f"content_topic IN ({', '.join('?' * len(content_topics))})")
        params.extend(content_topics)
    if start_time is not None:
        where.append("timestamp >= ?")
        params.append(start_time)
    if end_time is not None:
        where.append("timestamp <= ?")
        params.append(end_time)
    if hashes:
        where.append(f"hash IN ({', '.join('?' * len(hashes))})")
        params.extend(hashes)
    order = "ASC" if ascending else "DESC"
    # Every fragment above is a fixed string; values only ever travel as bound parameters.
    sql = (
        f"SELECT {_COLUMNS if include_data else 'hash'} FROM waku_messages"  # noqa: S608
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY timestamp {order}, hash {order} LIMIT ?"
    )
    params.append(limit)
    async with store.db.execute(sql, params) as cur:
        rows = await cur.fetchall()
    if not include_data:
        return [StoredMessage(bytes(r[0]), None, None) for r in rows]
    return [
        StoredMessage(
            hash=bytes(r[0]),
            pubsub_topic=str(r[1]),
            message=WakuMessage(
                payload=bytes(r[3]),
                content_topic=str(r[2]),
                version=int(r[4]),
                timestamp=int(r[5]),
                meta=None if r[6] is None else bytes(r[6]),
                rate_limit_proof=None if r[7] is None else bytes(r[7]),
            ),
        )
        for r in rows
    ]


async def prune(
    store: Store, *, keep: int, received_before: int, max_bytes: int | None = None
) -> int:
    """Delete all but the ``keep`` newest arrivals, everything received before
    ``received_before`` (ns), and the oldest arrivals beyond ``max_bytes`` in total.
    Returns the number of rows deleted."""
    async with store.transaction() as db:
        cur = await db.execute(
            "DELETE FROM waku_messages WHERE received_at < ?", (received_before,)
        )
        deleted = max(cur.rowcount, 0)
        await cur.close()
        cur = await db.execute(
            "DELETE FROM waku_messages WHERE id <= "
            "(SELECT id FROM waku_messages ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (keep,),
        )
        deleted += max(cur.rowcount, 0)
        await cur.close()
        if max_bytes is not None:
            # Running total from the newest arrival back: the first row past the budget and
            # everything older go.
            cur = await db.execute(
                "DELETE FROM waku_messages WHERE id <= (SELECT id FROM ("  # noqa: S608
                f" SELECT id, SUM({_ROW_BYTES}) OVER (ORDER BY id DESC) AS total"
                " FROM waku_messages) WHERE total > ? ORDER BY id DESC LIMIT 1)",
                (max_bytes,),
            )
            deleted += max(cur.rowcount, 0)
            await cur.close()
    return deleted
