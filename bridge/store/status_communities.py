"""The ``status_communities`` table (migration 0030): per community, the newest verified
description and the bridge's requests to join. Functions take a connection, like the other
store modules; ``StoredCommunities`` is the handle the Waku transport's ``Communities`` gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiosqlite

if TYPE_CHECKING:
    from bridge.store import Store

__all__ = ["CommunityRow", "StoredCommunities", "get", "put"]


@dataclass(frozen=True, slots=True)
class CommunityRow:
    community_id: str
    clock: int = 0
    description: bytes | None = None
    first_request_at: float | None = None
    last_request_at: float | None = None
    requests: int = 0
    was_member: bool = False


async def get(db: aiosqlite.Connection, community_id: str) -> CommunityRow | None:
    async with db.execute(
        "SELECT clock, description, first_request_at, last_request_at, requests, was_member"
        " FROM status_communities WHERE community_id = ?",
        (community_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return CommunityRow(
        community_id=community_id,
        clock=int(row[0]),
        description=None if row[1] is None else bytes(row[1]),
        first_request_at=None if row[2] is None else float(row[2]),
        last_request_at=None if row[3] is None else float(row[3]),
        requests=int(row[4]),
        was_member=bool(row[5]),
    )


_PUT = (
    "INSERT INTO status_communities(community_id, clock, description, first_request_at,"
    " last_request_at, requests, was_member, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(community_id) DO UPDATE SET clock = excluded.clock,"
    " description = excluded.description, first_request_at = excluded.first_request_at,"
    " last_request_at = excluded.last_request_at, requests = excluded.requests,"
    " was_member = excluded.was_member, updated_at = excluded.updated_at"
)


def _put_parameters(row: CommunityRow, now: float) -> tuple[Any, ...]:
    return (
        row.community_id,
        row.clock,
        row.description,
        row.first_request_at,
        row.last_request_at,
        row.requests,
        int(row.was_member),
        now,
    )


async def put(db: aiosqlite.Connection, row: CommunityRow, now: float) -> None:
    await db.execute(_PUT, _put_parameters(row, now))


class StoredCommunities:
    """The rows of the communities a platform's rooms are in, and nothing else of the store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, community_id: str) -> CommunityRow | None:
        return await get(self._store.db, community_id)

    async def put(self, row: CommunityRow, now: float) -> None:
        # One self-committing statement, as the transaction around it held only this one.
        await self._store.write(_PUT, _put_parameters(row, now))
