"""Durable delivery: one worker per target chat takes that chat's outbox rows in order and
carries each out through the target's adapter, with retries, backoff, pacing and idempotency.

Guarantees (see README, "Delivery guarantees"):
- a row is marked delivered only after the adapter returned, in the same transaction that
  records the native id in the id map; a restart never repeats what the store calls delivered;
- an attempt is recorded as ``sending`` before the adapter is called, so after a crash the
  in-doubt sends are known: the adapter's ``recover`` is asked whether the platform already
  has the message (by idempotency key) before sending again;
- within one target, rows are delivered in the order they were recorded: a row waiting for a
  retry holds back the rows behind it (an edit never overtakes its original);
- one slow or rate-limited target never holds back another.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bridge.model import (
    Adapter,
    ChatRef,
    Delivery,
    DeliveryKind,
    Feature,
    MessageId,
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    Platform,
    RetryableError,
)
from bridge.store import Store, messages, outbox_rows, parts
from bridge.store.messages import StoredMessage
from bridge.store.outbox_rows import OutboxRow
from bridge.tasks import cancel_and_wait

__all__ = [
    "DEFAULT_PACING",
    "SYSTEM_CLOCK",
    "Clock",
    "Outbox",
    "OutboxMetrics",
    "OutboxPolicy",
    "Pace",
]

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Time as the outbox sees it; tests substitute a clock they advance by hand."""

    def now(self) -> float:
        """Seconds since the Unix epoch (stored in rows, so it must survive a restart)."""
        ...

    async def sleep_until(self, when: float) -> None:
        """Return once ``now() >= when`` (an absolute time, so a late start cannot stretch it)."""
        ...


class _SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.time()))


SYSTEM_CLOCK: Clock = _SystemClock()


class OutboxMetrics(Protocol):
    """Hooks for counters and gauges (``bridge.metrics`` implements them for Prometheus)."""

    def delivered(self, platform: Platform, kind: DeliveryKind) -> None: ...
    def retried(self, platform: Platform, kind: DeliveryKind) -> None: ...
    def failed(self, platform: Platform, kind: DeliveryKind) -> None: ...
    def depth(self, open_rows: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Pace:
    """At most ``count`` calls per ``per`` seconds to one target chat (a token bucket)."""

    count: int
    per: float


# No pacing unless asked: each platform declares its documented per-chat limit in its spec
# (``PlatformSpec.pacing``), and the relay passes them all in.
DEFAULT_PACING: Mapping[Platform, Pace] = {}


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    max_attempts: int = 12
    """Failed attempts (disconnected time not counted) before a row is failed."""
    max_age: float = 24 * 3600.0
    """Seconds after which an undelivered row is failed, however few its attempts."""
    base_delay: float = 1.0
    max_delay: float = 300.0
    disconnected_poll: float = 1.0
    """How often to look again at an adapter that is missing or disconnected."""
    batch: int = 64
    retention: float | None = 30 * 24 * 3600.0
    """Seconds to keep delivered messages and their id map (None: forever)."""
    prune_every: float = 3600.0

    def backoff(self, attempts: int, rng: random.Random) -> float:
        # "Equal jitter": at least half the exponential delay, so retries spread out without
        # ever coming back almost at once.
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempts - 1))
        return delay / 2 + rng.uniform(0, delay / 2)


_MESSAGE_CACHE = 4096
_READ_MARGIN = 60.0

_NEEDS: dict[DeliveryKind, Feature] = {
    "send": Feature.NONE,
    "edit": Feature.EDIT,
    "delete": Feature.DELETE,
    "react": Feature.REACT,
}


class _Bucket:
    def __init__(self, pace: Pace, now: float) -> None:
        self._capacity = float(pace.count)
        self._rate = pace.count / pace.per
        self._tokens = self._capacity
        self._at = now

    def take(self, now: float) -> float:
        """Take a token; returns how long to wait before using it (tokens may go negative:
        a reservation that the refill pays back)."""
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


@dataclass
class _Changes:
    """Row outcomes waiting to be committed together, and the future their writers await."""

    done: asyncio.Future[None]
    sending: list[int] = field(default_factory=list)
    delivered: list[tuple[int, NativeId | None]] = field(default_factory=list)
    rescheduled: list[tuple[int, int, float, str]] = field(default_factory=list)
    finished: list[tuple[int, Literal["failed", "skipped"], str, int]] = field(default_factory=list)


