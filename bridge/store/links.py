"""Wallet links (migration 0004): which chat accounts proved control of which addresses.

A link keeps the signed EIP-4361 message and the signature verbatim, so it can be re-verified
by anyone at any time. The chat username (migration 0009) is kept
next to the display name, so an account can be found by either (``find_by_name``). Several
wallets per chat account are allowed, and one address may be
linked by several chat accounts (that is how a Telegram and a Discord account are shown to
belong to one person).

The one-time tokens of ``/link`` live here too (table ``link_tokens``): only their sha256 is
stored, each carries the EIP-4361 nonce bound to it, and ``use_token`` spends one atomically.

Like the other store modules, the functions take a connection: ``store.db`` for reads, the one
yielded by ``store.transaction()`` for writes; none commits.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

__all__ = [
    "LinkToken",
    "WalletLink",
    "accounts_of",
    "add",
    "add_token",
    "find_by_name",
    "get_token",
    "prune_tokens",
    "remove",
    "use_token",
    "wallets_of",
]

_COLUMNS = (
    "platform, user_id, display_name, address, chain_id, method, message, signature, linked_at,"
    " username"
)


@dataclass(frozen=True)
class WalletLink:
    platform: str
    user_id: str
    display_name: str
    address: str  # EIP-55 checksummed
    chain_id: int
    method: str  # "eoa" | "eip1271"
    message: str  # the signed EIP-4361 text
    signature: str  # 0x-hex
    linked_at: int  # Unix seconds
    username: str | None = None  # the chat username (no "@"), when the platform has one


def _row(row: aiosqlite.Row) -> WalletLink:
    return WalletLink(
        platform=str(row[0]),
        user_id=str(row[1]),
        display_name=str(row[2]),
        address=str(row[3]),
        chain_id=int(row[4]),
        method=str(row[5]),
        message=str(row[6]),
        signature=str(row[7]),
        linked_at=int(row[8]),
        username=None if row[9] is None else str(row[9]),
    )


async def add(db: aiosqlite.Connection, link: WalletLink) -> None:
    """Store a link; linking the same address again replaces the proof (newest wins)."""
    if link.method not in ("eoa", "eip1271"):
        raise ValueError(f"unknown link method {link.method!r}")
    await db.execute(
        f"INSERT INTO wallet_links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
        " ON CONFLICT(platform, user_id, address) DO UPDATE SET"
        " display_name = excluded.display_name, username = excluded.username,"
        " chain_id = excluded.chain_id,"
        " method = excluded.method, message = excluded.message,"
        " signature = excluded.signature, linked_at = excluded.linked_at",
        (
            link.platform,
            link.user_id,
            link.display_name,
            link.address,
            link.chain_id,
            link.method,
            link.message,
            link.signature,
            link.linked_at,
            link.username,
        ),
    )


async def remove(
    db: aiosqlite.Connection, platform: str, user_id: str, address: str | None = None
) -> int:
    """Remove one link (``address`` given, compared case-insensitively) or all of an account's.

    Returns the number of links removed.
    """
    if address is None:
        cur = await db.execute(
            "DELETE FROM wallet_links WHERE platform = ? AND user_id = ?", (platform, user_id)
        )
    else:
        cur = await db.execute(
            "DELETE FROM wallet_links WHERE platform = ? AND user_id = ?"
            " AND lower(address) = lower(?)",
            (platform, user_id, address),
        )
    removed = max(cur.rowcount, 0)
    await cur.close()
    return removed


async def wallets_of(db: aiosqlite.Connection, platform: str, user_id: str) -> list[WalletLink]:
    """The wallets a chat account linked, oldest link first."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM wallet_links WHERE platform = ? AND user_id = ?"  # noqa: S608
        " ORDER BY linked_at, address",
        (platform, user_id),
    ) as cur:
        rows = await cur.fetchall()
    return [_row(r) for r in rows]


