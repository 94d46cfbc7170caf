"""Community points (migration 0040): the entries ledger, names, cycles and their claim lists.

Like the other store modules, the functions take a connection (``store.db`` for reads, the one
from ``store.transaction()`` for writes); none commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiosqlite

__all__ = [
    "AUTOMATIC",
    "Cycle",
    "Entry",
    "EntryKind",
    "account_names",
    "account_total",
    "add_entry",
    "allocated",
    "claims_of",
    "current_cycle",
    "cycles",
    "day_total",
    "entries_with_ref_prefix",
    "find_accounts",
    "get_cycle",
    "insert_cycle",
    "manual_entries",
    "mark_published",
    "room_entries",
    "set_allocated",
    "set_root",
    "set_show",
    "set_tx",
    "show_points",
    "totals",
    "upsert_account",
]

EntryKind = Literal["message", "reply", "reaction", "tip", "award", "deduct", "reversal"]
AUTOMATIC: tuple[EntryKind, ...] = ("message", "reply", "reaction", "tip")


@dataclass(frozen=True, slots=True)
class Entry:
    """One change of one account's points, with who made it, why, and when."""

    cycle: int
    room: str
    platform: str
    user_id: str
    person: str
    kind: EntryKind
    amount: int
    actor: str
    reason: str
    ref: str | None
    created_at: int
    id: int | None = None

    @property
    def day(self) -> int:
        return self.created_at // 86400


@dataclass(frozen=True, slots=True)
class Cycle:
    cycle: int
    status: Literal["closing", "published"]
    root: str
    cid: str
    token: str
    distributor: str | None
    members: int
    total: int
    closed_by: str
    closed_at: int
    tx_hash: str | None
    published_block: int | None
    published_at: int | None


_ENTRY_COLUMNS = (
    "cycle, room, platform, user_id, person, kind, amount, actor, reason, ref, created_at, id"
)
_CYCLE_COLUMNS = (
    "cycle, status, root, cid, token, distributor, members, total, closed_by, closed_at,"
    " tx_hash, published_block, published_at"
)


def _entry(row: Any) -> Entry:
    return Entry(
        cycle=int(row[0]),
        room=str(row[1]),
        platform=str(row[2]),
        user_id=str(row[3]),
        person=str(row[4]),
        kind=row[5],
        amount=int(row[6]),
        actor=str(row[7]),
        reason=str(row[8]),
        ref=None if row[9] is None else str(row[9]),
        created_at=int(row[10]),
        id=int(row[11]),
    )


def _cycle(row: Any) -> Cycle:
    return Cycle(
        cycle=int(row[0]),
        status=row[1],
        root=str(row[2]),
        cid=str(row[3]),
        token=str(row[4]),
        distributor=None if row[5] is None else str(row[5]),
        members=int(row[6]),
        total=int(row[7]),
        closed_by=str(row[8]),
        closed_at=int(row[9]),
        tx_hash=None if row[10] is None else str(row[10]),
        published_block=None if row[11] is None else int(row[11]),
        published_at=None if row[12] is None else int(row[12]),
    )


async def add_entry(db: aiosqlite.Connection, entry: Entry) -> bool:
    """Record ``entry``; False when an entry with the same ``ref`` exists (counted once)."""
    cur = await db.execute(
        "INSERT OR IGNORE INTO points_entries (cycle, room, platform, user_id, person, kind,"
        " amount, actor, reason, ref, day, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.cycle,
            entry.room,
            entry.platform,
            entry.user_id,
            entry.person,
            entry.kind,
            entry.amount,
            entry.actor,
            entry.reason,
            entry.ref,
            entry.day,
            entry.created_at,
        ),
    )
    inserted = cur.rowcount > 0
    await cur.close()
    return inserted


