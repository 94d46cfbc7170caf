"""Wallet linking and verified NFT avatars through the whole running bridge.

The real python-telegram-bot and discord.py (inside the bridge's adapters) talk to the
protocol-level stand-ins, the bridge's own web server serves the link page, its API and the
avatars, and ownership is checked on anvil. Metadata and images come from a small server of
the test's own on 127.0.0.1, which the bridge may reach only because the test hands
``wire_features`` a fetch policy admitting exactly that host and port (``parley run`` has no
way to do so).
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_defunct
from PIL import Image

from bridge.identity.service import short_address
from bridge.nft.safe_fetch import FetchPolicy
from contracts import at, deploy, send_transaction
from tests.chain.anvil import Anvil
from tests.e2e.harness import TIMEOUT, Harness, running_bridge
from tests.fakes.discord_models import FakeInteraction, FakeUser
from tests.fakes.telegram import FakeMessage
from tests.fakes.telegram import FakeUser as TgUser
from tests.identity.support import sign

BROWSER_SCRIPT = Path(__file__).resolve().parent.parent / "identity" / "js" / "link_browser.mjs"
CHROMIUM_INSTALLED = Path("/usr/bin/chromium").exists()
# Two wallets that exist only here (EOAs; no chain is needed to link them).
KEY_ONE = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
KEY_TWO = bytes.fromhex("6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c")
LINKED = re.compile(r"@(\S+) linked (0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4})")


def _address(key: bytes) -> str:
    return str(Account.from_key(key).address)


def _png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def _gif(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), color).save(out, "GIF")
    return out.getvalue()


# --- the link flow, as a user does it -----------------------------------------------------------


def _token_of(h: Harness, text: str) -> str:
    public = re.escape(h.settings.web.public_url.rstrip("/"))
    found = re.search(public + r"/link/([A-Za-z0-9_\-]{43})", text)
    assert found is not None, text
    return found.group(1)


async def _telegram_link(h: Harness, user: TgUser) -> str:
    """``user`` sends /link in the group; the token from the DM the bot sends them."""
    dm_chat = h.tg.private_chat(user)

    def link_dms() -> list[FakeMessage]:
        return [m for m in h.tg.sent_messages(dm_chat) if "/link/" in m.content]

    before = len(link_dms())
    h.tg.user_sends(h.tg_group, user, "/link")
    dms = await h.tg.wait_until(lambda: link_dms()[before:], TIMEOUT)
    [dm] = dms
    assert dm.chat.id == user.id and dm.chat.type == "private"
    assert "within 10 minutes" in dm.content and "works once" in dm.content
    return _token_of(h, dm.content)


def _final_reply(interaction: FakeInteraction) -> tuple[str, bool] | None:
    """The text a slash command finally showed, and whether only its user saw it."""
    content: str | None = None
    ephemeral = False
    for response in interaction.responses:
        if response.kind == "callback":
            ephemeral = response.ephemeral
        text = response.data.get("content")
        if isinstance(text, str) and text:
            content = text
    return None if content is None else (content, ephemeral)


async def _slash(
    h: Harness, user: FakeUser, name: str, options: dict[str, Any], *, private: bool = True
) -> str:
    """``user`` runs /``name`` in the channel; its final answer (``private``: ephemeral)."""
    interaction = h.dc.user_invokes_command(name, options, h.channel.id, user)
    final = await h.dc.wait_for(lambda: _final_reply(interaction), TIMEOUT)
    assert final is not None
    content, ephemeral = final
    assert ephemeral == private, (name, ephemeral, content)
    return content


async def _message_for(http: aiohttp.ClientSession, h: Harness, token: str, key: bytes) -> str:
    async with http.get(f"{h.web_url}/api/link/{token}", params={"address": _address(key)}) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    message = body["message"]
    assert isinstance(message, str)
    return message


async def _post(
    http: aiohttp.ClientSession, h: Harness, token: str, message: str, signature: str
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        f"{h.web_url}/api/link/{token}", json={"message": message, "signature": signature}
    ) as resp:
        body: dict[str, Any] = await resp.json()
        return resp.status, body


async def _link(http: aiohttp.ClientSession, h: Harness, token: str, key: bytes) -> None:
    message = await _message_for(http, h, token, key)
    status, body = await _post(http, h, token, message, sign(message, key))
    assert (status, body) == (200, {"address": _address(key), "linked": True})


def _shift_issued_at(message: str, seconds: int) -> str:
    found = re.search(r"^Issued At: (\S+)$", message, re.MULTILINE)
    assert found is not None, message
    moment = datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    shifted = (moment + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return message.replace(found.group(0), f"Issued At: {shifted}")


def _in_group(h: Harness, predicate: Callable[[FakeMessage], bool]) -> list[FakeMessage]:
    return [m for m in h.tg.sent_messages(h.tg_group) if predicate(m)]


async def _group_answer(h: Harness, user: TgUser, text: str) -> FakeMessage:
    """``user`` sends the command ``text`` in the group; the bot's reply to it there."""
    command = h.tg.user_sends(h.tg_group, user, text)
    return await h.tg.wait_for_sent(lambda m: m.reply_to is command, TIMEOUT, chat=h.tg_group)


