"""Closing a cycle, publishing its root, and watching claims.

Closing is a small state machine that survives a restart at any step:

1. One transaction fixes the cycle: each linked account's points not yet handed to a wallet
   go to its payout wallet, on top of every wallet's cumulative amount of the previous cycle
   (so a wallet's amount never goes down, a missed claim stays claimable, and relinking to
   another wallet moves only unpaid points). The claims, the root, the CID and the cycle row
   (status ``closing``) are committed together; entries made afterwards belong to the next
   cycle.
2. The canonical JSON is written to ``<data_dir>/points/cycles/<n>.json``; if it is missing
   or damaged it is rebuilt from the stored claims (the same bytes, checked by CID).
3. The publisher sends ``publishRoot(n, root)`` with the operator key and keeps the tx hash.
4. Once ``RootPublished(n)`` with our root is ``confirmations`` deep, the cycle is
   ``published`` and announced. A transaction lost in a reorg is sent again; a root already on
   chain (a restart after sending) is recognised, never sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.points.cycle import write_document
from bridge.points.merkle import ClaimTree, claim_leaf
from bridge.store import kv
from bridge.store import links as links_store
from bridge.store import points as points_store
from bridge.store.points import Cycle
from bridge.tasks import cancel_and_wait
from bridge.tips.amounts import format_amount
from crypto.keccak import keccak256

if TYPE_CHECKING:
    from bridge.config import PointsSettings
    from bridge.points.chain import DistributorChain
    from bridge.points.service import PointsService

__all__ = ["ClaimBook", "CloseRefused", "Closed", "CycleManager", "claim_calldata"]

log = logging.getLogger(__name__)

CLAIMS_CURSOR = "points.claims.next_block"
MAX_LOG_RANGE = 2000

Announce = Callable[[str], Awaitable[None]]


class CloseRefused(Exception):
    """The cycle cannot be closed now; the message says why, for the admin."""


@dataclass(frozen=True, slots=True)
class Closed:
    cycle: int
    root: str
    cid: str
    members: int
    total_points: int
    url: str
    warning: str | None


class CycleManager:
    def __init__(
        self,
        service: PointsService,
        config: PointsSettings,
        directory: Path,
        *,
        chain: DistributorChain | None = None,
        confirmations: int = 3,
        announce: Announce | None = None,
        poll_interval: float = 4.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.config = config
        self.directory = directory
        self.chain = chain
        self.confirmations = confirmations
        self._announce = announce
        self._poll = poll_interval
        self._clock = clock
        self._lock = asyncio.Lock()
        self._build_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.problem: str | None = None
        self._symbol: str | None = None

    @property
    def unit(self) -> int:
        return int(10 ** int(self.config.token_decimals))

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._make_directory()
        for cycle in await points_store.cycles(self.service.store.db):
            await self.document(cycle.cycle)  # rebuild what a crash left unwritten
        self._task = asyncio.create_task(self._run(), name="points-cycles")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.chain is not None:
            await self.chain.close()

    def health(self) -> bool:
        return self.problem is None and (self._task is None or not self._task.done())

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.problem = f"{type(exc).__name__}: {exc}"
                log.exception("points: publishing or watching failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()

    async def step(self) -> None:
        """One round: auto-close when due, publish what is pending, read new claims. A
        problem found in an earlier round shows until a round runs without it."""
        self.problem = None
        await self._auto_close()
        if self.chain is not None:
            await self.publish_pending()
            await self.watch_claims()

    # --- closing --------------------------------------------------------------------------

    async def close(self, actor: str) -> Closed:
        async with self._lock:
            return await self._close(actor)

    async def _close(self, actor: str) -> Closed:
        token = self.config.token
        if token is None:
            raise CloseRefused(
                "Set [points] token (and distributor) first: the list names the token it pays."
            )
        store = self.service.store
        pending = await points_store.cycles(store.db, status="closing")
        if pending:
            first = pending[0]
            raise CloseRefused(
                f"Cycle {first.cycle} is still being published on chain (root {first.root})."
                " Close the next one once it is confirmed; see /cycle status."
            )
        await self.service.ingest_tips()
        wallets = await self.service.wallet_map()
        now = int(self._clock())
        async with store.transaction() as db:
            n = await points_store.current_cycle(db)
            earned = await points_store.totals(db)
            handed = await points_store.allocated(db)
            previous = await points_store.claims_of(db, n - 1) if n > 1 else {}
            cumulative = dict(previous)
            moved: list[tuple[str, str, int]] = []
            for account, total in sorted(earned.items()):
                wallet = wallets.get(account)
                delta = total - handed.get(account, 0)
                if wallet is None or delta <= 0:
                    continue
                cumulative[wallet] = cumulative.get(wallet, 0) + delta
                moved.append((*account, total))
            if not cumulative:
                raise CloseRefused(
                    "No member with a linked wallet has points yet: there is nothing to publish."
                    " (Points of unlinked members wait for their /link.)"
                )
            if cumulative == previous:
                raise CloseRefused(
                    f"Nothing new since cycle {n - 1}: no linked member earned points, so the"
                    " root would be the same. The cycle stays open."
                )
            # The claims are fixed here; the tree and the file are built after the commit, off
            # the event loop and outside the store's lock (seconds for 100,000 wallets). A
            # crash in between leaves an empty root that ``document`` fills in on restart.
            cycle = Cycle(
                cycle=n,
                status="closing",
                root="",
                cid="",
                token=token,
                distributor=self.config.distributor,
                members=len(cumulative),
                total=sum(cumulative.values()) * self.unit,
                closed_by=actor,
                closed_at=now,
                tx_hash=None,
                published_block=None,
                published_at=None,
            )
            await points_store.insert_cycle(db, cycle, sorted(cumulative.items()))
            await points_store.set_allocated(db, moved)
        path = await self.document(n)
        row = await points_store.get_cycle(store.db, n)
        assert path is not None and row is not None
        self.wake()
        return Closed(
            cycle=n,
            root=row.root,
            cid=row.cid,
            members=len(cumulative),
            total_points=sum(cumulative.values()),
            url=self.list_url(n),
            warning=await self.funding_warning(sum(cumulative.values()) * self.unit),
        )

    def list_url(self, cycle: int) -> str:
        return f"{self.service.public_url}/points/cycles/{cycle}.json"

    async def funding_warning(self, total: int) -> str | None:
        """A clear note when the distributor holds less than members can now claim."""
        if self.chain is None:
            return "No [chain] rpc_url or [points] distributor: the root cannot be published."
        try:
            balance, claimed = await self.chain.funds()
        except Exception as exc:
            return f"Could not read the distributor's balance ({type(exc).__name__})."
        owed = total - claimed
        if balance >= owed:
            return None
        symbol = await self.symbol()
        return (
            f"The distributor holds {format_amount(balance, self.config.token_decimals)} {symbol}"
            f" but members can claim {format_amount(owed, self.config.token_decimals)}: send it"
            f" {format_amount(owed - balance, self.config.token_decimals)} more {symbol}"
            f" ({self.chain.address}); until then claims are refused and nothing is lost."
        )

    async def symbol(self) -> str:
        if self._symbol is None:
            try:
                assert self.chain is not None
                self._symbol = str(await self.chain.token.functions.symbol().call())[:12]
            except Exception:
                return "tokens"
        return self._symbol

    def _make_directory(self) -> None:
        # mkdir(parents=True) would give the parents the umask's mode: create each one private.
        for directory in (*reversed(self.directory.parents[:2]), self.directory):
            directory.mkdir(exist_ok=True, mode=0o700)

    def _path(self, cycle: int) -> Path:
        return self.directory / f"{cycle}.json"

    async def document(self, cycle: int) -> Path | None:
        """The file of a closed cycle's list; built from the stored claims when missing (after
        the close, or a crash), and checked against the recorded CID."""
        store = self.service.store
        row = await points_store.get_cycle(store.db, cycle)
        if row is None:
            return None
        path = self._path(cycle)
        if row.cid and path.is_file() and path.stat().st_size > 0:
            return path
        async with self._build_lock:
            row = await points_store.get_cycle(store.db, cycle)
            assert row is not None
            if row.cid and path.is_file() and path.stat().st_size > 0:
                return path
            claims = await points_store.claims_of(store.db, cycle)
            amounts = {w: p * self.unit for w, p in claims.items()}
            self._make_directory()
            root, cid = await asyncio.to_thread(write_document, path, cycle, row.token, amounts)
            if row.cid and (root, cid) != (row.root, row.cid):
                path.unlink(missing_ok=True)
                raise RuntimeError(f"cycle {cycle}: the stored claims no longer give its CID")
            if not row.cid:
                async with store.transaction() as db:
                    await points_store.set_root(db, cycle, root, cid)
            else:
                log.warning("points: rebuilt the list of cycle %d (%s)", cycle, cid)
        return path

    async def _auto_close(self) -> None:
        if self.config.cycle_days <= 0 or self.config.token is None:
            return
        db = self.service.store.db
        closed = await points_store.cycles(db)
        if closed:
            since = closed[-1].closed_at
        else:
            async with db.execute("SELECT MIN(created_at) FROM points_entries") as cur:
                row = await cur.fetchone()
            if row is None or row[0] is None:
                return
            since = int(row[0])
        if self._clock() - since < self.config.cycle_days * 86400:
            return
        try:
            done = await self.close("system")
        except CloseRefused as exc:
            log.info("points: the cycle stays open: %s", exc)
            return
        await self._say(
            f"Cycle {done.cycle} closed: {done.members} wallets, root {done.root}. List: {done.url}"
        )

    # --- publishing -----------------------------------------------------------------------

    async def publish_pending(self) -> None:
        assert self.chain is not None
        store = self.service.store
        for cycle in await points_store.cycles(store.db, status="closing"):
            if not cycle.cid:
                await self.document(cycle.cycle)  # a close cut short: finish the list first
                return
            head = await self.chain.head()
            on_chain, _ = await self.chain.state()
            if on_chain >= cycle.cycle:
                event = await self.chain.root_event(cycle.cycle, head)
                if event is None:
                    return
                if event.root != cycle.root:
                    self.problem = (
                        f"cycle {cycle.cycle} on chain has root {event.root}, not this bridge's"
                        f" {cycle.root}: was the operator key used elsewhere?"
                    )
                    log.error("points: %s", self.problem)
                    return
                safe = head - self.confirmations
                if event.block > safe or (await self.chain.state(safe))[0] < cycle.cycle:
                    return  # not deep enough yet
                async with store.transaction() as db:
                    await points_store.mark_published(
                        db, cycle.cycle, event.tx_hash, event.block, int(self._clock())
                    )
                self.problem = None
                await self._say(
                    f"Cycle {cycle.cycle} is on chain (root {cycle.root}). Claim your points at"
                    f" {self.service.public_url}/points/claim — list {self.list_url(cycle.cycle)}"
                    f" (CID {cycle.cid})."
                )
                continue
            if on_chain < cycle.cycle - 1:
                self.problem = (
                    f"the distributor is at cycle {on_chain}, but this bridge publishes cycle"
                    f" {cycle.cycle}: is [points] distributor the right contract?"
                )
                log.error("points: %s", self.problem)
                return
            if cycle.tx_hash is not None and await self.chain.tx_known(cycle.tx_hash):
                return  # pending, or mined and not yet visible
            if cycle.tx_hash is not None:
                log.warning(
                    "points: the root of cycle %d (tx %s) is not on chain any more: resending",
                    cycle.cycle,
                    cycle.tx_hash,
                )
            try:
                tx_hash = await self.chain.publish(cycle.cycle, cycle.root)
            except Exception as exc:
                self.problem = f"publishing cycle {cycle.cycle} failed: {_reason(exc)}"
                log.error("points: %s", self.problem)
                return
            async with store.transaction() as db:
                await points_store.set_tx(db, cycle.cycle, tx_hash)
            return

    # --- claims ---------------------------------------------------------------------------

    async def watch_claims(self) -> int:
        """Record and announce ``Claimed`` events at the confirmation depth."""
        assert self.chain is not None
        store = self.service.store
        safe = await self.chain.head() - self.confirmations
        start = await kv.get_int(store.db, CLAIMS_CURSOR)
        if start is None:
            # No claim can precede the first root this bridge published.
            published = [
                c.published_block
                for c in await points_store.cycles(store.db)
                if c.published_block is not None
            ]
            start = min(published) if published else max(safe + 1, 0)
            async with store.transaction() as db:
                await kv.set(db, CLAIMS_CURSOR, start)
        seen = 0
        while start <= safe:
            end = min(safe, start + MAX_LOG_RANGE - 1)
            events = await self.chain.claimed_events(start, end)
            async with store.transaction() as db:
                for event in events:
                    cur = await db.execute(
                        "INSERT OR IGNORE INTO points_claim_events (tx_hash, log_index,"
                        " distributor, block_number, account, amount, seen_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            event.tx_hash,
                            event.log_index,
                            self.chain.address,
                            event.block,
                            event.account,
                            str(event.amount),
                            int(self._clock()),
                        ),
                    )
                    seen += max(cur.rowcount, 0)
                    await cur.close()
                await kv.set(db, CLAIMS_CURSOR, end + 1)
            start = end + 1
        await self._announce_claims()
        return seen

    async def _announce_claims(self) -> None:
        store = self.service.store
        async with store.db.execute(
            "SELECT tx_hash, log_index, account, amount FROM points_claim_events"
            " WHERE announced = 0 ORDER BY block_number, log_index"
        ) as cur:
            rows = await cur.fetchall()
        for tx_hash, log_index, account, amount in rows:
            accounts = await links_store.accounts_of(store.db, str(account))
            name = accounts[-1].display_name if accounts else f"{account[:6]}…{account[-4:]}"
            shown = format_amount(int(amount), self.config.token_decimals)
            await self._say(f"{name} claimed {shown} {await self.symbol()} (tx {tx_hash}).")
            async with store.transaction() as db:
                await db.execute(
                    "UPDATE points_claim_events SET announced = 1"
                    " WHERE tx_hash = ? AND log_index = ?",
                    (tx_hash, log_index),
                )

    async def _say(self, text: str) -> None:
        if self._announce is not None:
            try:
                await self._announce(text)
            except Exception:
                log.exception("points: announcing failed")


def _reason(exc: Exception) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        from contracts import load_artifact

        return f"{_error_name(data, load_artifact('PointsDistributor').abi)} ({data[:10]})"
    return f"{type(exc).__name__}: {exc}"[:300]


def _error_name(data: str, abi: list[dict[str, object]]) -> str:
    for item in abi:
        if item.get("type") != "error":
            continue
        inputs = item.get("inputs")
        types = ",".join(str(i["type"]) for i in inputs) if isinstance(inputs, list) else ""
        signature = f"{item['name']}({types})"
        if keccak256(signature.encode())[:4].hex() == data[2:10]:
            return signature
    return "a revert"


# --- the claim page's view ----------------------------------------------------------------------

CLAIM_SELECTOR = "0x" + keccak256(b"claim(address,uint256,bytes32[])")[:4].hex()


def claim_calldata(account: str, amount: int, proof: list[bytes]) -> str:
    """ABI calldata of ``claim(account, amount, proof)``."""
    words = [
        bytes(12) + bytes.fromhex(account[2:]),
        amount.to_bytes(32, "big"),
        (96).to_bytes(32, "big"),  # the offset of the dynamic array: after three head words
        len(proof).to_bytes(32, "big"),
        *proof,
    ]
    return CLAIM_SELECTOR + b"".join(words).hex()


class ClaimBook:
    """Proofs of the latest published cycle, read off one in-memory tree (O(log n) each)."""

    def __init__(self, manager: CycleManager) -> None:
        self._manager = manager
        self._cached: tuple[int, ClaimTree, dict[str, tuple[str, int]]] | None = None

    async def latest(self) -> Cycle | None:
        published = await points_store.cycles(self._manager.service.store.db, status="published")
        return published[-1] if published else None

    async def lookup(self, address: str) -> tuple[Cycle, str, int, list[bytes]] | None:
        """(cycle, EIP-55 address, cumulative base units, proof) of ``address``, or None."""
        cycle = await self.latest()
        if cycle is None:
            return None
        if self._cached is None or self._cached[0] != cycle.cycle:
            claims = await points_store.claims_of(self._manager.service.store.db, cycle.cycle)
            unit = self._manager.unit
            amounts = {w.lower(): (w, p * unit) for w, p in claims.items()}
            leaves = [(w, a) for w, a in amounts.values()]
            tree = await asyncio.to_thread(lambda: ClaimTree([claim_leaf(*x) for x in leaves]))
            self._cached = (cycle.cycle, tree, amounts)
        _, tree, amounts = self._cached
        found = amounts.get(address.lower())
        if found is None:
            return None
        wallet, amount = found
        return cycle, wallet, amount, tree.proof(claim_leaf(wallet, amount))