async def day_total(db: aiosqlite.Connection, room: str, person: str, day: int) -> int:
    """Automatic points ``person`` earned in ``room`` on UTC ``day`` (for the daily cap)."""
    marks = ", ".join("?" for _ in AUTOMATIC)
    async with db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM points_entries"  # noqa: S608
        f" WHERE room = ? AND person = ? AND day = ? AND kind IN ({marks})",
        (room, person, day, *AUTOMATIC),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def entries_with_ref_prefix(db: aiosqlite.Connection, prefix: str) -> list[Entry]:
    async with db.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM points_entries WHERE ref >= ? AND ref < ?"  # noqa: S608
        " ORDER BY id",
        (prefix, prefix + "\U0010ffff"),
    ) as cur:
        return [_entry(r) for r in await cur.fetchall()]


async def manual_entries(db: aiosqlite.Connection, room: str, limit: int = 50) -> list[Entry]:
    """The latest awards, deductions and reversals in ``room``, newest first."""
    async with db.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM points_entries"  # noqa: S608
        " WHERE room = ? AND kind IN ('award', 'deduct', 'reversal') ORDER BY id DESC LIMIT ?",
        (room, limit),
    ) as cur:
        return [_entry(r) for r in await cur.fetchall()]


async def room_entries(
    db: aiosqlite.Connection, room: str, *, before: int | None = None, limit: int = 100
) -> list[Entry]:
    """``room``'s entries, newest first, those with ``id < before`` when given."""
    async with db.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM points_entries"  # noqa: S608
        " WHERE room = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (room, before if before is not None else 2**62, limit),
    ) as cur:
        return [_entry(r) for r in await cur.fetchall()]


async def totals(
    db: aiosqlite.Connection, *, room: str | None = None, cycle: int | None = None
) -> dict[tuple[str, str], int]:
    """Points per account, optionally in one room and/or one cycle."""
    where: list[str] = []
    params: list[str | int] = []
    if room is not None:
        where.append("room = ?")
        params.append(room)
    if cycle is not None:
        where.append("cycle = ?")
        params.append(cycle)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    async with db.execute(
        f"SELECT platform, user_id, SUM(amount) FROM points_entries{clause}"  # noqa: S608
        " GROUP BY platform, user_id",
        params,
    ) as cur:
        return {(str(r[0]), str(r[1])): int(r[2]) for r in await cur.fetchall()}