async def _dm(h: Harness, user: TgUser, predicate: Callable[[str], bool]) -> FakeMessage:
    return await h.tg.wait_for_sent(
        lambda m: predicate(m.content), TIMEOUT, chat=h.tg.private_chat(user)
    )


async def test_link_from_telegram_and_discord_and_refusals(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h, aiohttp.ClientSession() as http:
        public_url = h.settings.web.public_url.rstrip("/")
        wallet = _address(KEY_ONE)
        # Before Alice has opened a private chat with the bot, the group gets a hint, not a URL.
        hint = await _group_answer(h, h.alice, "/link")
        assert hint.content.startswith("@alice_tg, open a private chat with @parley_bot")
        h.tg.user_starts_bot(h.alice)
        token = await _telegram_link(h, h.alice)
        # The one-time URL went to Alice alone: not to the group, Discord or Waku.
        assert _in_group(h, lambda m: "/link/" in m.content) == []

        # The page is served by the bridge itself and names the account being linked.
        async with http.get(f"{public_url}/link/{token}") as resp:
            assert resp.status == 200
            assert "Alice" in await resp.text()
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]

        message = await _message_for(http, h, token, KEY_ONE)
        assert message.startswith(f"{h.settings.web.public_url.split('://', 1)[1]} wants you")
        assert f"\n{wallet}\n" in message and "\nChain ID: 1\n" in message
        assert f"telegram account {h.alice.id} (Alice)" in message
        signature = sign(message, KEY_ONE)
        assert await _post(http, h, token, message, signature) == (
            200,
            {"address": wallet, "linked": True},
        )
        confirmation = await h.tg_copy(f"linked {short_address(wallet)}")
        assert confirmation.content == f"@alice_tg linked {short_address(wallet)}"
        assert LINKED.search(confirmation.content) is not None

        # Reusing the token: refused through the real endpoint, nothing announced twice.
        status, body = await _post(http, h, token, message, signature)
        assert status == 410 and "already used" in body["error"]
        async with http.get(f"{h.web_url}/api/link/{token}", params={"address": wallet}) as resp:
            assert resp.status == 410 and "already used" in (await resp.json())["error"]

        # A fresh token: a wrong chain id, then a message altered after signing.
        token = await _telegram_link(h, h.alice)
        message = await _message_for(http, h, token, KEY_TWO)
        other_chain = message.replace("\nChain ID: 1\n", "\nChain ID: 5\n")
        assert other_chain != message
        status, body = await _post(http, h, token, other_chain, sign(other_chain, KEY_TWO))
        assert status == 403 and "chain" in body["error"].lower(), body
        # Altered after signing (a valid, earlier Issued At): only the signature can tell.
        tampered = _shift_issued_at(message, -5)
        assert tampered != message
        status, body = await _post(http, h, token, tampered, sign(message, KEY_TWO))
        assert status == 403 and "signature" in body["error"].lower(), body
        # Signed, but naming another chat account than the token's: refused.
        other_account = message.replace(
            f"telegram account {h.alice.id}", f"telegram account {h.tg_admin.id}"
        )
        assert other_account != message
        status, body = await _post(http, h, token, other_account, sign(other_account, KEY_TWO))
        assert status == 403 and "account" in body["error"], body
        # Signed by another key than the address in the message: the signature is refused.
        status, body = await _post(http, h, token, message, sign(message, KEY_ONE))
        assert status == 403 and "signature" in body["error"].lower(), body
        status, body = await _post(http, h, token, message.replace("\n", "\r\n"), "0x00")
        assert 400 <= status < 500 and body["error"], body
        status, body = await _post(http, h, token, message, "not hex")
        assert status == 400 and body["error"], body
        async with http.post(f"{h.web_url}/api/link/{token}", data=b"[1, 2") as resp:
            assert resp.status == 400 and (await resp.json())["error"]
        # None of that spent the token: the genuine signature still links the second wallet.
        await _link(http, h, token, KEY_TWO)
        await h.tg_copy(f"linked {short_address(_address(KEY_TWO))}")

        # /whois on Telegram: both wallets, answered in the group.
        whois = await _group_answer(h, h.alice, "/whois")
        assert f"(telegram:{h.alice.id})" in whois.content
        assert f"wallet {wallet} — account, signed proof kept" in whois.content
        assert f"wallet {_address(KEY_TWO)}" in whois.content
        assert "also:" not in whois.content

        # Bob links the first wallet from Discord: the private reply is ephemeral, the
        # confirmation lands in the Discord channel only.
        reply = await _slash(h, h.bob, "link", {})
        await _link(http, h, _token_of(h, reply), KEY_ONE)
        bob_confirmation = await h.dc.wait_for(
            lambda: [
                m
                for m in h.dc.messages(h.channel.id)
                if f"@bob linked {short_address(wallet)}" in (m.get("content") or "")
            ],
            TIMEOUT,
        )
        assert len(bob_confirmation) == 1

        whois = await _group_answer(h, h.alice, "/whois")
        assert "also: discord:Bobby" in whois.content
        whois = await _group_answer(h, h.alice, f"/whois {wallet}")
        _, _, accounts = whois.content.partition(f"{wallet} is linked to: ")
        assert accounts, whois.content
        assert sorted(accounts.split(", ")) == ["discord:Bobby", "telegram:Alice"]
        answer = await _slash(h, h.bob, "whois", {}, private=False)
        assert f"wallet {wallet}" in answer and "also: telegram:Alice" in answer
        # By name: the Telegram username Alice linked with, asked from either side.
        answer = await _slash(h, h.bob, "whois", {"who": "telegram:alice_tg"}, private=False)
        assert answer.startswith(f"Alice (telegram:{h.alice.id})") and "discord:Bobby" in answer
        whois = await _group_answer(h, h.alice, "/whois @alice_tg")
        assert whois.content.startswith(f"Alice (telegram:{h.alice.id})")

        # The announcements are the bridge speaking in one chat, not users' messages: they
        # are not relayed anywhere else.
        await h.settle()
        everything_on_discord = [m.get("content") or "" for m in h.dc.messages(h.channel.id)]
        assert not [c for c in everything_on_discord if "@alice_tg linked" in c]
        assert _in_group(h, lambda m: "@bob linked" in m.content) == []
        assert h.waku_copies("linked 0x") == []
        assert len(_in_group(h, lambda m: "@alice_tg linked" in m.content)) == 2
        # Commands are not conversation either: no copy of /link or /whois elsewhere.
        assert not [c for c in everything_on_discord if "/link" in c or "/whois" in c]
        assert h.waku_copies("/whois") == [] and h.waku_copies("/link") == []


