"""The SQLite store: one aiosqlite connection, WAL mode, numbered migrations.

Checkpointing: SQLite's automatic WAL checkpoint runs inside whichever COMMIT crosses the
threshold, on the writer's own thread, and includes the fsyncs (``synchronous=NORMAL`` syncs
only at checkpoints): that one commit, and every write queued behind it, stalls for as long as
the disk takes. A file store therefore checkpoints from a second connection on its own thread
(PASSIVE, which never blocks the writer) shortly after writes, and keeps the automatic one only
as a backstop for a checkpointer that falls behind.

Migrations are the files ``migrations/NNNN_name.sql``, applied in order inside one
transaction each; ``schema_version`` records the highest applied number. A database written
by a newer Parley (a higher number than this code knows) is refused rather than guessed at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bridge.datadir import create_private_file
from bridge.store import lookup_cache
from bridge.tasks import cancel_and_wait

__all__ = [
    "Migration",
    "SchemaTooNewError",
    "Store",
    "StoreCounters",
    "StoreError",
    "load_migrations",
]

log = logging.getLogger(__name__)

# Pages (4 KiB) in the WAL before a commit checkpoints by itself: a backstop only, far above
# what the background checkpointer lets the WAL reach. The file is cut back to the limit after
# a checkpoint, so a burst does not leave a large WAL behind.
_AUTOCHECKPOINT_PAGES = 16384
_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
CHECKPOINT_INTERVAL = 0.5
"""Seconds between a write and the background checkpoint that follows it."""

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class StoreError(RuntimeError):
    """The database cannot be used as it is."""


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer Parley than this one."""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("bridge.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise StoreError(f"two migrations share a number: {numbers}")
    return found


@dataclass
class StoreCounters:
    """What the store's connection has done since ``Store.count()`` (bench/relay.py reads it).

    ``round_trips``: calls handed to the database thread (a cursor's execute, fetch and close
    are three), each a thread hop and an event-loop wake-up, what relaying pays for most;
    ``statements``: statements SQLite ran (an executemany of n rows runs n), the statements
    of the triggers they fire not counted, and only while traced (``count(statements=True)``);
    ``transactions``: commits (COMMIT statements, and writes that commit by themselves).
    """

    round_trips: int = 0
    statements: int = 0
    transactions: int = 0

    def copy(self) -> StoreCounters:
        return StoreCounters(self.round_trips, self.statements, self.transactions)

    def __sub__(self, other: StoreCounters) -> StoreCounters:
        return StoreCounters(
            self.round_trips - other.round_trips,
            self.statements - other.statements,
            self.transactions - other.transactions,
        )


class Store:
    """The bridge's only database handle.

    aiosqlite runs every statement on one worker thread; ``transaction()`` adds an asyncio
    lock so that a multi-statement write is never interleaved with another coroutine's.
    """

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self.db = db
        self.path = path
        self._lock = asyncio.Lock()
        self._written = asyncio.Event()
        self._checkpointer: asyncio.Task[None] | None = None
        self._counters: StoreCounters | None = None
        self._tracing = False
        self._last_traced: list[str | None] = [None]
        self.write_failure: str | None = None
        """Why the last write failed for lack of disk (full, I/O error, read-only), or None
        once a write has committed since; health reports it."""

    @classmethod
    async def open(
        cls, path: str | Path, *, checkpoint_interval: float | None = CHECKPOINT_INTERVAL
    ) -> Store:
        """Open (creating and migrating) the store at ``path``.

        ``checkpoint_interval``: seconds after a write at which a background connection
        checkpoints the WAL; None leaves checkpoints to SQLite's automatic ones.
        """
        path_s = str(path)
        in_memory = path_s == ":memory:"
        if not in_memory:
            # Private from the first byte; SQLite gives -wal and -shm the same mode.
            create_private_file(Path(path_s))
        db = await aiosqlite.connect(path_s, isolation_level=None)
        db.row_factory = aiosqlite.Row
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            background = checkpoint_interval is not None and not in_memory
            if background:
                await db.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
                await db.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT}")
            store = cls(db, path_s)
            await store._migrate(load_migrations())
        except sqlite3.DatabaseError as exc:
            await db.close()
            raise StoreError(_open_failure(path_s, exc)) from None
        except BaseException:
            await db.close()
            raise
        if background:
            assert checkpoint_interval is not None
            store._checkpointer = asyncio.create_task(
                store._checkpoint_loop(checkpoint_interval), name="store-checkpoint"
            )
        return store

    async def close(self) -> None:
        checkpointer, self._checkpointer = self._checkpointer, None
        await cancel_and_wait(checkpointer)
        await self.db.close()

    async def count(self, *, statements: bool = True) -> StoreCounters:
        """Start counting what this connection does; returns the live counters.

        Nothing is counted (and nothing costs) until this is called: a bench's instrument,
        not something ``parley run`` does. Round trips and commits are counted on the event
        loop's thread, at little cost; ``statements`` are traced on the database thread, which
        costs that thread a call into Python for every statement and every trigger a
        statement fires: a bench turns it off while it times throughput. Calling again
        keeps the counters and turns tracing on or off.
        """
        counters = self._counters
        if counters is None:
            counters = self._counters = StoreCounters()
            self._count_round_trips(counters)
        if statements != self._tracing:
            # None turns SQLite's tracing off (sqlite3 accepts it; aiosqlite's hint omits it).
            tracer: Any = self._tracer(counters) if statements else None
            await self.db.set_trace_callback(tracer)
            self._tracing = statements
            counters.round_trips -= 1  # the instrument's own hop is not counted
        return counters

    def _count_round_trips(self, counters: StoreCounters) -> None:
        db = self.db
        # Every call aiosqlite makes on its thread goes through Connection._execute (aiosqlite
        # 0.22, pinned; tests/test_store_counters.py fails if that changes).
        inner: Callable[..., Awaitable[Any]] = db._execute
        last = self._last_traced

        def fresh(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            last[0] = None  # on the database thread, before the call's statements
            return fn(*args, **kwargs)

        async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
            counters.round_trips += 1
            if args and args[0] == "COMMIT":
                counters.transactions += 1
            return await inner(fresh, fn, *args, **kwargs)

        db._execute = counted  # type: ignore[method-assign]

    def _tracer(self, counters: StoreCounters) -> Callable[[str], None]:
        # SQLite traces a trigger's program, and each statement in it, as statements too, and
        # Python reports them with the text of the statement that fired them: an outbox row's
        # "delivered" UPDATE (trigger of migration 0065) showed three times. Within one round
        # trip such a repeat is not counted; a repeat the caller runs itself has other
        # parameters, or comes in another round trip (an executemany of identical rows is
        # the exception, counted once).
        last = self._last_traced

        def traced(sql: str) -> None:
            # Runs on the database thread, the only writer of these fields.
            if sql == last[0]:
                return
            last[0] = sql
            counters.statements += 1

        return traced

    async def checkpoint(self) -> None:
        """Checkpoint the WAL now from this connection (PASSIVE: never waits for others)."""
        await self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def _checkpoint_loop(self, interval: float) -> None:
        ckpt: aiosqlite.Connection | None = None
        try:
            while True:
                await self._written.wait()
                await asyncio.sleep(interval)
                self._written.clear()
                try:
                    if ckpt is None:
                        # Shielded: a cancel arriving mid-connect must not orphan the
                        # connection's thread (it would keep the process from exiting).
                        connecting = asyncio.ensure_future(
                            aiosqlite.connect(self.path, isolation_level=None)
                        )
                        try:
                            ckpt = await asyncio.shield(connecting)
                        except asyncio.CancelledError:
                            with contextlib.suppress(Exception):
                                await (await connecting).close()
                            raise
                        await ckpt.execute("PRAGMA busy_timeout=5000")
                    # Runs on ckpt's own thread: the writer's commits go on meanwhile.
                    await asyncio.shield(ckpt.execute("PRAGMA wal_checkpoint(PASSIVE)"))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The automatic checkpoint still bounds the WAL; try again after more writes.
                    log.warning("background WAL checkpoint of %s failed", self.path, exc_info=True)
        finally:
            if ckpt is not None:
                # Queued behind a checkpoint still running, so it waits for it to end.
                await asyncio.shield(ckpt.close())

    async def schema_version(self) -> int:
        async with self.db.execute("SELECT MAX(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def _migrate(self, migrations: list[Migration]) -> None:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at INTEGER NOT NULL DEFAULT (unixepoch()))"
        )
        current = await self.schema_version()
        known = migrations[-1].number if migrations else 0
        async with self.db.execute("SELECT version FROM schema_version") as cur:
            applied = {int(row[0]) for row in await cur.fetchall()}
        if current > known:
            raise SchemaTooNewError(
                f"the database {self.path} has schema version {current}, but this Parley knows "
                f"only up to {known}: it was written by a newer Parley. Upgrade Parley, or "
                "restore a backup made before the upgrade."
            )
        for migration in migrations:
            # Each number is applied once, whatever order the files arrived in.
            if migration.number in applied:
                continue
            async with self.transaction():
                # executescript would COMMIT on its own; run statements one by one instead.
                for statement in _split_sql(migration.sql):
                    await self.db.execute(statement)
                await self.db.execute(
                    "INSERT INTO schema_version(version, name) VALUES (?, ?)",
                    (migration.number, migration.name),
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; commits on success, rolls back on any exception."""
        async with self._lock:
            # aiosqlite runs BEGIN on its own thread whether or not we are cancelled while
            # waiting; if we are, let it finish and undo it, or the connection stays inside a
            # transaction that nobody will ever close.
            begin = asyncio.ensure_future(self.db.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await begin
                    await self.db.execute("ROLLBACK")
                raise
            try:
                yield self.db
            except BaseException as exc:
                self._note_failure(exc)
                await asyncio.shield(self._rollback())
                raise
            try:
                await asyncio.shield(self.db.execute("COMMIT"))
            except sqlite3.Error as exc:
                # A COMMIT that fails for lack of space may leave the transaction open;
                # close it, or every later BEGIN fails too.
                self._note_failure(exc)
                await asyncio.shield(self._rollback())
                raise
            lookup_cache.committed(self.db)
            self.write_failure = None
            self._written.set()

    async def write(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run one writing statement as a transaction of its own; returns its rows (RETURNING).

        One round trip to the database thread where ``transaction()`` takes four (BEGIN, the
        statement, reading its outcome, COMMIT): SQLite commits a lone statement by itself.
        The lock still keeps it out of another coroutine's open transaction.
        """
        async with self._lock:
            try:
                rows = await asyncio.shield(self.db.execute_fetchall(sql, parameters))
            except sqlite3.Error as exc:
                self._note_failure(exc)
                raise
        if self._counters is not None:
            self._counters.transactions += 1  # committed by SQLite itself: no COMMIT to trace
        self.write_failure = None
        self._written.set()
        return list(rows)

    async def _rollback(self) -> None:
        # After SQLITE_FULL or an I/O error SQLite may already have rolled back by itself; a
        # second ROLLBACK would fail and hide the error that matters.
        lookup_cache.rolled_back(self.db)
        if self.db.in_transaction:
            await self.db.execute("ROLLBACK")

    def _note_failure(self, exc: BaseException) -> None:
        if isinstance(exc, sqlite3.Error) and _is_storage_failure(exc):
            if self.write_failure is None:
                log.error("database writes are failing: %s", exc)
            self.write_failure = str(exc)


# Primary result codes that mean the storage, not the statement, is the problem.
_STORAGE_FAILURES = frozenset(
    {
        8,  # SQLITE_READONLY
        10,  # SQLITE_IOERR (and its extended codes)
        11,  # SQLITE_CORRUPT
        13,  # SQLITE_FULL: the disk (or max_page_count) is full
        14,  # SQLITE_CANTOPEN
        26,  # SQLITE_NOTADB
    }
)


def _is_storage_failure(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _STORAGE_FAILURES


def _open_failure(path: str, exc: sqlite3.DatabaseError) -> str:
    name = getattr(exc, "sqlite_errorname", "")
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return (
            f"the database {path} is damaged ({exc}): restore it from a backup "
            "(README: Backup and restore)"
        )
    return f"cannot open the database {path}: {exc}"


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (no ``--`` or ``;`` inside string literals there).

    A ``;`` ends a statement only where SQLite says the statement is complete: a trigger's
    body holds several.
    """
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip()[:-1].strip())
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending.strip(" \n;"))
    return statements
