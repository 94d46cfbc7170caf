"""Stored outbox rows: one pending action (send/edit/delete/react) of a message on one target.

A row is *open* while ``pending`` (waiting for its turn or its retry time) or ``sending`` (an
attempt started and its outcome is not recorded: after a crash, in doubt). It ends
``delivered``, ``failed`` (permanent error, attempts or age exhausted) or ``skipped`` (the
target cannot do it, or the original never reached the target). Functions take a connection
inside ``store.transaction()`` for writes, ``store.db`` for reads; none commits.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import aiosqlite

from bridge.model import Author, ChatId, ChatRef, DeliveryKind, MessageId, NativeId, RichText
from bridge.store.messages import (
    decode_author,
    decode_text,
    encode_author,
    encode_text,
    platform_of,
)

__all__ = [
    "AT_ONCE",
    "NewRow",
    "OutboxRow",
    "OutboxState",
    "ReactPayload",
    "Statement",
    "changes",
    "count_open",
    "decode_edit",
    "decode_react",
    "encode_edit",
    "encode_react",
    "finish",
    "followup_targets",
    "get",
    "insert",
    "last_id",
    "mark_delivered",
    "mark_sending",
    "one_statement",
    "open_rows",
    "open_targets",
    "outcomes",
    "prune",
    "reschedule",
]

OutboxState = Literal["pending", "sending", "delivered", "failed", "skipped"]


_KEY_BYTES = 10


def _new_keys(n: int) -> list[str]:
    """``n`` idempotency keys, from one read of the system's random source. 20 characters
    each: fits Discord's 25-character nonce; 80 random bits never collide in practice."""
    pool = secrets.token_bytes(_KEY_BYTES * n).hex()
    width = 2 * _KEY_BYTES
    return [pool[i : i + width] for i in range(0, width * n, width)]


@dataclass(frozen=True, slots=True)
class NewRow:
    message_id: MessageId
    target: ChatRef
    kind: DeliveryKind
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message_id: MessageId
    target: ChatRef
    kind: DeliveryKind
    payload: str | None
    state: OutboxState
    attempts: int
    created_at: float
    next_attempt_at: float
    last_error: str | None
    native_id: NativeId | None
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ReactPayload:
    emoji: str
    added: bool
    author: Author
    counts: tuple[tuple[str, int], ...] | None = None


def encode_edit(text: RichText) -> str:
    return encode_text(text)


def decode_edit(payload: str | None) -> RichText:
    if payload is None:
        raise ValueError("an edit row has no text")
    return decode_text(payload)


def encode_react(
    emoji: str, added: bool, author: Author, counts: Sequence[tuple[str, int]] = ()
) -> str:
    return json.dumps([emoji, added, encode_author(author), [list(c) for c in counts]])


def decode_react(payload: str | None) -> ReactPayload:
    if payload is None:
        raise ValueError("a react row has no reaction")
    emoji, added, author, *rest = json.loads(payload)  # rows of older bridges have no counts
    counts = tuple((str(e), int(n)) for e, n in rest[0]) if rest else None
    return ReactPayload(emoji, bool(added), decode_author(author), counts)


