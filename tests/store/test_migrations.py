from __future__ import annotations

from pathlib import Path

import pytest

from bridge.store import SchemaTooNewError, Store, load_migrations


async def test_migrations_apply_once_and_record_version(tmp_path: Path) -> None:
    path = tmp_path / "parley.db"
    store = await Store.open(path)
    latest = load_migrations()[-1].number
    assert await store.schema_version() == latest
    async with store.db.execute("PRAGMA journal_mode") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == "wal"
    await store.close()
    again = await Store.open(path)
    assert await again.schema_version() == latest
    await again.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "parley.db"
    store = await Store.open(path)
    async with store.transaction() as db:
        await db.execute("INSERT INTO schema_version(version, name) VALUES (9999, 'future')")
    await store.close()
    with pytest.raises(SchemaTooNewError, match="newer Parley"):
        await Store.open(path)


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "p.db")
    with pytest.raises(RuntimeError):
        async with store.transaction() as db:
            await db.execute("INSERT INTO kv(key, value) VALUES ('a', 'b')")
            raise RuntimeError("boom")
    async with store.db.execute("SELECT COUNT(*) FROM kv") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 0
    await store.close()
