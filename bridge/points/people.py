"""Who is who in community points: one person is all their linked accounts.

Accounts that share a wallet are one person (a Telegram reply to one's own Discord message is
not a reply from someone else); an account's points go to its most recently linked wallet.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.store import Store
from bridge.store import links as links_store

if TYPE_CHECKING:
    from bridge.config import PointsSettings

__all__ = ["People", "PointsContext", "bare_name", "person_key"]

# What /points show appends to a display name; taken off again before names are stored.
_SHOWN = re.compile(r" · -?\d+ pts$")


def person_key(platform: str, user_id: str, wallet: str | None) -> str:
    """One person: their wallet when linked (shared by all their linked accounts)."""
    return f"wallet:{wallet.lower()}" if wallet else f"account:{platform}:{user_id}"


def bare_name(display_name: str) -> str:
    """``display_name`` without the points /points show put after it."""
    return _SHOWN.sub("", display_name)


@dataclass(frozen=True, slots=True)
class PointsContext:
    """What every part of the points service shares: settings, the store, the clock."""

    config: PointsSettings
    store_of: Callable[[], Store]
    clock: Callable[[], float] = field(default=time.time)

    @property
    def store(self) -> Store:
        return self.store_of()

    def now(self) -> int:
        return int(self.clock())

    def counts(self, room: str) -> bool:
        return room in self.config.rooms


class People:
    def __init__(self, context: PointsContext) -> None:
        self._context = context

    async def wallet_of(self, platform: str, user_id: str) -> str | None:
        """The wallet an account's points go to: its most recently linked one."""
        wallets = await links_store.wallets_of(self._context.store.db, platform, user_id)
        return max(wallets, key=lambda w: w.linked_at).address if wallets else None

    async def person_of(self, platform: str, user_id: str) -> str:
        return person_key(platform, user_id, await self.wallet_of(platform, user_id))

    async def same_person(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        if a == b:
            return True
        db = self._context.store.db
        mine = {w.address.lower() for w in await links_store.wallets_of(db, *a)}
        if not mine:
            return False
        return any(w.address.lower() in mine for w in await links_store.wallets_of(db, *b))

    async def wallet_map(self) -> dict[tuple[str, str], str]:
        """Every linked account's payout wallet (its most recent link)."""
        latest: dict[tuple[str, str], tuple[int, str]] = {}
        async with self._context.store.db.execute(
            "SELECT platform, user_id, address, linked_at FROM wallet_links"
        ) as cur:
            for row in await cur.fetchall():
                key = (str(row[0]), str(row[1]))
                seen = latest.get(key)
                if seen is None or (int(row[3]), str(row[2])) > seen:
                    latest[key] = (int(row[3]), str(row[2]))
        return {key: address for key, (_, address) in latest.items()}
