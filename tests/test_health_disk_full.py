"""Disk full (issue 8, item 11): while the store cannot write, /health answers 503 with the
reason, until a write succeeds again.

How the disk fills: ``PRAGMA max_page_count`` caps the database at its current size, so SQLite
refuses to grow it with SQLITE_FULL, "database or disk is full" — the very result code and
message it returns when ``write()`` fails with ENOSPC, raised at the same place (allocating a
page inside a write transaction). No mount or root is needed, the bridge's own store code path
runs unchanged, and raising the cap again is "space freed".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.app import Bridge
from crypto.keys import generate_private_key
from tests.test_app import settings_for


async def _health(http: aiohttp.ClientSession, bridge: Bridge) -> tuple[int, dict[str, Any]]:
    assert bridge.web is not None
    async with http.get(f"{bridge.web.url}/health") as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def test_health_reports_a_full_disk_until_writes_succeed(tmp_path: Path) -> None:
    bridge = Bridge(settings_for(tmp_path), generate_private_key())
    async with bridge, aiohttp.ClientSession() as http:
        store = bridge.store
        assert (await _health(http, bridge))[0] == 200

        async with store.db.execute("PRAGMA page_count") as cur:
            row = await cur.fetchone()
        assert row is not None
        await store.db.execute(f"PRAGMA max_page_count={row[0]}")
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            for i in range(1000):
                async with store.transaction() as db:
                    await db.execute(
                        "INSERT INTO kv(key, value) VALUES (?, ?)", (f"k{i}", "x" * 4000)
                    )

        status, body = await _health(http, bridge)
        assert status == 503
        assert body["components"]["store"]["status"] == "down"
        assert "database or disk is full" in body["components"]["store"]["detail"]
        # Reads still work, and the store is not stuck inside the failed transaction.
        async with store.db.execute("SELECT COUNT(*) FROM kv") as cur:
            assert await cur.fetchone() is not None

        await store.db.execute("PRAGMA max_page_count=1073741823")  # space is free again
        assert (await _health(http, bridge))[0] == 503  # nothing has been written yet
        async with store.transaction() as db:
            await db.execute("INSERT INTO kv(key, value) VALUES ('after', 'ok')")
        status, body = await _health(http, bridge)
        assert status == 200, body
        assert body["components"]["store"]["status"] == "up"


async def test_statement_errors_do_not_mark_the_disk_as_failing(tmp_path: Path) -> None:
    bridge = Bridge(settings_for(tmp_path), generate_private_key())
    async with bridge:
        store = bridge.store
        async with store.transaction() as db:
            await db.execute("INSERT INTO kv(key, value) VALUES ('k', 'v')")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.transaction() as db:
                await db.execute("INSERT INTO kv(key, value) VALUES ('k', 'again')")
        assert store.write_failure is None
