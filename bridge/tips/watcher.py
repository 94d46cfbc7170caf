"""The chain watcher: follows TipJar ``Tipped`` events and announces confirmed tips.

- Polls ``eth_getLogs`` up to ``head − confirmations`` in ranges of at most ``range_size``
  (2,000) blocks; only blocks that deep are ever read, so a tip is announced only once final,
  and a tip reorged out before reaching that depth is never seen at all.
- Persists, per range and in one transaction, the events (keyed by ``(tx_hash, log_index)``,
  so each is processed once, across restarts too), the next block to read, and the hash of the
  range's last block. Before each poll the newest remembered hash is compared with the chain;
  on a mismatch (a reorg deeper than ``confirmations``) it walks back to the newest block that
  still matches and re-reads from there. Nothing is un-announced; re-read events that were
  already processed are skipped by their key.
- Matches ``ref`` to tip intents (marks them paid). The room of the intent's chat sees
  "alice tipped bob 0.01 ETH — memo" and the recipient is told privately. A tip that was not
  made through an intent but reaches a linked wallet, in ETH or a configured token, is told
  privately to every chat account linked to that wallet, and announced in the chat where that
  address was last tipped through an intent (if any). Tips in other tokens are recorded but
  not announced (anyone can mint a fake "USDC").
- Announcements happen after the range is committed (``tips.announced`` marks them done), so a
  crash between the two re-sends at most the announcements that were in flight.
- Open intents past their expiry are marked expired on every poll. Malformed logs are logged
  and skipped; RPC failures are logged and retried on the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import aiosqlite

from bridge.model import ChatId, ChatRef, Platform, UserId
from bridge.notify import Notifier
from bridge.store import Store
from bridge.store import links as links_store
from bridge.store import tips as tips_store
from bridge.store.tips import StoredTip
from bridge.tasks import cancel_and_wait
from bridge.tips.abi import MalformedLog, TippedEvent, decode_tipped, tipped_topic, to_checksum
from bridge.tips.amounts import format_amount
from bridge.tips.rpc import RpcClient
from bridge.tips.service import short_address
from bridge.tips.tokens import TokenError, Tokens

__all__ = ["MAX_RANGE", "TipWatcher"]

log = logging.getLogger(__name__)

MAX_RANGE = 2000
KEEP_BLOCKS = 64


class TipWatcher:
    name = "tips"

    def __init__(
        self,
        store: Store | Callable[[], Store],
        rpc: RpcClient,
        notifier: Notifier,
        *,
        chain_id: int,
        tipjar: str,
        confirmations: int,
        tokens: Tokens,
        explorer_tx_url: str | None = None,
        start_block: int | None = None,
        range_size: int = MAX_RANGE,
        poll_interval: float = 4.0,
        keep_blocks: int = KEEP_BLOCKS,
        clock: Callable[[], float] = time.time,
        owns_rpc: bool = False,
    ) -> None:
        if not 1 <= range_size <= MAX_RANGE:
            raise ValueError(f"range_size must be 1..{MAX_RANGE}")
        self._store = store
        self._rpc = rpc
        self._notifier = notifier
        self.chain_id = chain_id
        self.tipjar = to_checksum(tipjar)
        self.confirmations = max(0, confirmations)
        self._tokens = tokens
        self._explorer = explorer_tx_url
        self._start_block = start_block
        self._range = range_size
        self._interval = poll_interval
        self._keep = max(2, keep_blocks)
        self._clock = clock
        self._owns_rpc = owns_rpc
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.last_error: str | None = None
        self.last_poll: float | None = None
        self.next_block: int | None = None
        self.safe_head: int | None = None

    @property
    def store(self) -> Store:
        return self._store if isinstance(self._store, Store) else self._store()

    # --- component -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="tip-watcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._owns_rpc:
            await self._rpc.close()

    def health(self) -> bool:
        return self._task is not None and not self._task.done() and self.last_error is None

    def wake(self) -> None:
        """Poll now (e.g. a websocket subscription saw a new head)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("tip watcher poll failed: %s", self.last_error)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()

    # --- one poll --------------------------------------------------------------------------

    async def poll_once(self, max_ranges: int | None = None) -> int:
        """Read every final block not yet read (at most ``max_ranges`` ranges), announce what
        was found, sweep expired intents; returns the number of new events recorded."""
        async with self._lock:
            found = 0
            head = await self._rpc.block_number()
            safe = head - self.confirmations
            self.safe_head = safe
            next_block = await self._cursor(safe)
            if next_block is not None:
                next_block = await self._check_reorg(next_block)
                ranges = 0
                while next_block <= safe and (max_ranges is None or ranges < max_ranges):
                    to_block = min(safe, next_block + self._range - 1)
                    read = await self._read_range(next_block, to_block)
                    if read is None:
                        break  # the chain moved under us: retry on the next poll
                    found += read
                    next_block = to_block + 1
                    ranges += 1
                self.next_block = next_block
            await self._announce_pending()
            async with self.store.transaction() as db:
                await tips_store.expire_intents(db, int(self._clock()))
            self.last_error = None
            self.last_poll = self._clock()
            return found

    async def _cursor(self, safe: int) -> int | None:
        stored = await tips_store.cursor(self.store.db, self.chain_id, self.tipjar)
        if stored is not None:
            return stored
        if safe < 0 and self._start_block is None:
            return None
        first = self._start_block if self._start_block is not None else safe + 1
        async with self.store.transaction() as db:
            await tips_store.set_cursor(db, self.chain_id, self.tipjar, first)
        log.info("tip watcher starts at block %d", first)
        return first

    async def _check_reorg(self, next_block: int) -> int:
        remembered = await tips_store.blocks(self.store.db, self.chain_id, self.tipjar)
        if not remembered:
            return next_block
        newest_number, newest_hash = remembered[0]
        if await self._rpc.block_hash(newest_number) == newest_hash:
            return next_block
        resume: int | None = None
        for number, block_hash in remembered[1:]:
            if await self._rpc.block_hash(number) == block_hash:
                resume = number + 1
                break
        if resume is None:
            # Deeper than we remember: re-read the whole remembered window, and one range more.
            resume = max(0, remembered[-1][0] - self._range)
        log.warning(
            "chain reorganisation below block %d: re-reading from block %d",
            newest_number,
            resume,
        )
        async with self.store.transaction() as db:
            await tips_store.forget_blocks_from(db, self.chain_id, self.tipjar, resume)
            await tips_store.set_cursor(db, self.chain_id, self.tipjar, resume)
        return resume

    async def _read_range(self, from_block: int, to_block: int) -> int | None:
        before = await self._rpc.block_hash(to_block)
        raw_logs = await self._rpc.get_logs(self.tipjar, tipped_topic(), from_block, to_block)
        after = await self._rpc.block_hash(to_block)
        if before is None or before != after:
            log.info("block %d changed while reading logs; retrying", to_block)
            return None
        events: list[TippedEvent] = []
        for raw in raw_logs:
            try:
                event = decode_tipped(raw, self.tipjar)
            except MalformedLog as exc:
                log.warning("skipping a malformed TipJar log: %s", exc)
                continue
            if not from_block <= event.block_number <= to_block:
                log.warning("skipping a log outside the range asked for (%d)", event.block_number)
                continue
            if event.block_number == to_block and event.block_hash != after:
                log.info("a log of block %d is from another fork; retrying", to_block)
                return None
            events.append(event)
        events.sort(key=lambda e: (e.block_number, e.log_index))
        labels = [await self._token_label(e.token) for e in events]
        new = 0
        async with self.store.transaction() as db:
            for event, label in zip(events, labels, strict=True):
                if await self._record(db, event, label):
                    new += 1
            await tips_store.add_block(db, self.chain_id, self.tipjar, to_block, after)
            await tips_store.prune_blocks(db, self.chain_id, self.tipjar, self._keep)
            await tips_store.set_cursor(db, self.chain_id, self.tipjar, to_block + 1)
        return new

    async def _token_label(self, token: str | None) -> tuple[str, int] | None:
        """(symbol, decimals) for ETH and configured tokens; None for any other token."""
        if not self._tokens.is_configured(token):
            return None
        try:
            info = await self._tokens.info(token)
        except TokenError as exc:
            log.warning("cannot read configured token %s: %s", token, exc)
            return None
        return info.symbol, info.decimals

    async def _record(
        self, conn: aiosqlite.Connection, event: TippedEvent, label: tuple[str, int] | None
    ) -> bool:
        now = int(self._clock())
        intent = await tips_store.get_intent(conn, event.ref)
        matched = (
            intent is not None
            and intent.status != "paid"
            and intent.chain_id == self.chain_id
            and intent.tipjar.lower() == self.tipjar.lower()
            and intent.recipient_address.lower() == event.recipient.lower()
            and (intent.token or "").lower() == (event.token or "").lower()
        )
        chat: tuple[str, str] | None = None
        announce = False
        symbol: str | None
        decimals: int | None
        if matched and intent is not None:
            symbol, decimals = intent.symbol, intent.decimals
            tipper, recipient = intent.tipper_name, intent.recipient_name
            chat = (intent.chat_platform, intent.chat_id)
            announce = True
        else:
            intent = None
            symbol, decimals = label if label is not None else (None, None)
            senders = await links_store.accounts_of(conn, event.sender)
            receivers = await links_store.accounts_of(conn, event.recipient)
            tipper = senders[-1].display_name if senders else short_address(event.sender)
            recipient = receivers[-1].display_name if receivers else short_address(event.recipient)
            if label is not None and receivers:
                announce = True
                chat = await tips_store.last_chat_of_recipient(conn, event.recipient)
        tip = StoredTip(
            tx_hash=event.tx_hash,
            log_index=event.log_index,
            tipjar=self.tipjar,
            block_number=event.block_number,
            block_hash=event.block_hash,
            sender=event.sender,
            recipient=event.recipient,
            token=event.token,
            amount=event.amount,
            symbol=symbol,
            decimals=decimals,
            ref=event.ref,
            tipper_name=tipper,
            recipient_name=recipient,
            intent_id=None if intent is None else intent.id,
            chat_platform=None if chat is None else chat[0],
            chat_id=None if chat is None else chat[1],
            seen_at=now,
            announced=not announce,
        )
        inserted = await tips_store.add_tip(conn, tip)
        if inserted and intent is not None:
            await tips_store.mark_paid(conn, intent.id, event.tx_hash, now)
        return inserted

    # --- announcements ---------------------------------------------------------------------

    def _tx_text(self, tx_hash: str) -> str:
        if self._explorer:
            return self._explorer.replace("{tx}", tx_hash)
        return f"tx {tx_hash}"

    async def _announce_pending(self) -> None:
        for tip in await tips_store.unannounced(self.store.db):
            try:
                await self._announce(tip)
            except Exception:
                log.exception("announcing tip %s:%d failed", tip.tx_hash, tip.log_index)
                return  # keep the order; retry on the next poll
            async with self.store.transaction() as db:
                await tips_store.mark_announced(db, tip.tx_hash, tip.log_index)

    async def _announce(self, tip: StoredTip) -> None:
        if tip.symbol is None or tip.decimals is None:
            return
        amount = f"{format_amount(tip.amount, tip.decimals)} {tip.symbol}"
        memo = ""
        users: list[tuple[Platform, str]] = []
        if tip.intent_id is not None:
            intent = await tips_store.get_intent(self.store.db, tip.intent_id)
            if intent is not None:
                memo = intent.memo
                if intent.recipient_platform and intent.recipient_user_id:
                    users.append((_platform(intent.recipient_platform), intent.recipient_user_id))
        if not users:
            for link in await links_store.accounts_of(self.store.db, tip.recipient):
                if link.platform and (link.platform, link.user_id) not in users:
                    users.append((_platform(link.platform), link.user_id))
        suffix = f" — {memo}" if memo else ""
        tx = self._tx_text(tip.tx_hash)
        if tip.chat_platform and tip.chat_id is not None:
            chat = ChatRef(_platform(tip.chat_platform), ChatId(tip.chat_id))
            text = f"{tip.tipper_name} tipped {tip.recipient_name} {amount}{suffix}\n{tx}"
            await self._notifier.announce_room(chat, text)
        private = f"You received {amount} from {tip.tipper_name}{suffix}\n{tx}"
        for platform, user_id in users:
            try:
                await self._notifier.tell_user(platform, UserId(user_id), private)
            except Exception:
                log.warning("could not tell %s:%s about a tip", platform, user_id)


def _platform(value: str | None) -> Platform:
    if not value:
        raise ValueError(f"unknown platform {value!r}")
    return value