# --- avatars ----------------------------------------------------------------------------------


@dataclass
class Files:
    """A tiny web server for token metadata and images on 127.0.0.1."""

    url: str
    port: int
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    def put(self, path: str, content_type: str, body: bytes) -> str:
        self.files[path] = (content_type, body)
        return self.url + path

    def policy(self) -> FetchPolicy:
        """Exactly this server, over http, and nothing else that is not public."""
        return FetchPolicy(
            allowed_schemes=frozenset({"http"}),
            allowed_ports=frozenset({self.port}),
            private_allowlist=frozenset({ipaddress.ip_network("127.0.0.1/32")}),
        )


@pytest.fixture
async def files() -> AsyncIterator[Files]:
    served = Files("", 0)

    async def handle(request: web.Request) -> web.Response:
        served.requested.append(request.path)
        found = served.files.get(request.path)
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found[1], headers={"Content-Type": found[0]})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = int(runner.addresses[0][1])
    served.url, served.port = f"http://127.0.0.1:{port}", port
    try:
        yield served
    finally:
        await runner.cleanup()


def _on_anvil(anvil: Anvil, files: Files) -> Callable[[dict[str, Any]], None]:
    def configure(raw: dict[str, Any]) -> None:
        raw["chain"] = {"rpc_url": anvil.rpc_url, "chain_id": anvil.chain_id}
        # Not used by these tokens (their URIs are plain http), but never the public gateways.
        raw["nft"] = {"ipfs_gateway": f"{files.url}/ipfs/", "arweave_gateway": f"{files.url}/ar/"}

    return configure


