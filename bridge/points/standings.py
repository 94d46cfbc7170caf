"""Reading the points: who stands where, in a room or everywhere, people merged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bridge.model import Author
from bridge.points.people import People, PointsContext, bare_name, person_key
from bridge.store import points as points_store

__all__ = ["Standing", "Standings"]


@dataclass(frozen=True, slots=True)
class Standing:
    """A person's points in one room (or everywhere when ``room`` is None)."""

    name: str
    accounts: tuple[tuple[str, str], ...]
    wallet: str | None
    cycle_points: int
    total_points: int
    rank: int | None  # in this cycle, among people with points
    ranked: int


class Standings:
    def __init__(
        self, context: PointsContext, people: People, refresh: Callable[[], Awaitable[int]]
    ) -> None:
        self._context = context
        self._people = people
        # Brings the ledger up to date before it is read (confirmed tips are credited lazily).
        self._refresh = refresh

    async def standings(self, room: str | None) -> list[Standing]:
        """Everyone with points in ``room`` (or anywhere), people merged, best first."""
        await self._refresh()
        db = self._context.store.db
        cycle = await points_store.current_cycle(db)
        total = await points_store.totals(db, room=room)
        current = await points_store.totals(db, room=room, cycle=cycle)
        names = await points_store.account_names(db)
        wallets = await self._people.wallet_map()
        people: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for account in total:
            people[person_key(*account, wallets.get(account))].append(account)
        found: list[Standing] = []
        for accounts in people.values():
            accounts.sort()
            name = next((names[a] for a in accounts if a in names), f"{accounts[0][1]}")
            found.append(
                Standing(
                    name=name,
                    accounts=tuple(accounts),
                    wallet=wallets.get(accounts[0]),
                    cycle_points=sum(current.get(a, 0) for a in accounts),
                    total_points=sum(total[a] for a in accounts),
                    rank=None,
                    ranked=0,
                )
            )
        found.sort(key=lambda s: (-s.cycle_points, -s.total_points, s.name.lower()))
        ranked = [s for s in found if s.cycle_points > 0]
        order = {id(s): i + 1 for i, s in enumerate(ranked)}
        return [replace(s, rank=order.get(id(s)), ranked=len(ranked)) for s in found]

    async def standing_of(self, room: str | None, account: tuple[str, str]) -> Standing:
        names = await points_store.account_names(self._context.store.db)
        name = names.get(account, account[1])
        for standing in await self.standings(room):
            if account in standing.accounts:
                return replace(standing, name=name)  # as the asker knows them
        return Standing(name, (account,), await self._people.wallet_of(*account), 0, 0, None, 0)

    async def shown_name(self, author: Author) -> Author:
        """``author`` with their points after the name, if they asked for it (/points show)."""
        db = self._context.store.db
        account = (author.platform, str(author.user_id))
        if not await points_store.show_points(db, *account):
            return author
        total = await points_store.account_total(db, *account)
        return replace(author, display_name=f"{bare_name(author.display_name)} · {total} pts")
