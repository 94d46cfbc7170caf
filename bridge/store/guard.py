"""Refuse a database file that lost its contents, before SQLite quietly makes do with it.

SQLite treats an empty file as a new, empty database, so a ``parley.db`` truncated to 0 bytes
would start the bridge with no history, no wallet links and no delivery state; a file cut
short elsewhere fails later with "database disk image is malformed". Both are refused at
start with a message that says what happened and how to restore a backup. An empty file is
only fine for a data directory that was never used, which the identity keystore tells apart:
``parley init`` writes it before the bridge ever runs.
"""

from __future__ import annotations

from pathlib import Path

from bridge.store import StoreError

__all__ = ["DamagedDatabaseError", "check_database_file"]

_MAGIC = b"SQLite format 3\x00"
_HEADER = 100
# A WAL file holds only its 32-byte header when it has no frames.
_WAL_HEADER = 32
RESTORE_HINT = "restore it from a backup (README: Backup and restore)"


class DamagedDatabaseError(StoreError):
    """The database file is empty, cut short or not a database."""


def check_database_file(path: Path, *, keystore: Path) -> None:
    """Raise DamagedDatabaseError when the file at ``path`` cannot be the bridge's database.

    A missing file is fine (the store creates it); so is an empty one while ``keystore`` does
    not exist yet.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DamagedDatabaseError(f"cannot read the database {path}: {exc.strerror}") from None
    if size == 0:
        if keystore.exists():
            raise DamagedDatabaseError(
                f"the database {path} is empty (0 bytes), but this data directory was used "
                f"before ({keystore} exists): the database was truncated or replaced, and "
                f"starting would begin with no history. Refusing to start: {RESTORE_HINT}. "
                "If this bridge has really never run, delete the empty file."
            )
        return
    with path.open("rb") as handle:
        header = handle.read(_HEADER)
    if len(header) < _HEADER or not header.startswith(_MAGIC):
        raise DamagedDatabaseError(
            f"{path} is not a SQLite database (its header is damaged or it is another kind of "
            f"file): {RESTORE_HINT}"
        )
    raw_page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if raw_page_size == 1 else raw_page_size
    pages = int.from_bytes(header[28:32], "big")
    # The in-header size counts only when the header says it is current (change counter ==
    # version-valid-for), and only with an empty WAL: a checkpoint interrupted by a crash
    # may leave the file short, and the WAL then still holds the pages to replay.
    header_current = pages > 0 and header[24:28] == header[92:96]
    if header_current and not _wal_has_frames(path) and size < pages * page_size:
        raise DamagedDatabaseError(
            f"the database {path} is cut short: {size} bytes, but its header describes "
            f"{pages * page_size}. Refusing to start on a damaged database: {RESTORE_HINT}"
        )


def _wal_has_frames(path: Path) -> bool:
    try:
        return path.with_name(path.name + "-wal").stat().st_size > _WAL_HEADER
    except FileNotFoundError:
        return False
