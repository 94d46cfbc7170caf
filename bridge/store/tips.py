"""Tips (migration 0006): tip intents, confirmed TipJar events, and the chain watcher's cursor.

Like the other store modules, the functions take a connection: ``store.db`` for reads, the one
yielded by ``store.transaction()`` for writes; none commits. Amounts are uint256 base units,
stored as decimal text and returned as ``int``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aiosqlite

__all__ = [
    "IntentStatus",
    "StoredTip",
    "TipIntent",
    "add_block",
    "add_intent",
    "add_tip",
    "blocks",
    "cursor",
    "expire_intents",
    "forget_blocks_from",
    "get_intent",
    "last_chat_of_recipient",
    "mark_announced",
    "mark_paid",
    "prune_blocks",
    "set_cursor",
    "tips_in_chats",
    "unannounced",
]

IntentStatus = Literal["open", "paid", "expired"]


@dataclass(frozen=True)
class TipIntent:
    id: str  # 0x + 64 lower-case hex; the bytes32 ref
    tipper_platform: str
    tipper_user_id: str
    tipper_name: str
    recipient_platform: str | None
    recipient_user_id: str | None
    recipient_name: str
    recipient_address: str  # EIP-55
    token: str | None  # ERC-20 address (EIP-55); None = ETH
    symbol: str
    decimals: int
    amount: int  # base units
    memo: str
    chat_platform: str
    chat_id: str
    chain_id: int
    tipjar: str
    created_at: int
    expires_at: int
    status: IntentStatus = "open"
    paid_tx: str | None = None
    paid_at: int | None = None


@dataclass(frozen=True)
class StoredTip:
    tx_hash: str
    log_index: int
    tipjar: str
    block_number: int
    block_hash: str
    sender: str
    recipient: str
    token: str | None
    amount: int
    symbol: str | None
    decimals: int | None
    ref: str
    tipper_name: str
    recipient_name: str
    intent_id: str | None
    chat_platform: str | None
    chat_id: str | None
    seen_at: int
    announced: bool = False


_INTENT_COLUMNS = (
    "id, tipper_platform, tipper_user_id, tipper_name, recipient_platform, recipient_user_id,"
    " recipient_name, recipient_address, token, symbol, decimals, amount, memo, chat_platform,"
    " chat_id, chain_id, tipjar, created_at, expires_at, status, paid_tx, paid_at"
)
_TIP_COLUMNS = (
    "tx_hash, log_index, tipjar, block_number, block_hash, sender, recipient, token, amount,"
    " symbol, decimals, ref, tipper_name, recipient_name, intent_id, chat_platform, chat_id,"
    " seen_at, announced"
)


def _intent(row: aiosqlite.Row) -> TipIntent:
    status = str(row[19])
    if status not in ("open", "paid", "expired"):
        raise ValueError(f"tip intent {row[0]} has an unknown status {status!r}")
    return TipIntent(
        id=str(row[0]),
        tipper_platform=str(row[1]),
        tipper_user_id=str(row[2]),
        tipper_name=str(row[3]),
        recipient_platform=None if row[4] is None else str(row[4]),
        recipient_user_id=None if row[5] is None else str(row[5]),
        recipient_name=str(row[6]),
        recipient_address=str(row[7]),
        token=None if row[8] is None else str(row[8]),
        symbol=str(row[9]),
        decimals=int(row[10]),
        amount=int(row[11]),
        memo=str(row[12]),
        chat_platform=str(row[13]),
        chat_id=str(row[14]),
        chain_id=int(row[15]),
        tipjar=str(row[16]),
        created_at=int(row[17]),
        expires_at=int(row[18]),
        status=status,  # type: ignore[arg-type]
        paid_tx=None if row[20] is None else str(row[20]),
        paid_at=None if row[21] is None else int(row[21]),
    )


def _tip(row: aiosqlite.Row) -> StoredTip:
    return StoredTip(
        tx_hash=str(row[0]),
        log_index=int(row[1]),
        tipjar=str(row[2]),
        block_number=int(row[3]),
        block_hash=str(row[4]),
        sender=str(row[5]),
        recipient=str(row[6]),
        token=None if row[7] is None else str(row[7]),
        amount=int(row[8]),
        symbol=None if row[9] is None else str(row[9]),
        decimals=None if row[10] is None else int(row[10]),
        ref=str(row[11]),
        tipper_name=str(row[12]),
        recipient_name=str(row[13]),
        intent_id=None if row[14] is None else str(row[14]),
        chat_platform=None if row[15] is None else str(row[15]),
        chat_id=None if row[16] is None else str(row[16]),
        seen_at=int(row[17]),
        announced=bool(row[18]),
    )


# --- intents -------------------------------------------------------------------------------


async def add_intent(db: aiosqlite.Connection, intent: TipIntent) -> None:
    await db.execute(
        f"INSERT INTO tip_intents ({_INTENT_COLUMNS})"  # noqa: S608
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            intent.id,
            intent.tipper_platform,
            intent.tipper_user_id,
            intent.tipper_name,
            intent.recipient_platform,
            intent.recipient_user_id,
            intent.recipient_name,
            intent.recipient_address,
            intent.token,
            intent.symbol,
            intent.decimals,
            str(intent.amount),
            intent.memo,
            intent.chat_platform,
            intent.chat_id,
            intent.chain_id,
            intent.tipjar,
            intent.created_at,
            intent.expires_at,
            intent.status,
            intent.paid_tx,
            intent.paid_at,
        ),
    )


async def get_intent(db: aiosqlite.Connection, intent_id: str) -> TipIntent | None:
    async with db.execute(
        f"SELECT {_INTENT_COLUMNS} FROM tip_intents WHERE id = ?",  # noqa: S608
        (intent_id.lower(),),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _intent(row)


async def expire_intents(db: aiosqlite.Connection, now: int) -> int:
    """Mark every open intent past its expiry as expired; returns how many."""
    cur = await db.execute(
        "UPDATE tip_intents SET status = 'expired' WHERE status = 'open' AND expires_at <= ?",
        (now,),
    )
    changed = max(cur.rowcount, 0)
    await cur.close()
    return changed


async def mark_paid(db: aiosqlite.Connection, intent_id: str, tx_hash: str, now: int) -> bool:
    """Mark an unpaid (open or expired) intent paid; False if it was paid already."""
    cur = await db.execute(
        "UPDATE tip_intents SET status = 'paid', paid_tx = ?, paid_at = ?"
        " WHERE id = ? AND status != 'paid'",
        (tx_hash, now, intent_id),
    )
    changed = cur.rowcount > 0
    await cur.close()
    return changed


async def last_chat_of_recipient(db: aiosqlite.Connection, address: str) -> tuple[str, str] | None:
    """The chat of the newest intent that tipped ``address``: where it was last tipped."""
    async with db.execute(
        "SELECT chat_platform, chat_id FROM tip_intents WHERE lower(recipient_address) = lower(?)"
        " ORDER BY created_at DESC LIMIT 1",
        (address,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


# --- confirmed tips ------------------------------------------------------------------------


async def add_tip(db: aiosqlite.Connection, tip: StoredTip) -> bool:
    """Record a confirmed event; False when (tx_hash, log_index) was recorded before."""
    cur = await db.execute(
        f"INSERT INTO tips ({_TIP_COLUMNS})"  # noqa: S608
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(tx_hash, log_index) DO NOTHING",
        (
            tip.tx_hash,
            tip.log_index,
            tip.tipjar,
            tip.block_number,
            tip.block_hash,
            tip.sender,
            tip.recipient,
            tip.token,
            str(tip.amount),
            tip.symbol,
            tip.decimals,
            tip.ref,
            tip.tipper_name,
            tip.recipient_name,
            tip.intent_id,
            tip.chat_platform,
            tip.chat_id,
            tip.seen_at,
            int(tip.announced),
        ),
    )
    inserted = cur.rowcount > 0
    await cur.close()
    return inserted


async def unannounced(db: aiosqlite.Connection) -> list[StoredTip]:
    async with db.execute(
        f"SELECT {_TIP_COLUMNS} FROM tips WHERE announced = 0"  # noqa: S608
        " ORDER BY block_number, log_index",
    ) as cur:
        rows = await cur.fetchall()
    return [_tip(r) for r in rows]


async def mark_announced(db: aiosqlite.Connection, tx_hash: str, log_index: int) -> None:
    await db.execute(
        "UPDATE tips SET announced = 1 WHERE tx_hash = ? AND log_index = ?", (tx_hash, log_index)
    )


async def tips_in_chats(
    db: aiosqlite.Connection, chats: list[tuple[str, str]], limit: int
) -> list[StoredTip]:
    """The newest ``limit`` tips announced in any of ``chats``, newest first."""
    if not chats:
        return []
    where = " OR ".join("(chat_platform = ? AND chat_id = ?)" for _ in chats)
    params: list[str | int] = [part for chat in chats for part in chat]
    params.append(limit)
    async with db.execute(
        f"SELECT {_TIP_COLUMNS} FROM tips WHERE {where}"  # noqa: S608
        " ORDER BY block_number DESC, log_index DESC LIMIT ?",
        params,
    ) as cur:
        rows = await cur.fetchall()
    return [_tip(r) for r in rows]


# --- the watcher's position ----------------------------------------------------------------


async def cursor(db: aiosqlite.Connection, chain_id: int, tipjar: str) -> int | None:
    async with db.execute(
        "SELECT next_block FROM tip_watch WHERE chain_id = ? AND tipjar = ?",
        (chain_id, tipjar.lower()),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else int(row[0])


async def set_cursor(db: aiosqlite.Connection, chain_id: int, tipjar: str, next_block: int) -> None:
    await db.execute(
        "INSERT INTO tip_watch(chain_id, tipjar, next_block) VALUES (?, ?, ?)"
        " ON CONFLICT(chain_id, tipjar) DO UPDATE SET next_block = excluded.next_block",
        (chain_id, tipjar.lower(), next_block),
    )


async def add_block(
    db: aiosqlite.Connection, chain_id: int, tipjar: str, number: int, block_hash: str
) -> None:
    await db.execute(
        "INSERT INTO tip_watch_blocks(chain_id, tipjar, number, hash) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(chain_id, tipjar, number) DO UPDATE SET hash = excluded.hash",
        (chain_id, tipjar.lower(), number, block_hash),
    )


async def blocks(db: aiosqlite.Connection, chain_id: int, tipjar: str) -> list[tuple[int, str]]:
    """The remembered (number, hash) pairs, highest first."""
    async with db.execute(
        "SELECT number, hash FROM tip_watch_blocks WHERE chain_id = ? AND tipjar = ?"
        " ORDER BY number DESC",
        (chain_id, tipjar.lower()),
    ) as cur:
        rows = await cur.fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


async def forget_blocks_from(
    db: aiosqlite.Connection, chain_id: int, tipjar: str, number: int
) -> None:
    """Forget remembered hashes at heights >= ``number`` (after a reorg)."""
    await db.execute(
        "DELETE FROM tip_watch_blocks WHERE chain_id = ? AND tipjar = ? AND number >= ?",
        (chain_id, tipjar.lower(), number),
    )


async def prune_blocks(db: aiosqlite.Connection, chain_id: int, tipjar: str, keep: int) -> None:
    """Keep only the ``keep`` highest remembered hashes."""
    await db.execute(
        "DELETE FROM tip_watch_blocks WHERE chain_id = ? AND tipjar = ? AND number NOT IN"
        " (SELECT number FROM tip_watch_blocks WHERE chain_id = ? AND tipjar = ?"
        "  ORDER BY number DESC LIMIT ?)",
        (chain_id, tipjar.lower(), chain_id, tipjar.lower(), keep),
    )