async def account_total(db: aiosqlite.Connection, platform: str, user_id: str) -> int:
    async with db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM points_entries WHERE platform = ? AND user_id = ?",
        (platform, user_id),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def upsert_account(
    db: aiosqlite.Connection,
    platform: str,
    user_id: str,
    display_name: str,
    username: str | None,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO points_accounts (platform, user_id, display_name, username, seen_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(platform, user_id) DO UPDATE SET"
        " display_name = excluded.display_name,"
        " username = COALESCE(excluded.username, points_accounts.username),"
        " seen_at = excluded.seen_at",
        (platform, user_id, display_name[:200], None if username is None else username[:100], now),
    )


async def account_names(db: aiosqlite.Connection) -> dict[tuple[str, str], str]:
    async with db.execute("SELECT platform, user_id, display_name FROM points_accounts") as cur:
        return {(str(r[0]), str(r[1])): str(r[2]) for r in await cur.fetchall()}


async def find_accounts(db: aiosqlite.Connection, name: str) -> list[tuple[str, str, str]]:
    """(platform, user_id, display name) of the accounts called ``name`` (display name or
    username, any case, "@" optional), most recently seen first."""
    bare = name.removeprefix("@")
    async with db.execute(
        "SELECT platform, user_id, display_name FROM points_accounts"
        " WHERE lower(display_name) = lower(?) OR lower(username) = lower(?) OR user_id = ?"
        " ORDER BY seen_at DESC",
        (bare, bare, bare),
    ) as cur:
        return [(str(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def set_show(db: aiosqlite.Connection, platform: str, user_id: str, show: bool) -> bool:
    cur = await db.execute(
        "UPDATE points_accounts SET show_points = ? WHERE platform = ? AND user_id = ?",
        (1 if show else 0, platform, user_id),
    )
    changed = cur.rowcount > 0
    await cur.close()
    return changed


async def show_points(db: aiosqlite.Connection, platform: str, user_id: str) -> bool:
    async with db.execute(
        "SELECT show_points FROM points_accounts WHERE platform = ? AND user_id = ?",
        (platform, user_id),
    ) as cur:
        row = await cur.fetchone()
    return row is not None and bool(row[0])


# --- cycles -----------------------------------------------------------------------------------


async def current_cycle(db: aiosqlite.Connection) -> int:
    """The open cycle: one past the last closed one."""
    async with db.execute("SELECT COALESCE(MAX(cycle), 0) FROM points_cycles") as cur:
        row = await cur.fetchone()
    return (int(row[0]) if row is not None else 0) + 1


async def get_cycle(db: aiosqlite.Connection, cycle: int) -> Cycle | None:
    async with db.execute(
        f"SELECT {_CYCLE_COLUMNS} FROM points_cycles WHERE cycle = ?",  # noqa: S608
        (cycle,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _cycle(row)


async def cycles(db: aiosqlite.Connection, *, status: str | None = None) -> list[Cycle]:
    where = "" if status is None else " WHERE status = ?"
    async with db.execute(
        f"SELECT {_CYCLE_COLUMNS} FROM points_cycles{where} ORDER BY cycle",  # noqa: S608
        () if status is None else (status,),
    ) as cur:
        return [_cycle(r) for r in await cur.fetchall()]


async def insert_cycle(
    db: aiosqlite.Connection, cycle: Cycle, claims: Iterable[tuple[str, int]]
) -> None:
    await db.execute(
        f"INSERT INTO points_cycles ({_CYCLE_COLUMNS})"  # noqa: S608
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            cycle.cycle,
            cycle.status,
            cycle.root,
            cycle.cid,
            cycle.token,
            cycle.distributor,
            cycle.members,
            str(cycle.total),
            cycle.closed_by,
            cycle.closed_at,
            cycle.tx_hash,
            cycle.published_block,
            cycle.published_at,
        ),
    )
    await db.executemany(
        "INSERT INTO points_claims (cycle, wallet, points) VALUES (?, ?, ?)",
        ((cycle.cycle, wallet, points) for wallet, points in claims),
    )


async def set_root(db: aiosqlite.Connection, cycle: int, root: str, cid: str) -> None:
    await db.execute(
        "UPDATE points_cycles SET root = ?, cid = ? WHERE cycle = ?", (root, cid, cycle)
    )


async def set_tx(db: aiosqlite.Connection, cycle: int, tx_hash: str | None) -> None:
    await db.execute("UPDATE points_cycles SET tx_hash = ? WHERE cycle = ?", (tx_hash, cycle))


async def mark_published(
    db: aiosqlite.Connection, cycle: int, tx_hash: str | None, block: int, now: int
) -> None:
    await db.execute(
        "UPDATE points_cycles SET status = 'published', tx_hash = COALESCE(?, tx_hash),"
        " published_block = ?, published_at = ? WHERE cycle = ?",
        (tx_hash, block, now, cycle),
    )


async def claims_of(db: aiosqlite.Connection, cycle: int) -> dict[str, int]:
    """Each wallet's cumulative points in ``cycle``'s list."""
    async with db.execute(
        "SELECT wallet, points FROM points_claims WHERE cycle = ?", (cycle,)
    ) as cur:
        return {str(r[0]): int(r[1]) for r in await cur.fetchall()}


async def allocated(db: aiosqlite.Connection) -> dict[tuple[str, str], int]:
    async with db.execute("SELECT platform, user_id, points FROM points_allocated") as cur:
        return {(str(r[0]), str(r[1])): int(r[2]) for r in await cur.fetchall()}


async def set_allocated(db: aiosqlite.Connection, values: Sequence[tuple[str, str, int]]) -> None:
    await db.executemany(
        "INSERT INTO points_allocated (platform, user_id, points) VALUES (?, ?, ?)"
        " ON CONFLICT(platform, user_id) DO UPDATE SET points = excluded.points",
        values,
    )
