"""`parley feed` reader (run() against the embedded node's REST API) and Kubo pinning."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
from pathlib import Path

import pytest
from aiohttp import web

from bots.registry import PLATFORMS
from bridge.config import parse_config
from bridge.feed import cli as feed_cli
from bridge.feed.kubo import KuboClient, KuboError
from bridge.feed.record import cid_v1_raw
from bridge.model import DeleteMessage, NativeId
from bridge.waku.rest_server import RestServer, create_rest_app
from tests.feed.conftest import ADDRESS, BOB, TG, WALLET, Rig, make_service


class Watched(io.StringIO):
    """Output that wakes a waiting test whenever something is written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = asyncio.Event()

    def write(self, text: str) -> int:
        self.written.set()
        return super().write(text)

    async def wait_for(self, needle: str) -> None:
        async with asyncio.timeout(30):
            while needle not in self.getvalue():
                self.written.clear()
                await self.written.wait()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="parley")
    feed_cli.add_arguments(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


async def test_reader_prints_entries_and_hides_tombstoned(rig: Rig, tmp_path: Path) -> None:
    server = RestServer(create_rest_app(rig.node))
    await server.start()
    port = server.port
    try:
        settings = parse_config(
            {"waku": {"rest_port": port}}, base_dir=tmp_path, env={}, platforms=PLATFORMS
        )
        kept = await rig.say("100", "hello \x1b[31mreaders")
        gone = await rig.say("101", "to be deleted")
        await rig.service.post_stored(kept)
        await rig.service.post_stored(gone)
        await rig.service.post_text(BOB, TG, "from bob")
        await rig.router.handle(DeleteMessage(TG, NativeId("101")))
        await rig.service.on_deleted(gone.id)

        out = io.StringIO()
        args = parse(["feed", "--signer", ADDRESS])
        assert await feed_cli.run(args, settings, out=out) == 0
        text = out.getvalue()
        assert "Alice <3 (telegram:7)" in text and f"wallet: {WALLET}" in text
        assert "avatar: https://bridge.example/avatars/abc.png" in text
        assert "| hello �[31mreaders" in text  # no terminal escapes reach the terminal
        assert "from bob" in text and "to be deleted" not in text
        assert "anchor: none" in text and "2 entries on #parley-feed" in text
        assert text.index("from bob") < text.index("hello")  # newest first

        # Someone else's key: nothing is trusted, so nothing is shown unless --all.
        out = io.StringIO()
        assert (
            await feed_cli.run(parse(["feed", "--signer", "0x" + "11" * 20]), settings, out=out)
            == 0
        )
        assert "0 entries" in out.getvalue()
        out = io.StringIO()
        await feed_cli.run(
            parse(["feed", "--signer", "0x" + "11" * 20, "--all"]), settings, out=out
        )
        assert out.getvalue().count("[UNVERIFIED]") == 2

        # --follow prints what arrives later.
        out = Watched()
        task = asyncio.create_task(
            feed_cli.run(parse(["feed", "--follow", "--signer", ADDRESS]), settings, out=out)
        )
        await out.wait_for("2 entries")
        await rig.service.post_text(BOB, TG, "live news")
        await out.wait_for("live news")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await server.stop()


async def test_reader_needs_a_trusted_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = parse_config({}, base_dir=tmp_path, env={}, platforms=PLATFORMS)
    assert await feed_cli.run(parse(["feed"]), settings) == 1
    assert "--signer" in capsys.readouterr().err


class KuboStandIn:
    """Speaks the one Kubo RPC endpoint the bridge uses; computes CIDs on its own."""

    def __init__(self) -> None:
        self.pinned: dict[str, bytes] = {}
        self.params: list[dict[str, str]] = []
        self.lie = False

    async def add(self, request: web.Request) -> web.Response:
        self.params.append(dict(request.query))
        reader = await request.multipart()
        part = await reader.next()
        assert part is not None and isinstance(part, object)
        data = await part.read()  # type: ignore[union-attr]
        raw = b"\x01\x55\x12\x20" + hashlib.sha256(data).digest()
        cid = "b" + base64.b32encode(raw).decode().lower().rstrip("=")
        if self.lie:
            cid = cid[:-1] + ("a" if cid[-1] != "a" else "b")
        self.pinned[cid] = bytes(data)
        body = json.dumps({"Name": "record.json", "Hash": cid, "Size": str(len(data))})
        return web.Response(text=body + "\n", content_type="application/json")


async def test_kubo_pinning(rig: Rig) -> None:
    kubo = KuboStandIn()
    app = web.Application()
    app.router.add_post("/api/v0/add", kubo.add)
    server = RestServer(app)
    await server.start()
    try:
        service = make_service(rig.store, rig.node, rig.router, kubo=KuboClient(server.url))
        result = await service.post_text(BOB, TG, "pin me")
        assert list(kubo.pinned) == [result.cid]
        assert cid_v1_raw(kubo.pinned[result.cid]) == result.cid
        assert kubo.params[0] == {"cid-version": "1", "raw-leaves": "true", "pin": "true"}
        kubo.lie = True
        with pytest.raises(KuboError, match="computed"):
            await KuboClient(server.url).add(b"x", cid_v1_raw(b"x"))
        # A pinning failure does not stop the post.
        assert (await service.post_text(BOB, TG, "still posted")).created
    finally:
        await server.stop()
    with pytest.raises(KuboError, match="unreachable"):
        await KuboClient(server.url, timeout=5).add(b"x", cid_v1_raw(b"x"))