class _Journal:
    """Commits the workers' row outcomes in batches: whatever was recorded while the previous
    batch was being written goes in the next transaction, one executemany per kind.

    Each ``record`` returns once its change is committed, so a worker still sees its own
    writes in order (sending before the adapter call, delivered before the next row).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._next: _Changes | None = None
        self._drainer: asyncio.Task[None] | None = None

    async def record(self, fill: Callable[[_Changes], None]) -> None:
        if self._next is None:
            self._next = _Changes(asyncio.get_running_loop().create_future())
        changes = self._next
        fill(changes)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="outbox-journal")
        # Shielded: one cancelled worker must not cancel the batch others are waiting for.
        await asyncio.shield(changes.done)

    async def wait_closed(self) -> None:
        if self._drainer is not None:
            await asyncio.shield(self._drainer)

    async def _drain(self) -> None:
        while self._next is not None:
            changes, self._next = self._next, None
            outcomes = (changes.sending, changes.delivered, changes.rescheduled, changes.finished)
            single = outbox_rows.one_statement(*outcomes)
            try:
                if single is not None:
                    # Usually so below full load: one round trip instead of BEGIN ... COMMIT.
                    await self._store.write(*single)
                else:
                    async with self._store.transaction() as db:
                        for sql, rows in outbox_rows.changes(*outcomes):
                            await db.executemany(sql, rows)
            except Exception as exc:
                changes.done.set_exception(exc)
                # Retrieved here so that a batch nobody awaits any more logs nothing twice.
                changes.done.exception()
            else:
                changes.done.set_result(None)


@dataclass(eq=False)
class _Worker:
    target: ChatRef
    bucket: _Bucket | None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    waiting: bool = False
    until: float | None = None  # the end of a timed wait; None = until woken
    synced: bool = False
    """Every open row of the target is in ``fresh`` (or in the worker's hands): the rows
    the router hands over are taken from memory instead of being read back. False after
    anything the worker cannot account for (a row left for later, a notify without rows, a
    start): the next run reads the table, and an empty read makes it True again."""
    fresh: list[OutboxRow] = field(default_factory=list)
    read_upto: tuple[int, float] = (0, 0.0)
    """The highest row id read from the table, and (a minute after) when: a notify may reach
    the outbox after the worker read (and carried out) its rows, which must not be handed
    over a second time. Both bounds: a new row has a higher id, unless the newest rows were
    all pruned (a month without messages), and then it was created long after the read; the
    minute absorbs a step of the system clock."""


_Done = Literal["done"]


class Outbox:
    """Delivers the outbox. ``notify`` is the router's wake-up call; ``start``/``stop`` run it."""

    def __init__(
        self,
        store: Store,
        adapters: Iterable[Adapter],
        *,
        policy: OutboxPolicy | None = None,
        pacing: Mapping[Platform, Pace] = DEFAULT_PACING,
        clock: Clock = SYSTEM_CLOCK,
        metrics: OutboxMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._journal = _Journal(store)
        # Every target's worker needs the same message, usually at the same moment: share one
        # read. What a delivery takes from it never changes (an edit travels in its own row).
        self._messages: OrderedDict[MessageId, asyncio.Future[StoredMessage | None]] = OrderedDict()
        self._adapters: dict[Platform, Adapter] = {
            adapter.platform: adapter for adapter in adapters
        }
        self._policy = policy or OutboxPolicy()
        self._pacing = dict(pacing)
        self._clock = clock
        self._metrics = metrics
        self._rng = rng or random.Random()
        self._workers: dict[ChatRef, _Worker] = {}
        self._changed = asyncio.Event()
        self._running = False
        self._started = False  # the open targets are known: new workers start synced
        self._open = 0
        self._pruner: asyncio.Task[None] | None = None

    def attach(self, adapter: Adapter) -> None:
        """Register (or replace) the adapter for its platform; its held rows are retried."""
        self._adapters[adapter.platform] = adapter
        for worker in self._workers.values():
            if worker.target.platform == adapter.platform:
                self._kick(worker)

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._open = await outbox_rows.count_open(self._store.db)
        self._report_depth()
        for target in await outbox_rows.open_targets(self._store.db):
            worker = self._worker(target)
            worker.synced = False
            self._kick(worker)
        self._started = True
        if self._policy.retention is not None:
            self._pruner = asyncio.create_task(self._prune_loop(), name="outbox-prune")

    async def stop(self) -> None:
        """Stop the workers; an attempt cut short stays ``sending`` and is recovered later."""
        self._running = False
        self._started = False
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        if self._pruner is not None:
            tasks.append(self._pruner)
        for task in tasks:
            task.cancel()
        for task in tasks:
            await cancel_and_wait(task)
        self._workers.clear()
        self._pruner = None
        await self._journal.wait_closed()

    def notify(
        self,
        targets: Sequence[ChatRef],
        message: StoredMessage | None = None,
        rows: Sequence[OutboxRow] | None = None,
        /,
    ) -> None:
        """New rows were committed for these targets (one entry per row); ``message``, when
        given, is the message they deliver as stored, and ``rows`` the rows as stored (the
        workers then read neither)."""
        if not self._running:
            return
        if message is not None and message.id not in self._messages:
            known = asyncio.get_running_loop().create_future()
            known.set_result(message)
            self._cache(message.id, known)
        self._open += len(targets)
        self._report_depth()
        if rows is None:
            for target in targets:
                self._worker(target).synced = False
        else:
            for row in rows:
                worker = self._worker(row.target)
                read_id, read_at = worker.read_upto
                if worker.synced and (row.id > read_id or row.created_at > read_at):
                    worker.fresh.append(row)
        for target in targets:
            self._kick(self._worker(target))

    @property
    def open_rows(self) -> int:
        return self._open

    async def wait_idle(self) -> None:
        """Return once no worker can make progress without time passing or new rows."""
        while not all(self._is_idle(w) for w in self._workers.values()):
            self._changed.clear()
            await self._changed.wait()

    async def prune(self) -> int:
        """Apply the retention bound now; returns how many messages were forgotten."""
        if self._policy.retention is None:
            return 0
        cutoff = self._clock.now() - self._policy.retention
        async with self._store.transaction() as db:
            await outbox_rows.prune(db, cutoff)
            await parts.prune(db, cutoff)
            return await messages.prune(db, cutoff)

    # --- workers ----------------------------------------------------------------------------

    def _worker(self, target: ChatRef) -> _Worker:
        worker = self._workers.get(target)
        if worker is None:
            pace = self._pacing.get(target.platform)
            bucket = None if pace is None else _Bucket(pace, self._clock.now())
            worker = _Worker(target, bucket, synced=self._started)
            self._workers[target] = worker
        return worker

    def _kick(self, worker: _Worker) -> None:
        """Make ``worker`` look at its rows: wake its task, or start one if it has none."""
        worker.wake.set()
        if worker.task is None and self._running:
            worker.task = asyncio.create_task(self._run(worker), name=f"outbox {worker.target}")

    def _is_idle(self, worker: _Worker) -> bool:
        if worker.task is None:
            return True
        if not worker.waiting or worker.wake.is_set():
            return False
        return worker.until is None or worker.until > self._clock.now()

    async def _run(self, worker: _Worker) -> None:
        """Deliver the target's rows until none is left, then end: a worker with nothing to
        do has no task (thousands of idle targets would otherwise each keep a task and its
        waiters alive, and make every full garbage collection longer)."""
        finished = False
        try:
            while True:
                worker.wake.clear()
                if worker.synced:
                    # The router handed over every row there is: no read.
                    if not worker.fresh:
                        finished = True
                        return
                    rows, worker.fresh = worker.fresh, []
                else:
                    worker.fresh.clear()  # the read sees them: committed before notify
                    read_at = self._clock.now()
                    rows = await outbox_rows.open_rows(
                        self._store.db, worker.target, self._policy.batch
                    )
                    if rows:
                        worker.read_upto = (
                            max(worker.read_upto[0], rows[-1].id),
                            read_at + _READ_MARGIN,
                        )
                    if not rows:
                        if worker.wake.is_set():  # a row came during the read
                            continue
                        # Nothing open, and rows committed from now on come with notify.
                        worker.synced = True
                        finished = True
                        return
                for row in rows:
                    try:
                        outcome = await self._process(worker, row)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        # A store error or a bug: keep the worker alive, look again shortly.
                        log.exception("outbox worker for %s: row %d", worker.target, row.id)
                        outcome = self._clock.now() + self._policy.disconnected_poll
                    if outcome != "done":
                        # This row and those after it stay in the table: read them again.
                        worker.synced = False
                        await self._wait(worker, outcome)
                        break
        finally:
            if not finished:
                worker.synced = False  # rows taken from memory may be left undone
            # No await between the last look at ``wake`` and here: a notify either came
            # before (and was seen) or comes after (and starts a new task).
            worker.task = None
            self._changed.set()

    async def _wait(self, worker: _Worker, until: float | None) -> None:
        if until is not None and until <= self._clock.now():
            return
        worker.waiting, worker.until = True, until
        self._changed.set()
        waiter = asyncio.ensure_future(worker.wake.wait())
        sleeper = None
        if until is not None:
            sleeper = asyncio.ensure_future(self._clock.sleep_until(until))
        try:
            await asyncio.wait(
                [t for t in (waiter, sleeper) if t is not None],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            worker.waiting, worker.until = False, None
            waiter.cancel()
            if sleeper is not None:
                sleeper.cancel()

    async def _process(self, worker: _Worker, row: OutboxRow) -> float | _Done:
        """Carry out one row; returns "done" or the time to look at it again."""
        now = self._clock.now()
        if row.next_attempt_at > now:
            return row.next_attempt_at
        adapter = self._adapters.get(row.target.platform)
        connected = adapter is not None and adapter.is_connected()
        held = adapter.hold_reason(row.target) if adapter is not None and connected else None
        if now - row.created_at > self._policy.max_age:
            why = row.last_error or held or "never delivered"
            await self._finish(row, "failed", f"expired: {why}")
            return "done"
        if adapter is None or not connected or held is not None:
            return now + self._policy.disconnected_poll
        if _NEEDS[row.kind] not in adapter.capabilities:
            await self._finish(row, "skipped", f"{row.target.platform} cannot {row.kind}")
            return "done"
        delivery = await self._build(row)
        if isinstance(delivery, str):
            await self._finish(row, "skipped", delivery)
            return "done"
        if row.state == "sending" and isinstance(delivery, OutboundMessage):
            # The previous run crashed during this send: ask before sending twice.
            try:
                found = await adapter.recover(delivery)
            except Exception:
                log.exception("recover of %s on %s failed; sending again", row.id, row.target)
                found = None
            if found is not None:
                await self._delivered(row, found)
                return "done"
        if worker.bucket is not None:
            pause = worker.bucket.take(now)
            if pause > 0:
                await self._clock.sleep_until(now + pause)
        if row.state != "sending":
            await self._journal.record(lambda c: c.sending.append(row.id))
        try:
            native_id = await _call(adapter, delivery)
        except PermanentError as exc:
            await self._finish(row, "failed", exc.reason, row.attempts + 1)
            return "done"
        except Exception as exc:
            retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
            if not isinstance(exc, RetryableError):
                log.exception("%s adapter raised on row %d", row.target.platform, row.id)
            return await self._retry(row, adapter, retry_after, f"{type(exc).__name__}: {exc}")
        await self._delivered(row, native_id)
        return "done"

    async def _retry(
        self, row: OutboxRow, adapter: Adapter, retry_after: float | None, error: str
    ) -> float | _Done:
        now = self._clock.now()
        if not adapter.is_connected():
            # The connection dropped under us: wait for it without spending an attempt.
            at = now + (retry_after if retry_after is not None else self._policy.disconnected_poll)
            await self._journal.record(
                lambda c: c.rescheduled.append((row.id, row.attempts, at, error))
            )
            return at
        attempts = row.attempts + 1
        if attempts >= self._policy.max_attempts:
            await self._finish(
                row, "failed", f"gave up after {attempts} attempts: {error}", attempts
            )
            return "done"
        delay = (
            retry_after if retry_after is not None else self._policy.backoff(attempts, self._rng)
        )
        at = now + delay
        await self._journal.record(lambda c: c.rescheduled.append((row.id, attempts, at, error)))
        if self._metrics is not None:
            self._metrics.retried(row.target.platform, row.kind)
        log.info("row %d to %s: retry in %.1fs (%s)", row.id, row.target, delay, error)
        return at

    async def _build(self, row: OutboxRow) -> Delivery | str:
        """The delivery for ``row``, or why it cannot be made."""
        db = self._store.db
        message = await self._message(row.message_id)
        if message is None:
            return "the message is gone"
        key = row.idempotency_key
        if row.kind == "send":
            parent = None
            if message.reply_to is not None:
                parent = await messages.native_id_in(db, message.reply_to, row.target)
            return OutboundMessage(
                target=row.target,
                idempotency_key=key,
                room=message.room,
                source=message.source,
                author=message.author,
                text=message.text,
                sent_at=message.sent_at,
                reply_to=parent,
                attachments=message.attachments,
            )
        native_id = await messages.native_id_in(db, row.message_id, row.target)
        if native_id is None:
            return f"the message never reached {row.target}"
        if row.kind == "edit":
            return OutboundEdit(
                target=row.target,
                idempotency_key=key,
                native_id=native_id,
                room=message.room,
                source=message.source,
                author=message.author,
                text=outbox_rows.decode_edit(row.payload),
            )
        if row.kind == "delete":
            return OutboundDelete(target=row.target, idempotency_key=key, native_id=native_id)
        reaction = outbox_rows.decode_react(row.payload)
        return OutboundReaction(
            target=row.target,
            idempotency_key=key,
            native_id=native_id,
            emoji=reaction.emoji,
            added=reaction.added,
            author=reaction.author,
            counts=reaction.counts,
        )

    async def _message(self, message_id: MessageId) -> StoredMessage | None:
        read = self._messages.get(message_id)
        if read is None:
            read = asyncio.ensure_future(messages.get(self._store.db, message_id))
            self._cache(message_id, read)
        try:
            # Shielded: a worker stopped while waiting must not cancel the read for the others.
            return await asyncio.shield(read)
        except Exception:
            self._messages.pop(message_id, None)
            raise

    def _cache(self, message_id: MessageId, read: asyncio.Future[StoredMessage | None]) -> None:
        self._messages[message_id] = read
        if len(self._messages) > _MESSAGE_CACHE:
            self._messages.popitem(last=False)

    async def _delivered(self, row: OutboxRow, native_id: NativeId | None) -> None:
        # A send's copy enters the id map with it (a trigger: migration 0065).
        await self._journal.record(lambda c: c.delivered.append((row.id, native_id)))
        self._closed()
        if self._metrics is not None:
            self._metrics.delivered(row.target.platform, row.kind)

    async def _finish(
        self,
        row: OutboxRow,
        state: Literal["failed", "skipped"],
        reason: str,
        attempts: int | None = None,
    ) -> None:
        spent = row.attempts if attempts is None else attempts
        await self._journal.record(lambda c: c.finished.append((row.id, state, reason, spent)))
        self._closed()
        if state == "failed":
            log.warning("row %d (%s to %s) failed: %s", row.id, row.kind, row.target, reason)
            if self._metrics is not None:
                self._metrics.failed(row.target.platform, row.kind)

    def _closed(self) -> None:
        self._open = max(0, self._open - 1)
        self._report_depth()

    def _report_depth(self) -> None:
        if self._metrics is not None:
            self._metrics.depth(self._open)

    async def _prune_loop(self) -> None:
        while True:
            try:
                gone = await self.prune()
                if gone:
                    log.info("pruned %d relayed messages past retention", gone)
            except Exception:
                log.exception("pruning the relay store failed")
            await self._clock.sleep_until(self._clock.now() + self._policy.prune_every)


async def _call(adapter: Adapter, delivery: Delivery) -> NativeId | None:
    match delivery:
        case OutboundMessage():
            return await adapter.send(delivery)
        case OutboundEdit():
            await adapter.edit(delivery)
        case OutboundDelete():
            await adapter.delete(delivery)
        case OutboundReaction():
            await adapter.react(delivery)
    return None
