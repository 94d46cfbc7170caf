"""Data safety (issue 8, item 10): a truncated or damaged database is refused with a clear
message, and ``parley backup`` copies the database consistently while it is being written."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from bridge.store import Store, StoreError
from bridge.store.guard import DamagedDatabaseError, check_database_file
from tests.test_cli import PASSPHRASE, clean_env, init, parley


def _bridge_dir(tmp_path: Path) -> Path:
    assert init(tmp_path, clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)).returncode == 0
    config = tmp_path / "config.toml"
    # Port 0: nothing fixed is bound should the bridge get that far.
    config.write_text(
        config.read_text()
        .replace("rest_port = 8645", "rest_port = 0")
        .replace("port = 8080", "port = 0")
    )
    return config


async def _fill(path: Path, rows: int) -> None:
    store = await Store.open(path, checkpoint_interval=None)
    try:
        for i in range(rows):
            async with store.transaction() as db:
                await db.execute("INSERT INTO kv(key, value) VALUES (?, ?)", (f"k{i}", "x" * 2000))
    finally:
        await store.close()


def _run(config: Path) -> tuple[int, str]:
    result = parley("run", "--config", str(config), env=clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE))
    return result.returncode, result.stderr


def test_a_database_truncated_to_zero_is_refused(tmp_path: Path) -> None:
    config = _bridge_dir(tmp_path)
    db = tmp_path / "parley.db"
    asyncio.run(_fill(db, 5))
    os.truncate(db, 0)
    code, stderr = _run(config)
    assert code == 1
    assert "Traceback" not in stderr
    assert f"the database {db} is empty (0 bytes)" in stderr
    assert "restore it from a backup" in stderr
    assert db.stat().st_size == 0  # not silently replaced by a new, empty database


def test_a_half_truncated_database_is_refused_without_a_traceback(tmp_path: Path) -> None:
    config = _bridge_dir(tmp_path)
    db = tmp_path / "parley.db"
    asyncio.run(_fill(db, 200))
    os.truncate(db, db.stat().st_size // 2)
    code, stderr = _run(config)
    assert code == 1
    assert "Traceback" not in stderr
    assert f"the database {db} is cut short" in stderr
    assert "restore it from a backup" in stderr


def test_an_overwritten_header_is_refused_without_a_traceback(tmp_path: Path) -> None:
    config = _bridge_dir(tmp_path)
    db = tmp_path / "parley.db"
    asyncio.run(_fill(db, 3))
    with db.open("r+b") as handle:
        handle.write(b"\0" * 100)
    code, stderr = _run(config)
    assert code == 1
    assert "Traceback" not in stderr
    assert "is not a SQLite database" in stderr


async def test_damage_inside_the_file_is_reported_cleanly(tmp_path: Path) -> None:
    # A page in the middle overwritten: the size is right, SQLite itself finds the damage.
    db = tmp_path / "parley.db"
    await _fill(db, 50)
    with db.open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\xff" * 4096 * 3)
    with pytest.raises(StoreError, match="is damaged"):
        store = await Store.open(db)
        await store.close()


def test_an_empty_file_is_fine_before_first_use(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    db.write_bytes(b"")
    check_database_file(db, keystore=tmp_path / "identity.json")  # never used: no keystore
    check_database_file(tmp_path / "absent.db", keystore=db)  # missing: the store creates it
    (tmp_path / "identity.json").write_text("{}")
    with pytest.raises(DamagedDatabaseError):
        check_database_file(db, keystore=tmp_path / "identity.json")


async def test_backup_while_the_database_is_being_written(tmp_path: Path) -> None:
    config = _bridge_dir(tmp_path)
    db = tmp_path / "parley.db"
    store = await Store.open(db)  # with the background checkpointer, as the bridge runs it
    written = 0
    stop = asyncio.Event()
    warmed_up = asyncio.Event()

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            # Two rows per transaction: a consistent copy has both or neither.
            async with store.transaction() as conn:
                await conn.execute(
                    "INSERT INTO kv(key, value) VALUES (?, ?), (?, ?)",
                    (f"a{written}", "x" * 500, f"b{written}", "y" * 500),
                )
            written += 1
            if written == 300:
                warmed_up.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        await asyncio.wait_for(warmed_up.wait(), 60)
        before = written
        target = tmp_path / "backups" / "parley-backup.db"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",  # the ``parley`` entry point: the core CLI with the registered platforms
            "backup",
            "--config",
            str(config),
            "--to",
            str(target),
            env=clean_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        during = written - before
    finally:
        stop.set()
        await task
        await store.close()
    assert proc.returncode == 0, err.decode()
    assert f"to {target}" in out.decode()
    assert during > 0, "the writer did not run while the backup was taken"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        a = copy.execute("SELECT COUNT(*) FROM kv WHERE key LIKE 'a%'").fetchone()[0]
        b = copy.execute("SELECT COUNT(*) FROM kv WHERE key LIKE 'b%'").fetchone()[0]
    finally:
        copy.close()
    assert a == b >= before
    assert a <= written
    assert sorted(p.name for p in target.parent.iterdir()) == ["parley-backup.db"]

    _restore(target, db)
    restored = await Store.open(db, checkpoint_interval=None)
    try:
        async with restored.db.execute("SELECT COUNT(*) FROM kv WHERE key LIKE 'a%'") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == a
    finally:
        await restored.close()


def _restore(backup: Path, db: Path) -> None:
    """The restore README.md documents: with the bridge stopped, drop the old WAL and shared
    memory files (SQLite would replay a stale WAL onto the restored file), copy the backup
    into place, keep it private."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, db)
    os.chmod(db, 0o600)


def test_backup_refuses_to_overwrite_and_needs_a_database(tmp_path: Path) -> None:
    config = _bridge_dir(tmp_path)
    target = tmp_path / "copy.db"
    missing = parley("backup", "--config", str(config), "--to", str(target))
    assert missing.returncode == 1 and "no database to back up" in missing.stderr
    asyncio.run(_fill(tmp_path / "parley.db", 2))
    assert parley("backup", "--config", str(config), "--to", str(target)).returncode == 0
    again = parley("backup", "--config", str(config), "--to", str(target))
    assert again.returncode == 1 and "--force" in again.stderr
    forced = parley("backup", "--config", str(config), "--to", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
