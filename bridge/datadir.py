"""Private files: the data directory is 0700 and everything in it 0600.

The database holds every relayed message and every wallet link, the keystore the bridge's
identity, the config file tokens: none of it is for other local users. New files and
directories are created private from the start (never created wide and narrowed later);
existing ones are only reported, because an operator may have widened them on purpose.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from bridge.config import Settings

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_file",
    "ensure_private_dir",
    "permission_warnings",
]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO
# The data directory is small and flat; a bound keeps a misconfigured data_dir = "/" cheap.
_MAX_SCANNED = 10_000


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700; an existing directory is left alone."""
    missing: list[Path] = []
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_DIR_MODE)
            # mkdir's mode is filtered by the umask; say it exactly.
            os.chmod(directory, PRIVATE_DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file at ``path`` unless something is there already.

    SQLite creates its ``-wal`` and ``-shm`` files with the database file's permissions, so a
    database created this way keeps all three private.
    """
    ensure_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


def _wide(path: Path) -> int | None:
    """The permission bits of ``path`` when group or others have any, else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return stat.S_IMODE(mode) if mode & _OTHERS else None


def permission_warnings(settings: Settings, config_file: Path | None = None) -> list[str]:
    """One line per private path that group or others can use: the data directory, every
    file in it, and the secret files that may live elsewhere (config, keystore, database,
    passphrase file)."""
    data_dir = settings.bridge.data_dir
    store = settings.store_path
    singles: list[Path] = [data_dir, settings.keystore_path, store]
    singles += [store.with_name(store.name + suffix) for suffix in ("-wal", "-shm")]
    if settings.identity.passphrase_file is not None:
        singles.append(settings.identity.passphrase_file)
    if config_file is not None:
        singles.append(config_file)
    return [_describe(path, mode) for path, mode in _wide_paths(singles, data_dir)]


def _wide_paths(singles: Iterable[Path], data_dir: Path) -> list[tuple[Path, int]]:
    seen: set[Path] = set()
    found: list[tuple[Path, int]] = []

    def visit(path: Path) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        mode = _wide(path)
        if mode is not None:
            found.append((path, mode))

    for path in singles:
        visit(path)
    if data_dir.is_dir():
        for count, path in enumerate(sorted(data_dir.rglob("*"))):
            if count >= _MAX_SCANNED:
                break
            visit(path)
    return found


def _describe(path: Path, mode: int) -> str:
    wanted = PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE
    return f"{path} has mode {mode:04o}: other local users can read it; chmod {wanted:04o} {path}"