async def accounts_of(db: aiosqlite.Connection, address: str) -> list[WalletLink]:
    """The chat accounts that linked ``address`` (any letter case), oldest link first."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM wallet_links WHERE lower(address) = lower(?)"  # noqa: S608
        " ORDER BY linked_at, platform, user_id",
        (address,),
    ) as cur:
        rows = await cur.fetchall()
    return [_row(r) for r in rows]


async def find_by_name(
    db: aiosqlite.Connection,
    name: str,
    *,
    platform: str | None = None,
    match_user_id: bool = False,
) -> list[WalletLink]:
    """The links of the accounts called ``name``, newest link first.

    An account is called ``name`` when its linked display name or its username equals it,
    case-insensitively; a leading "@" on ``name`` is optional (a display name that itself
    starts with "@" matches too). ``match_user_id`` also accepts an exact user id; ``platform``
    limits the search to one platform.
    """
    bare = name.removeprefix("@")
    where = (
        "(lower(display_name) = lower(?) OR lower(display_name) = lower(?)"
        " OR lower(username) = lower(?)"
    )
    params: list[str] = [bare, "@" + bare, bare]
    if match_user_id:
        where += " OR user_id = ?"
        params.append(bare)
    where += ")"
    if platform is not None:
        where += " AND platform = ?"
        params.append(platform)
    async with db.execute(
        f"SELECT {_COLUMNS} FROM wallet_links WHERE {where}"  # noqa: S608
        " ORDER BY linked_at DESC, platform, user_id, address",
        params,
    ) as cur:
        rows = await cur.fetchall()
    return [_row(r) for r in rows]


@dataclass(frozen=True)
class LinkToken:
    """A pending ``/link`` request: who asked, where, and the nonce their message must carry."""

    token_hash: bytes  # sha256 of the token in the URL
    platform: str
    user_id: str
    display_name: str
    username: str | None
    chat_platform: str
    chat_id: str
    nonce: str
    created_at: int  # Unix seconds
    expires_at: int
    used_at: int | None


_PENDING_COLUMNS = (
    "token_hash, platform, user_id, display_name, username, chat_platform, chat_id, nonce,"
    " created_at, expires_at, used_at"
)


async def add_token(db: aiosqlite.Connection, token: LinkToken) -> None:
    await db.execute(
        f"INSERT INTO link_tokens ({_PENDING_COLUMNS})"  # noqa: S608
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            token.token_hash,
            token.platform,
            token.user_id,
            token.display_name,
            token.username,
            token.chat_platform,
            token.chat_id,
            token.nonce,
            token.created_at,
            token.expires_at,
            token.used_at,
        ),
    )


async def get_token(db: aiosqlite.Connection, token_hash: bytes) -> LinkToken | None:
    async with db.execute(
        f"SELECT {_PENDING_COLUMNS} FROM link_tokens WHERE token_hash = ?",  # noqa: S608
        (token_hash,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return LinkToken(
        token_hash=bytes(row[0]),
        platform=str(row[1]),
        user_id=str(row[2]),
        display_name=str(row[3]),
        username=None if row[4] is None else str(row[4]),
        chat_platform=str(row[5]),
        chat_id=str(row[6]),
        nonce=str(row[7]),
        created_at=int(row[8]),
        expires_at=int(row[9]),
        used_at=None if row[10] is None else int(row[10]),
    )


async def use_token(db: aiosqlite.Connection, token_hash: bytes, nonce: str, now: int) -> bool:
    """Spend a token once: True only for the first caller, with the right nonce, before expiry.

    A single conditional UPDATE, so two concurrent submissions cannot both succeed.
    """
    cur = await db.execute(
        "UPDATE link_tokens SET used_at = ?"
        " WHERE token_hash = ? AND nonce = ? AND used_at IS NULL AND expires_at > ?",
        (now, token_hash, nonce, now),
    )
    spent = cur.rowcount == 1
    await cur.close()
    return spent


async def prune_tokens(db: aiosqlite.Connection, before: int) -> int:
    """Forget tokens that expired before ``before`` (used or not); returns how many."""
    cur = await db.execute("DELETE FROM link_tokens WHERE expires_at < ?", (before,))
    removed = max(cur.rowcount, 0)
    await cur.close()
    return removed
