"""Wallet linking over HTTP: the page, the message API and every refusal of the POST.

The bridge's real web app serves the link routes on 127.0.0.1; signatures are made with
eth-account keys (plain accounts) and with TestWallet1271 on anvil (contract wallets).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from eth_account import Account

from bridge.commands import CommandRequest, Commands
from bridge.identity.commands import IdentityCommands
from bridge.identity.service import LinkService
from bridge.identity.siwe import parse, render
from bridge.identity.verify import recover_eoa
from bridge.identity.web import CSP, link_routes
from bridge.model import Author, ChatId, ChatRef, UserId
from bridge.store import Store, links
from contracts import deploy
from tests.chain.anvil import Anvil
from tests.identity.support import RecordingNotifier, free_socket, serve, sign

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ADDRESS = Account.from_key(KEY).address
OTHER_KEY = bytes.fromhex("11" * 32)
START = 1_750_000_000
CHAT = ChatRef("telegram", ChatId("-1001"))
ALICE = Author("telegram", UserId("42"), "Alice <b>", username="alice")


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    url: str
    service: LinkService
    store: Store
    notifier: RecordingNotifier
    clock: Clock
    commands: Commands
    http: aiohttp.ClientSession
    rpc: dict[str, Any]

    async def new_token(self, author: Author = ALICE) -> str:
        request = CommandRequest("link", (), "", CHAT, author)
        reply = await self.commands.handle(request)
        assert reply.private
        match = re.search(rf"{re.escape(self.url)}/link/([A-Za-z0-9_\-]+)", reply.text)
        assert match is not None, reply.text
        return match.group(1)

    async def message(self, token: str, address: str = ADDRESS) -> str:
        async with self.http.get(f"{self.url}/api/link/{token}", params={"address": address}) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        return str(body["message"])

    async def post(self, token: str, body: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.url}/api/link/{token}", json=body) as r:
            return r.status, await r.json()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = await Store.open(tmp_path / "parley.db")
    notifier = RecordingNotifier()
    clock = Clock()
    sock = free_socket()
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    rpc: dict[str, Any] = {"w3": None}

    async def provider() -> Any:
        return rpc["w3"]

    service = LinkService(
        store=lambda: store,
        notifier=notifier,
        public_url=url,
        chain_id=31337,
        bridge_name="Parley test",
        rpc=provider,
        clock=clock,
    )
    commands = Commands()
    IdentityCommands(service, None).register(commands)
    try:
        async with serve(sock, [link_routes(service)]), aiohttp.ClientSession() as http:
            yield Env(url, service, store, notifier, clock, commands, http, rpc)
    finally:
        await store.close()


async def test_link_assets_headers_and_unknown_names(env: Env) -> None:
    # The link page's assets share the pages' security headers, but may be cached (revalidated).
    async with env.http.get(f"{env.url}/link-assets/link.css") as css:
        assert css.status == 200
        assert css.headers["Content-Type"] == "text/css; charset=utf-8"
        assert css.headers["Content-Security-Policy"] == CSP
        assert css.headers["X-Content-Type-Options"] == "nosniff"
        assert css.headers["X-Frame-Options"] == "DENY"
        assert css.headers["Referrer-Policy"] == "no-referrer"
        assert css.headers["Cache-Control"] == "no-cache"
    async with env.http.get(f"{env.url}/link-assets/link.js") as js:
        assert js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    for name in ("link.html", "tips.js", "other.js"):
        async with env.http.get(f"{env.url}/link-assets/{name}") as missing:
            assert missing.status == 404


async def test_link_by_account_end_to_end(env: Env) -> None:
    token = await env.new_token()
    async with env.http.get(f"{env.url}/link/{token}") as page:
        assert page.status == 200
        assert page.headers["Content-Security-Policy"] == CSP
        assert page.headers["Referrer-Policy"] == "no-referrer"
        text = await page.text()
    # The display name is escaped; the script is our own, from our origin.
    assert "Alice &lt;b&gt;" in text and "Alice <b>" not in text
    assert '<script src="/link-assets/link.js"' in text and "http" not in text.split("<body>")[0]
    async with env.http.get(f"{env.url}/link-assets/link.js") as js:
        assert js.status == 200 and "eth_requestAccounts" in await js.text()

    message = await env.message(token, ADDRESS.lower())
    msg = parse(message)
    assert msg.address == ADDRESS  # EIP-55, whatever case was asked for
    assert msg.domain == env.url.removeprefix("http://")
    assert msg.uri == f"{env.url}/link"
    assert msg.chain_id == 31337
    assert msg.statement is not None and "telegram account 42 (Alice <b>)" in msg.statement
    assert "Parley test" in msg.statement
    assert token not in message  # the bearer token never enters the signed, stored text
    assert msg.expiration_time == "2025-06-15T15:16:40Z"  # START + 10 minutes

    signature = sign(message, KEY)
    status, body = await env.post(token, {"message": message, "signature": signature})
    assert (status, body) == (200, {"address": ADDRESS, "linked": True})

    [stored] = await links.wallets_of(env.store.db, "telegram", "42")
    assert (stored.address, stored.method, stored.chain_id) == (ADDRESS, "eoa", 31337)
    assert stored.message == message and stored.display_name == "Alice <b>"
    # Anyone can re-verify the kept proof.
    assert recover_eoa(stored.message, bytes.fromhex(stored.signature[2:])) == ADDRESS
    assert env.notifier.announced == [(CHAT, f"@alice linked {ADDRESS[:6]}…{ADDRESS[-4:]}")]

    # Single use: the same post again, and the message API, now refuse.
    status, body = await env.post(token, {"message": message, "signature": signature})
    assert status == 410 and "already used" in body["error"]
    async with env.http.get(f"{env.url}/api/link/{token}", params={"address": ADDRESS}) as r:
        assert r.status == 410
    async with env.http.get(f"{env.url}/link/{token}") as page:
        assert page.status == 410 and "already used" in await page.text()
    assert len(env.notifier.announced) == 1


@pytest.mark.chain
async def test_link_by_contract_wallet(env: Env, anvil: Anvil, w3: Any) -> None:
    owner_key = anvil.private_keys[1]
    wallet = await deploy(
        w3, "TestWallet1271", Account.from_key(owner_key).address, private_key=anvil.private_keys[0]
    )
    env.rpc["w3"] = w3
    token = await env.new_token()
    message = await env.message(token, wallet)
    status, body = await env.post(
        token, {"message": message, "signature": sign(message, owner_key)}
    )
    assert (status, body) == (200, {"address": wallet, "linked": True})
    [stored] = await links.wallets_of(env.store.db, "telegram", "42")
    assert stored.method == "eip1271" and stored.address == wallet

    # A stranger's signature for the contract wallet is refused.
    token = await env.new_token()
    message = await env.message(token, wallet)
    stranger = sign(message, anvil.private_keys[2])
    status, body = await env.post(token, {"message": message, "signature": stranger})
    assert status == 403 and "nor accepted by its contract" in body["error"]


async def test_contract_wallet_without_rpc_is_refused(env: Env) -> None:
    token = await env.new_token()
    wallet = "0x" + "ab" * 20
    message = await env.message(token, wallet)
    status, body = await env.post(token, {"message": message, "signature": sign(message, KEY)})
    assert status == 403 and "not made by" in body["error"]


async def _crafted(env: Env, token: str, key: bytes = KEY, **changes: Any) -> dict[str, str]:
    msg = parse(await env.message(token, Account.from_key(key).address))
    text = render(dataclasses.replace(msg, **changes))
    return {"message": text, "signature": sign(text, key)}


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"domain": "evil.example"}, 403, "made for 'evil.example'"),
        ({"uri": "http://evil.example/link"}, 403, "is for 'http://evil.example/link'"),
        ({"chain_id": 1}, 403, "chain 1 is not accepted"),
        ({"expiration_time": "2025-06-15T15:00:00Z"}, 403, "expired"),
        ({"not_before": "2025-06-15T16:00:00Z"}, 403, "not valid yet"),
        ({"issued_at": "2025-06-15T16:00:00Z"}, 403, "issued in the future"),
        ({"nonce": "abcdefgh12345678"}, 403, "unknown nonce"),
        ({"statement": "Link this wallet to the discord account 1 (x) on it."}, 403, "statement"),
        ({"scheme": "https"}, 403, "scheme"),
    ],
)
async def test_refused_messages(
    env: Env, changes: dict[str, Any], status: int, reason: str
) -> None:
    token = await env.new_token()
    got, body = await env.post(token, await _crafted(env, token, **changes))
    assert got == status and reason in body["error"], body
    assert await links.wallets_of(env.store.db, "telegram", "42") == []
    assert env.notifier.announced == []


async def test_nonce_of_another_link_is_refused(env: Env) -> None:
    first, second = await env.new_token(), await env.new_token()
    body = {"message": (m := await env.message(first)), "signature": sign(m, KEY)}
    status, reply = await env.post(second, body)
    assert status == 403 and "unknown nonce" in reply["error"]
    # The first token still works: a refusal elsewhere spends nothing.
    assert (await env.post(first, body))[0] == 200


async def test_expired_token_is_refused(env: Env) -> None:
    token = await env.new_token()
    message = await env.message(token)
    env.clock.now += 601
    status, body = await env.post(token, {"message": message, "signature": sign(message, KEY)})
    assert status == 410 and "expired" in body["error"]
    async with env.http.get(f"{env.url}/link/{token}") as page:
        assert page.status == 410


async def test_address_mismatch_is_refused(env: Env) -> None:
    token = await env.new_token()
    message = await env.message(token, ADDRESS)
    status, body = await env.post(
        token, {"message": message, "signature": sign(message, OTHER_KEY)}
    )
    assert status == 403 and f"not made by {ADDRESS}" in body["error"]


async def test_malformed_requests_are_refused(env: Env) -> None:
    token = await env.new_token()
    message = await env.message(token)
    good = sign(message, KEY)
    cases: list[tuple[Any, int, str]] = [
        ({"message": message + "\nextra", "signature": good}, 400, "malformed message"),
        ({"message": message.replace("\n", "\r\n"), "signature": good}, 400, "CRLF"),
        ({"message": message, "signature": "0xzz"}, 400, "hexadecimal"),
        ({"message": message, "signature": good[:-2]}, 403, "not made by"),
        ({"message": message, "signature": "0x" + "00" * 65}, 403, "not made by"),
        ({"message": message}, 400, "message and signature"),
        ({"message": 5, "signature": good}, 400, "message and signature"),
        ([message, good], 400, "JSON object"),
    ]
    for body, status, reason in cases:
        got, reply = await env.post(token, body)
        assert got == status and reason in reply["error"], (body, reply)
    async with env.http.post(f"{env.url}/api/link/{token}", data=b"{not json") as r:
        assert r.status == 400 and "JSON" in (await r.json())["error"]
    huge = b'{"message": "' + b"a" * 70_000 + b'"}'
    async with env.http.post(f"{env.url}/api/link/{token}", data=huge) as r:
        assert r.status == 413 and "too large" in (await r.json())["error"]
    # Nothing above spent the token.
    assert (await env.post(token, {"message": message, "signature": good}))[0] == 200


async def test_unknown_tokens_and_bad_addresses(env: Env) -> None:
    for bogus in ("x" * 43, "short", "x" * 44, "%3Cscript%3E"):
        async with env.http.get(f"{env.url}/api/link/{bogus}", params={"address": ADDRESS}) as r:
            assert r.status == 404 and "unknown link" in (await r.json())["error"]
    token = await env.new_token()
    for bad in ("", "0x123", "0x" + "g" * 40, ADDRESS + "00"):
        async with env.http.get(f"{env.url}/api/link/{token}", params={"address": bad}) as r:
            assert r.status == 400, bad
    status, _ = await env.post("y" * 43, {"message": "m", "signature": "0x00"})
    assert status == 404
