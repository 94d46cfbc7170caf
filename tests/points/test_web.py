"""The points pages: hostile names are escaped, unknown rooms and cycles are 404, a malformed
address is 400, and the list is served as stored with its CID."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.points.closing import ClaimBook, CycleManager
from bridge.points.web import points_routes
from tests.points.support import ADMIN, ALICE, ROOM, points_env


async def test_pages(tmp_path: Path) -> None:
    async with points_env(tmp_path, token="0x" + "11" * 20) as env:
        evil = replace(ALICE, display_name='<script>alert("x")</script>')
        await env.say(evil, "a message from a hostile name")
        await env.link(evil, "0x" + "aa" * 20)
        await env.command(ADMIN, "/award @alice 3 <b>bold</b> reason", admin=True)
        manager = CycleManager(env.service, env.service.config, tmp_path / "cycles")
        done = await manager.close("x")
        feature = SimpleNamespace(
            settings=SimpleNamespace(
                bridge=SimpleNamespace(name="club"), chain=SimpleNamespace(chain_id=31337)
            ),
            config=env.service.config,
            service=env.service,
            manager=manager,
            book=ClaimBook(manager),
        )
        app = web.Application()
        points_routes(feature)(app)
        async with TestClient(TestServer(app)) as client:
            page = await client.get(f"/points/{ROOM}")
            text = await page.text()
            assert page.status == 200
            assert "<script>alert" not in text and "&lt;script&gt;" in text
            assert "&lt;b&gt;bold&lt;/b&gt; reason" in text and "+3" in text
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert (await client.get("/points/nowhere")).status == 404
            assert (await client.get("/points/cycles/2.json")).status == 404
            assert (await client.get("/points/cycles/..%2F..%2Fetc.json")).status == 404
            listed = await client.get("/points/cycles/1.json")
            assert listed.status == 200 and listed.headers["X-Parley-CID"] == done.cid
            assert await listed.read() == (tmp_path / "cycles" / "1.json").read_bytes()
            index = await (await client.get("/points/cycles.json")).json()
            assert [(c["cycle"], c["root"], c["status"]) for c in index] == [
                (1, done.root, "closing")
            ]
            bad = await client.get("/api/points/claim/0x1234")
            assert bad.status == 400
            # Not published yet: nothing to claim, and the page is told why.
            view = await (await client.get(f"/api/points/claim/0x{'aa' * 20}")).json()
            assert view["tx"] is None and view["pending_cycle"] == 1
            assert view["message"] == "No cycle has been published yet."
            claim = await client.get("/points/claim")
            claim_html = await claim.text()
            assert claim.status == 200
            # The wallet steps shared with the tip page load first, then the page's own script.
            assert claim_html.index("/points-assets/wallet.js") < claim_html.index(
                "/points-assets/claim.js"
            )
            assert (await client.get("/points-assets/claim.js")).status == 200
            wallet_js = await client.get("/points-assets/wallet.js")
            assert wallet_js.status == 200 and "eth_sendTransaction" in await wallet_js.text()
            assert (await client.get("/points-assets/other.js")).status == 404
            ledger = await (await client.get(f"/points/{ROOM}/entries.json")).json()
            assert [(e["kind"], e["points"], e["by"], e["why"]) for e in ledger["entries"]] == [
                ("award", 3, "Ada", "<b>bold</b> reason"),
                ("message", 1, '<script>alert("x")</script>', "message"),
            ]
            assert ledger["entries"][0]["member"] == '<script>alert("x")</script>'
            older = await client.get(ledger["next"])
            assert (await older.json())["entries"] == []
            assert (await client.get(f"/points/{ROOM}/entries.json?before=x")).status == 400
            assert (await client.get("/points/nowhere/entries.json")).status == 404
