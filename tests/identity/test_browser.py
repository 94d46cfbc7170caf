"""The link page in a real browser: headless Debian chromium, driven by playwright-core, with
an injected EIP-1193 provider whose signatures come from eth-account on the Python side.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and node with the packages from
package.json; without them the test fails rather than skips.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_defunct

from bridge.identity.service import LinkService
from bridge.identity.web import link_routes
from bridge.model import Author, ChatId, ChatRef, UserId
from bridge.store import Store, links
from tests.identity.support import RecordingNotifier, free_socket, serve

pytestmark = pytest.mark.node

SCRIPT = Path(__file__).parent / "js" / "link_browser.mjs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()
KEY = bytes.fromhex("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63")
ADDRESS = Account.from_key(KEY).address
CHAT = ChatRef("discord", ChatId("123456789012345678"))


async def test_link_page_in_headless_chromium(tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "the browser test needs Debian's chromium: apt-get install chromium"
    node = shutil.which("node")
    assert node is not None, "the browser test needs node"
    store = await Store.open(tmp_path / "parley.db")
    notifier = RecordingNotifier()
    sock = free_socket()
    url = "http://{}:{}".format(*sock.getsockname()[:2])
    service = LinkService(
        store=lambda: store,
        notifier=notifier,
        public_url=url,
        chain_id=31337,
        bridge_name="Parley",
    )
    signed: list[str] = []

    async def signer(request: web.Request) -> web.Response:
        body = await request.json()
        assert body["address"] == ADDRESS
        text = bytes.fromhex(body["message"].removeprefix("0x")).decode("utf-8")
        signed.append(text)
        signature = Account.sign_message(encode_defunct(text=text), private_key=KEY).signature
        return web.json_response({"signature": "0x" + bytes(signature).hex()})

    def test_routes(app: web.Application) -> None:
        app.router.add_post("/test-sign", signer)

    author = Author("discord", UserId("555"), "Carol", username="carol")
    try:
        async with serve(sock, [link_routes(service), test_routes]):
            link_url = await service.create_token(author, CHAT)
            proc = await asyncio.create_subprocess_exec(
                node,
                str(SCRIPT),
                link_url,
                f"{url}/test-sign",
                ADDRESS,
                str(tmp_path / "chromium-profile"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise
            assert proc.returncode == 0, (out.decode(), err.decode()[-2000:])
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["className"] == "ok" and ADDRESS in result["status"], result
        assert result["errors"] == [], result
        [stored] = await links.wallets_of(store.db, "discord", "555")
        assert stored.address == ADDRESS and stored.method == "eoa"
        assert signed == [stored.message]
        assert notifier.announced == [(CHAT, f"@carol linked {ADDRESS[:6]}…{ADDRESS[-4:]}")]
    finally:
        await store.close()