async def _one(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any | None:
    # execute_fetchall is one round trip to the database thread; a cursor would be three.
    return next(iter(await db.execute_fetchall(sql, params)), None)


async def _all(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    return list(await db.execute_fetchall(sql, params))


_COLUMNS = (
    "id, message_id, target_platform, target_chat, kind, payload, state, attempts,"
    " created_at, next_attempt_at, last_error, native_id, idempotency_key"
)


def _row(r: Any) -> OutboxRow:
    return OutboxRow(
        id=r[0],
        message_id=MessageId(r[1]),
        target=ChatRef(platform_of(r[2]), ChatId(r[3])),
        kind=cast(DeliveryKind, r[4]),
        payload=r[5],
        state=cast(OutboxState, r[6]),
        attempts=r[7],
        created_at=r[8],
        next_attempt_at=r[9],
        last_error=r[10],
        native_id=None if r[11] is None else NativeId(r[11]),
        idempotency_key=r[12],
    )


# Rows per INSERT statement: 8 parameters each, well under SQLite's 32,766.
_INSERT_CHUNK = 500


async def insert(db: aiosqlite.Connection, rows: Sequence[NewRow], now: float) -> list[OutboxRow]:
    """Add ``rows``; returns them as stored, in id (delivery) order, so that the outbox can
    take them without reading them back."""
    stored: list[OutboxRow] = []
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        # One statement with RETURNING: one round trip, like executemany, and the ids.
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        params: list[Any] = []
        for r, key in zip(chunk, _new_keys(len(chunk)), strict=True):
            params += (
                r.message_id,
                r.target.platform,
                r.target.chat_id,
                r.kind,
                r.payload,
                now,
                now,
                key,
            )
        sql = (
            "INSERT INTO relay_outbox(message_id, target_platform, target_chat, kind, payload,"  # noqa: S608 - placeholders and constant columns only
            f" created_at, next_attempt_at, idempotency_key) VALUES {values}"
            f" RETURNING {_COLUMNS}"
        )
        returned = await db.execute_fetchall(sql, params)
        stored += (_row(r) for r in returned)
    stored.sort(key=lambda row: row.id)
    return stored


async def get(db: aiosqlite.Connection, row_id: int) -> OutboxRow | None:
    sql = f"SELECT {_COLUMNS} FROM relay_outbox WHERE id = ?"  # noqa: S608 - constant columns
    row = await _one(db, sql, (row_id,))
    return None if row is None else _row(row)


async def open_rows(db: aiosqlite.Connection, target: ChatRef, limit: int) -> list[OutboxRow]:
    """The target's open rows in delivery order."""
    rows = await _all(
        db,
        f"SELECT {_COLUMNS} FROM relay_outbox"  # noqa: S608 - constant column list
        " WHERE target_platform = ? AND target_chat = ? AND state IN ('pending', 'sending')"
        " ORDER BY id LIMIT ?",
        (target.platform, target.chat_id, limit),
    )
    return [_row(r) for r in rows]


async def open_targets(db: aiosqlite.Connection) -> list[ChatRef]:
    rows = await _all(
        db,
        "SELECT DISTINCT target_platform, target_chat FROM relay_outbox"
        " WHERE state IN ('pending', 'sending')",
        (),
    )
    return [ChatRef(platform_of(r[0]), ChatId(r[1])) for r in rows]


async def count_open(db: aiosqlite.Connection) -> int:
    row = await _one(
        db, "SELECT COUNT(*) FROM relay_outbox WHERE state IN ('pending', 'sending')", ()
    )
    return 0 if row is None else int(row[0])


async def followup_targets(db: aiosqlite.Connection, message_id: MessageId) -> list[ChatRef]:
    """Targets whose copy of the message exists or may still appear (send not failed)."""
    rows = await _all(
        db,
        "SELECT DISTINCT target_platform, target_chat FROM relay_outbox"
        " WHERE message_id = ? AND kind = 'send'"
        " AND state IN ('pending', 'sending', 'delivered')",
        (message_id,),
    )
    return [ChatRef(platform_of(r[0]), ChatId(r[1])) for r in rows]


# The writers below take many rows at once: the outbox commits its workers' outcomes in
# batches (one executemany per kind of change, one transaction per batch). ``changes`` gives
# the same statements for a caller that runs them itself (a lone change: ``Store.write``).

_SENDING = "UPDATE relay_outbox SET state = 'sending' WHERE id = ?"
# last_error stays: /room status reports recent errors, retried ones too. A delivered send's
# copy goes into the id map by trigger (migration 0065).
_DELIVERED = "UPDATE relay_outbox SET state = 'delivered', native_id = ? WHERE id = ?"
_RESCHEDULE = (
    "UPDATE relay_outbox SET state = 'pending', attempts = ?, next_attempt_at = ?,"
    " last_error = ? WHERE id = ?"
)
_FINISH = "UPDATE relay_outbox SET state = ?, last_error = ?, attempts = ? WHERE id = ?"

Statement = tuple[str, list[tuple[Any, ...]]]
"""One SQL statement and the parameters of each row it is run for."""


def changes(
    sending: Sequence[int] = (),
    delivered: Sequence[tuple[int, NativeId | None]] = (),
    rescheduled: Sequence[tuple[int, int, float, str]] = (),
    finished: Sequence[tuple[int, Literal["failed", "skipped"], str, int]] = (),
) -> list[Statement]:
    """The statements that record these outcomes (see the functions below), in this order."""
    found: list[Statement] = []
    if sending:
        found.append((_SENDING, [(i,) for i in sending]))
    if delivered:
        found.append((_DELIVERED, [(native_id, row_id) for row_id, native_id in delivered]))
    if rescheduled:
        found.append(
            (
                _RESCHEDULE,
                [(attempts, at, err, row_id) for row_id, attempts, at, err in rescheduled],
            )
        )
    if finished:
        found.append(
            (_FINISH, [(state, why, attempts, row_id) for row_id, state, why, attempts in finished])
        )
    return found


AT_ONCE = 500
"""The most rows ``one_statement`` marks (SQLite binds up to 32,766 parameters)."""


def one_statement(
    sending: Sequence[int] = (),
    delivered: Sequence[tuple[int, NativeId | None]] = (),
    rescheduled: Sequence[tuple[int, int, float, str]] = (),
    finished: Sequence[tuple[int, Literal["failed", "skipped"], str, int]] = (),
) -> tuple[str, tuple[Any, ...]] | None:
    """``changes(...)`` as one statement, or None when it takes more: one row's outcome of any
    kind, or up to ``AT_ONCE`` rows that are all "sending" or all "delivered" (the rows of a
    message's targets start, and often end, together). Alone, SQLite commits a statement by
    itself: one round trip instead of BEGIN, one statement per kind, COMMIT."""
    if sum(1 for kind in (sending, delivered, rescheduled, finished) if kind) != 1:
        return None
    if 1 < len(sending) <= AT_ONCE:
        marks = ", ".join("?" * len(sending))
        sql = f"UPDATE relay_outbox SET state = 'sending' WHERE id IN ({marks})"  # noqa: S608 - placeholders only
        return sql, tuple(sending)
    if 1 < len(delivered) <= AT_ONCE:
        cases = " ".join(["WHEN ? THEN ?"] * len(delivered))
        marks = ", ".join("?" * len(delivered))
        # Each row's copy still enters the id map by trigger (migration 0065).
        sql = (
            "UPDATE relay_outbox SET state = 'delivered',"  # noqa: S608 - placeholders only
            f" native_id = CASE id {cases} END WHERE id IN ({marks})"
        )
        params: list[Any] = []
        for row_id, native_id in delivered:
            params += (row_id, native_id)
        return sql, (*params, *(row_id for row_id, _ in delivered))
    [(sql, rows)] = changes(sending, delivered, rescheduled, finished)
    return (sql, rows[0]) if len(rows) == 1 else None


async def mark_sending(db: aiosqlite.Connection, row_ids: Sequence[int]) -> None:
    await _run(db, changes(sending=row_ids))


async def mark_delivered(
    db: aiosqlite.Connection, rows: Sequence[tuple[int, NativeId | None]]
) -> None:
    """(row id, the copy's native id) for each row; a send's copy enters the id map."""
    await _run(db, changes(delivered=rows))


async def reschedule(db: aiosqlite.Connection, rows: Sequence[tuple[int, int, float, str]]) -> None:
    """(row id, attempts, next attempt at, error) for each row."""
    await _run(db, changes(rescheduled=rows))


async def finish(
    db: aiosqlite.Connection,
    rows: Sequence[tuple[int, Literal["failed", "skipped"], str, int]],
) -> None:
    """(row id, final state, reason, attempts) for each row."""
    await _run(db, changes(finished=rows))


async def _run(db: aiosqlite.Connection, statements: list[Statement]) -> None:
    for sql, rows in statements:
        await db.executemany(sql, rows)


async def prune(db: aiosqlite.Connection, before: float) -> int:
    """Delete finished rows created before ``before``; open rows are kept whatever their age."""
    cur = await db.execute(
        "DELETE FROM relay_outbox WHERE created_at < ?"
        " AND state IN ('delivered', 'failed', 'skipped')",
        (before,),
    )
    await cur.close()
    return cur.rowcount


async def outcomes(
    db: aiosqlite.Connection, message_id: MessageId, kind: DeliveryKind, since_id: int
) -> list[tuple[ChatRef, OutboxState, str | None]]:
    """(target, state, last error) of the message's ``kind`` rows with an id above
    ``since_id``, the newest per target."""
    rows = await _all(
        db,
        "SELECT target_platform, target_chat, state, last_error FROM relay_outbox"
        " WHERE id IN (SELECT MAX(id) FROM relay_outbox WHERE message_id = ? AND kind = ?"
        " AND id > ? GROUP BY target_platform, target_chat)",
        (message_id, kind, since_id),
    )
    return [(ChatRef(platform_of(r[0]), ChatId(r[1])), cast(OutboxState, r[2]), r[3]) for r in rows]


async def last_id(db: aiosqlite.Connection) -> int:
    row = await _one(db, "SELECT COALESCE(MAX(id), 0) FROM relay_outbox", ())
    return 0 if row is None else int(row[0])
