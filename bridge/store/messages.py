"""Stored relayed messages and the id map (message <-> native id per chat).

Every function takes the connection of an open transaction (``store.transaction()``) or, for
reads, ``store.db``; none commits. The JSON codecs here are the one serialised form of the
neutral types in the store.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import aiosqlite

from bridge.model import (
    Attachment,
    AttachmentKind,
    Author,
    ChatId,
    ChatRef,
    MessageId,
    NativeId,
    NewMessage,
    Platform,
    RichText,
    Span,
    SpanKind,
    UserId,
)

__all__ = [
    "IdMapHit",
    "StoredMessage",
    "chats_of",
    "decode_author",
    "decode_text",
    "encode_author",
    "encode_text",
    "get",
    "insert",
    "insert_new",
    "insert_new_many",
    "lookup_native",
    "mark_deleted",
    "native_id_in",
    "platform_of",
    "prune",
    "record_copies",
    "set_text",
]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: MessageId
    room: str
    source: ChatRef
    native_id: NativeId
    author: Author
    text: RichText
    reply_to: MessageId | None
    attachments: tuple[Attachment, ...]
    sent_at: datetime
    deleted: bool


@dataclass(frozen=True, slots=True)
class IdMapHit:
    """A native id the bridge knows: which message it is, and whether a person wrote it there
    (``origin``) or the bridge posted it."""

    message_id: MessageId
    origin: bool


async def _one(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any | None:
    # execute_fetchall is one round trip to the database thread; a cursor would be three.
    return next(iter(await db.execute_fetchall(sql, params)), None)


async def _all(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    return list(await db.execute_fetchall(sql, params))


_PLATFORM_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def platform_of(value: str) -> Platform:
    # A row of a platform this build no longer has still reads; only a malformed one is refused.
    if _PLATFORM_NAME.fullmatch(value) is None:
        raise ValueError(f"unknown platform {value!r} in the store")
    return value


# Every message stores its author and reads it back (insert_new): the same few people write
# most messages, and both sides are pure (Author is frozen).
@functools.lru_cache(maxsize=4096)
def encode_author(author: Author) -> str:
    return json.dumps(
        [
            author.platform,
            author.user_id,
            author.display_name,
            author.username,
            author.avatar_url,
            author.is_bot,
            author.verified,
        ]
    )


@functools.lru_cache(maxsize=4096)
def decode_author(raw: str) -> Author:
    # Rows written before ``verified`` existed have six fields: not verified.
    platform, user_id, display_name, username, avatar_url, is_bot, *rest = json.loads(raw)
    return Author(
        platform_of(platform),
        UserId(user_id),
        display_name,
        username,
        avatar_url,
        bool(is_bot),
        verified=bool(rest and rest[0] is True),
    )


def _spans_to_list(spans: tuple[Span, ...]) -> list[list[Any]]:
    return [[s.kind, s.start, s.end, s.url, s.language] for s in spans]


def _spans_from_list(items: list[list[Any]]) -> tuple[Span, ...]:
    return tuple(
        Span(cast(SpanKind, kind), start, end, url, language)
        for kind, start, end, url, language in items
    )


def encode_spans(spans: tuple[Span, ...]) -> str:
    return json.dumps(_spans_to_list(spans))


def decode_spans(raw: str) -> tuple[Span, ...]:
    return _spans_from_list(json.loads(raw))


def encode_text(text: RichText) -> str:
    """RichText as one JSON string (outbox payloads); messages keep text and spans apart."""
    return json.dumps([text.text, _spans_to_list(text.spans)])


def decode_text(raw: str) -> RichText:
    text, spans = json.loads(raw)
    return RichText(text, _spans_from_list(spans))


def _encode_attachments(attachments: tuple[Attachment, ...]) -> str:
    return json.dumps(
        [
            [
                a.kind,
                a.filename,
                a.mime,
                a.size,
                a.url,
                None if a.data is None else base64.b64encode(a.data).decode("ascii"),
            ]
            for a in attachments
        ]
    )


def _decode_attachments(raw: str) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for kind, filename, mime, size, url, data in json.loads(raw):
        found.append(
            Attachment(
                cast(AttachmentKind, kind),
                filename,
                mime,
                size,
                url,
                None if data is None else base64.b64decode(data),
            )
        )
    return tuple(found)


def _message_from_row(row: Any) -> StoredMessage:
    return StoredMessage(
        id=MessageId(row["id"]),
        room=row["room"],
        source=ChatRef(platform_of(row["source_platform"]), ChatId(row["source_chat"])),
        native_id=NativeId(row["source_native_id"]),
        author=decode_author(row["author"]),
        text=RichText(row["text"], decode_spans(row["spans"])),
        reply_to=None if row["reply_to"] is None else MessageId(row["reply_to"]),
        attachments=_decode_attachments(row["attachments"]),
        sent_at=datetime.fromtimestamp(row["sent_at"], UTC),
        deleted=bool(row["deleted"]),
    )


async def lookup_native(
    db: aiosqlite.Connection, chat: ChatRef, native_id: NativeId
) -> IdMapHit | None:
    row = await _one(
        db,
        "SELECT message_id, origin FROM relay_native_ids"
        " WHERE platform = ? AND chat = ? AND native_id = ?",
        (chat.platform, chat.chat_id, native_id),
    )
    return None if row is None else IdMapHit(MessageId(row[0]), bool(row[1]))


async def insert(
    db: aiosqlite.Connection,
    room: str,
    message: NewMessage,
    reply_to: MessageId | None,
    now: float,
) -> MessageId:
    """Record a new message and its origin entry in the id map."""
    stored = await insert_new(db, room, message, reply_to, now, check_known=False)
    assert stored is not None
    return stored.id


_COLUMNS_NEW = (
    "INSERT INTO relay_messages(room, source_platform, source_chat, source_native_id,"
    " author, text, spans, reply_to, attachments, sent_at, created_at)"
)
_ROW_NEW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# 11 parameters a row: 200 rows stay far below SQLite's 32,766 variables.
_INSERT_CHUNK = 200


def _new_values(
    room: str, message: NewMessage, reply_to: MessageId | None, now: float
) -> tuple[Any, ...]:
    return (
        room,
        message.source.platform,
        message.source.chat_id,
        message.native_id,
        encode_author(message.author),
        message.text.text,
        encode_spans(message.text.spans),
        reply_to,
        _encode_attachments(message.attachments),
        message.timestamp.timestamp(),
        now,
    )


def _stored_new(message_id: MessageId, values: tuple[Any, ...]) -> StoredMessage:
    # Decoded from what was stored (not copied from the event): equal to a read-back.
    return _message_from_row(
        {
            "id": message_id,
            "room": values[0],
            "source_platform": values[1],
            "source_chat": values[2],
            "source_native_id": values[3],
            "author": values[4],
            "text": values[5],
            "spans": values[6],
            "reply_to": values[7],
            "attachments": values[8],
            "sent_at": values[9],
            "deleted": 0,
        }
    )


async def insert_new(
    db: aiosqlite.Connection,
    room: str,
    message: NewMessage,
    reply_to: MessageId | None,
    now: float,
    *,
    check_known: bool = True,
) -> StoredMessage | None:
    """Record a new message and its origin entry in the id map, unless (``check_known``) its
    native id is in the map already (a duplicate, or the bridge's own copy): then None.

    Returns the message as ``get`` would read it back, so that nobody needs to.
    """
    if check_known:
        return (await insert_new_many(db, [(room, message, reply_to)], now))[0]
    values = _new_values(room, message, reply_to, now)
    row = await _one(db, _COLUMNS_NEW + f" VALUES {_ROW_NEW} RETURNING id", values)
    assert row is not None
    # Its origin entry in the id map comes with it (a trigger: migration 0066).
    return _stored_new(MessageId(row[0]), values)


async def insert_new_many(
    db: aiosqlite.Connection,
    items: Sequence[tuple[str, NewMessage, MessageId | None]],
    now: float,
) -> list[StoredMessage | None]:
    """``insert_new`` (with ``check_known``) for many (room, message, reply parent) at once:
    one statement per 200 messages instead of one each. None for a message whose native id
    the map knows, and for a repeat of an earlier item's (the first one is recorded)."""
    results: list[StoredMessage | None] = [None] * len(items)
    first: dict[tuple[str, str, str], int] = {}
    for index, (_, message, _) in enumerate(items):
        first.setdefault(
            (message.source.platform, message.source.chat_id, message.native_id), index
        )
    fresh = sorted(first.values())
    for start in range(0, len(fresh), _INSERT_CHUNK):
        chunk = fresh[start : start + _INSERT_CHUNK]
        values = {index: _new_values(*items[index], now) for index in chunk}
        # The duplicate check and the insert in one statement. RETURNING names the rows (its
        # order is not promised); rows are inserted, and ids given, in the order listed.
        sql = (
            _COLUMNS_NEW  # noqa: S608 - constant text and placeholders only
            + " SELECT * FROM (VALUES "
            + ", ".join([_ROW_NEW] * len(chunk))
            + ") AS v WHERE NOT EXISTS (SELECT 1 FROM relay_native_ids AS n"
            " WHERE n.platform = v.column2 AND n.chat = v.column3 AND n.native_id = v.column4)"
            " RETURNING id, source_platform, source_chat, source_native_id"
        )
        params = [value for index in chunk for value in values[index]]
        for row in await db.execute_fetchall(sql, params):
            index = first[(row[1], row[2], row[3])]
            # Its origin entry in the id map comes with it (a trigger: migration 0066).
            results[index] = _stored_new(MessageId(row[0]), values[index])
    return results


async def get(db: aiosqlite.Connection, message_id: MessageId) -> StoredMessage | None:
    row = await _one(db, "SELECT * FROM relay_messages WHERE id = ?", (message_id,))
    return None if row is None else _message_from_row(row)


async def native_id_in(
    db: aiosqlite.Connection, message_id: MessageId, chat: ChatRef
) -> NativeId | None:
    row = await _one(
        db,
        "SELECT native_id FROM relay_native_ids WHERE message_id = ? AND platform = ? AND chat = ?",
        (message_id, chat.platform, chat.chat_id),
    )
    return None if row is None else NativeId(row[0])


async def chats_of(db: aiosqlite.Connection, message_id: MessageId) -> list[ChatRef]:
    """Every chat where the message has a native id: its origin and the delivered copies."""
    rows = await _all(
        db, "SELECT platform, chat FROM relay_native_ids WHERE message_id = ?", (message_id,)
    )
    return [ChatRef(platform_of(r[0]), ChatId(r[1])) for r in rows]


async def record_copies(
    db: aiosqlite.Connection, copies: Sequence[tuple[MessageId, ChatRef, NativeId]]
) -> None:
    """Map the bridge's copies of messages (replacing an older copy in the same chat)."""
    await db.executemany(
        "INSERT OR REPLACE INTO relay_native_ids(platform, chat, native_id, message_id, origin)"
        " VALUES (?, ?, ?, ?, 0)",
        [(chat.platform, chat.chat_id, native_id, mid) for mid, chat, native_id in copies],
    )


async def set_text(db: aiosqlite.Connection, message_id: MessageId, text: RichText) -> None:
    await db.execute(
        "UPDATE relay_messages SET text = ?, spans = ? WHERE id = ?",
        (text.text, encode_spans(text.spans), message_id),
    )


async def mark_deleted(db: aiosqlite.Connection, message_id: MessageId) -> None:
    await db.execute("UPDATE relay_messages SET deleted = 1 WHERE id = ?", (message_id,))


async def prune(db: aiosqlite.Connection, before: float) -> int:
    """Forget messages recorded before ``before`` (with their id-map and outbox rows), except
    those still waiting in the outbox. Returns how many messages went."""
    cur = await db.execute(
        "DELETE FROM relay_messages WHERE created_at < ? AND NOT EXISTS ("
        " SELECT 1 FROM relay_outbox o WHERE o.message_id = relay_messages.id"
        " AND o.state IN ('pending', 'sending'))",
        (before,),
    )
    await cur.close()
    return cur.rowcount