def _executions(h: Harness, text: str) -> list[dict[str, Any]]:
    return [e.payload for e in h.dc.webhook_executions if text in (e.content or "")]


async def _execution(h: Harness, text: str) -> dict[str, Any]:
    found = await h.dc.wait_for(lambda: _executions(h, text), TIMEOUT)
    assert len(found) == 1
    return found[0]


def _bridge_fields(h: Harness, text: str) -> Any:
    [seen] = h.waku_copies(text)
    assert seen.envelope is not None
    return getattr(seen.envelope.content, "bridge", None)


@pytest.mark.chain
async def test_verified_nft_avatars_through_the_bridge(
    tmp_path: Path, anvil: Anvil, w3: Any, files: Files
) -> None:
    deployer = anvil.private_keys[0]
    alice_key, bob_key = anvil.private_keys[1], anvil.private_keys[2]
    alice_wallet, bob_wallet = anvil.addresses[1], anvil.addresses[2]
    # ERC-721 token 1 for Alice: tokenURI -> JSON on the local server -> a PNG beside it.
    red = files.put("/img/red.png", "image/png", _png((220, 20, 20)))
    animation = files.put("/anim.html", "text/html", b"<script>alert(1)</script>")
    meta = files.put(
        "/meta/1.json",
        "application/json",
        json.dumps({"name": "Red Square", "image": red, "animation_url": animation}).encode(),
    )
    squares = await deploy(w3, "TestERC721", "Squares", "SQR", private_key=deployer)
    erc721 = at(w3, "TestERC721", squares)
    await send_transaction(w3, erc721.functions.mint(alice_wallet, 1), private_key=deployer)
    await send_transaction(w3, erc721.functions.setTokenURI(1, meta), private_key=deployer)
    # ERC-1155 id 0x2a for Bob, its URI a template with {id} (64 lowercase hex digits).
    badge_id = 0x2A
    blue = files.put("/img/blue.gif", "image/gif", _gif((20, 20, 220)))
    files.put(
        f"/1155/{badge_id:064x}.json",
        "application/json",
        json.dumps({"name": "Blue Badge", "image": blue}).encode(),
    )
    badges = await deploy(w3, "TestERC1155", f"{files.url}/1155/{{id}}.json", private_key=deployer)
    erc1155 = at(w3, "TestERC1155", badges)
    await send_transaction(
        w3, erc1155.functions.mint(bob_wallet, badge_id, 2), private_key=deployer
    )

    async with (
        running_bridge(
            tmp_path, configure=_on_anvil(anvil, files), avatar_fetch_policy=files.policy()
        ) as h,
        aiohttp.ClientSession() as http,
    ):
        public_url = h.settings.web.public_url.rstrip("/")
        h.tg.user_starts_bot(h.alice)
        await _link(http, h, await _telegram_link(h, h.alice), alice_key)
        await h.tg_copy(f"@alice_tg linked {short_address(alice_wallet)}")

        # Someone else's NFT is refused, with the reason, where she asked (nothing secret).
        refusal = await _group_answer(h, h.alice, f"/avatar {badges} {badge_id}")
        assert refusal.content.startswith("Avatar not set")
        assert f"owns token {badge_id} of {badges}" in refusal.content

        done = await _group_answer(h, h.alice, f"/avatar {squares} 1")
        assert done.content.startswith("Your avatar is now")
        assert f"#1 (verified NFT, held by {alice_wallet})" in done.content
        assert files.requested == ["/meta/1.json", "/img/red.png"]  # never animation_url

        whois = await _group_answer(h, h.alice, "/whois")
        assert "avatar: ✅ verified NFT — Red Square #1" in whois.content

        # Alice's next message carries the avatar to Discord (webhook avatar_url) and Waku.
        h.tg.user_sends(h.tg_group, h.alice, "look at my square")
        payload = await _execution(h, "look at my square")
        avatar_url = payload.get("avatar_url")
        assert isinstance(avatar_url, str)
        match = re.fullmatch(re.escape(public_url) + r"/avatars/([0-9a-f]{64})\.png", avatar_url)
        assert match is not None, avatar_url
        async with http.get(avatar_url) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/png"
            served = await resp.read()
        with Image.open(io.BytesIO(served)) as image:
            assert (image.format, image.size) == ("PNG", (256, 256))
            assert image.convert("RGB").getpixel((128, 128)) == (220, 20, 20)
        await h.waku_copy("look at my square")
        assert _bridge_fields(h, "look at my square").user_avatar == avatar_url

        # Bob (Discord) links his wallet and takes the ERC-1155 badge: the Telegram copy of
        # his message marks his name as verified; the Discord side uses it as his avatar.
        reply = await _slash(h, h.bob, "link", {})
        await _link(http, h, _token_of(h, reply), bob_key)
        answer = await _slash(
            h, h.bob, "avatar", {"contract": badges, "token_id": str(badge_id)}, private=False
        )
        assert answer.startswith("Your avatar is now"), answer
        h.dc.user_sends(h.channel.id, h.bob, "badge holder here")
        marked = await h.tg_copy("badge holder here")
        assert marked.content.startswith("Bobby ✓ (discord): ")
        await h.waku_copy("badge holder here")
        bob_avatar = _bridge_fields(h, "badge holder here").user_avatar
        assert bob_avatar.startswith(f"{public_url}/avatars/") and bob_avatar != avatar_url
        async with http.get(bob_avatar) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/png"
            with Image.open(io.BytesIO(await resp.read())) as image:
                assert image.size == (256, 256)

        # Alice's NFT leaves her wallet; /avatar check notices, removes it and tells her.
        await send_transaction(
            w3,
            erc721.functions.transferFrom(alice_wallet, anvil.addresses[3], 1),
            private_key=alice_key,
        )
        checked = await _group_answer(h, h.alice, "/avatar check")
        assert checked.content.startswith("Checked:")
        assert "no longer in a linked wallet; it was removed" in checked.content
        told = await _dm(h, h.alice, lambda t: t.startswith("Your NFT avatar"))
        assert "was removed: no linked wallet of yours holds token 1" in told.content
        whois = await _group_answer(h, h.alice, "/whois")
        assert "avatar:" not in whois.content

        h.tg.user_sends(h.tg_group, h.alice, "square gone")
        payload = await _execution(h, "square gone")
        assert "avatar_url" not in payload
        await h.waku_copy("square gone")
        assert not _bridge_fields(h, "square gone").user_avatar
        # Bob still holds his badge: a re-check keeps it.
        answer = await _slash(h, h.bob, "avatar", {"contract": "check"}, private=False)
        assert "still holds" in answer
        assert _in_group(h, lambda m: "Your NFT avatar" in m.content) == []


