"""``parley backup``: a consistent copy of the database, also while the bridge runs.

SQLite's online backup API copies the pages inside one read transaction when it is asked for
all of them in one step. In WAL mode a reader never blocks the writer and sees one committed
state, so the copy is the database as of one instant, however busy the bridge is. (Copying in
several steps would restart whenever another connection writes, and might never finish.)
The copy is written next to its destination under a temporary name, checked, made durable and
renamed, so a destination is never a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bridge.datadir import create_private_file
from bridge.store import StoreError

__all__ = ["BackupResult", "backup_database"]

_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_version: int


def backup_database(source: Path, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the database at ``source`` to ``target`` (0600); raise StoreError on failure."""
    if not source.is_file() or source.stat().st_size == 0:
        raise StoreError(f"there is no database to back up at {source}")
    if target.exists() and not overwrite:
        raise StoreError(f"{target} already exists; pass --force to replace it")
    if target.resolve() == source.resolve():
        raise StoreError("the backup must not replace the database itself")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    create_private_file(tmp)
    try:
        version = _copy(source, tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-wal", "-shm"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    return BackupResult(target, target.stat().st_size, version)


def _copy(source: Path, tmp: Path) -> int:
    # uri mode=rw: never create a database where the configured one is missing.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    try:
        src.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # pages=-1: everything in one step, one snapshot
            # The copy keeps the source's WAL mode; a backup is one self-contained file.
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise StoreError(f"the copy of {source} fails its integrity check: {check}")
            row = dst.execute("SELECT MAX(version) FROM schema_version").fetchone()
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot back up {source}: {exc}") from None
    finally:
        src.close()
    return int(row[0]) if row is not None and row[0] is not None else 0
