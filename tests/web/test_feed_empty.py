"""An empty ``/feed.atom`` (issue 8, item 14) is dated when the bridge started, not 1970."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser  # type: ignore[import-untyped]
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.feed.web import atom_feed, feed_routes
from bridge.store import Store


async def test_empty_atom_feed_is_dated_at_start(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "parley.db", checkpoint_interval=None)
    try:
        before = time.time()
        app = web.Application()
        feed_routes(lambda: store, public_url="https://bridge.example.org")(app)
        after = time.time()
        async with TestClient(TestServer(app)) as client:
            first = await (await client.get("/feed.atom")).read()
            second = await (await client.get("/feed.atom")).read()
    finally:
        await store.close()
    parsed = feedparser.parse(first)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.entries == []
    updated = calendar.timegm(parsed.feed.updated_parsed)
    assert int(before) <= updated <= after + 1
    assert first == second  # the same date on every poll


def test_atom_feed_without_entries_never_says_1970() -> None:
    parsed = feedparser.parse(atom_feed([], public_url="https://x.example", title="t"))
    assert parsed.feed.updated_parsed.tm_year >= datetime.now(UTC).year - 1