# --- the link page in a real browser -----------------------------------------------------------


@pytest.mark.node
async def test_link_page_in_chromium_through_the_bridge(tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "the browser test needs Debian's chromium: apt-get install chromium"
    node = shutil.which("node")
    assert node is not None, "the browser test needs node"
    wallet = _address(KEY_ONE)
    signed: list[str] = []

    # The injected wallet's signatures come from here (eth-account), not from the page.
    async def signer(request: web.Request) -> web.Response:
        body = await request.json()
        assert body["address"] == wallet
        text = bytes.fromhex(str(body["message"]).removeprefix("0x")).decode("utf-8")
        signed.append(text)
        signature = Account.sign_message(encode_defunct(text=text), private_key=KEY_ONE).signature
        return web.json_response({"signature": "0x" + bytes(signature).hex()})

    app = web.Application()
    app.router.add_post("/sign", signer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    signer_url = f"http://127.0.0.1:{runner.addresses[0][1]}/sign"
    try:
        async with running_bridge(tmp_path) as h:
            h.tg.user_starts_bot(h.alice)
            token = await _telegram_link(h, h.alice)
            page = f"{h.settings.web.public_url.rstrip('/')}/link/{token}"
            proc = await asyncio.create_subprocess_exec(
                node,
                str(BROWSER_SCRIPT),
                page,
                signer_url,
                wallet,
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
            assert result["className"] == "ok" and wallet in result["status"], result
            assert result["errors"] == [], result
            confirmation = await h.tg_copy(f"linked {short_address(wallet)}")
            assert confirmation.content.endswith(f"@alice_tg linked {short_address(wallet)}")
            assert len(signed) == 1
            whois = await _group_answer(h, h.alice, "/whois")
            assert f"wallet {wallet} — account, signed proof kept" in whois.content
            # The page's token is spent: opening it again says so.
            async with aiohttp.ClientSession() as http, http.get(page) as resp:
                assert resp.status == 410
    finally:
        await runner.cleanup()
