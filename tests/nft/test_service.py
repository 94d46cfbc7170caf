"""Verified NFT avatars end to end: anvil for ownership, a local "gateway" server for metadata
and images, the real avatar route for serving, and the /avatar and /whois commands."""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from bridge.commands import CommandRequest, Commands
from bridge.identity.commands import IdentityCommands
from bridge.identity.service import LinkService
from bridge.model import Author, ChatId, ChatRef, UserId
from bridge.nft.safe_fetch import DEFAULT_POLICY, FetchPolicy
from bridge.nft.service import AvatarError, AvatarService
from bridge.nft.web import avatar_routes
from bridge.store import Store, links
from bridge.store import avatars as avatar_store
from contracts import at, deploy, send_transaction
from tests.chain.anvil import Anvil
from tests.identity.support import RecordingNotifier, free_socket, serve

pytestmark = pytest.mark.chain

CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
AR_ID = "a" * 43
START = 1_750_000_000
ALICE = Author("telegram", UserId("42"), "Alice", username="alice")
CHAT = ChatRef("telegram", ChatId("-1001"))


def png(color: tuple[int, int, int], size: int = 16) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    anvil: Anvil
    w3: Any
    store: Store
    notifier: RecordingNotifier
    clock: Clock
    service: AvatarService
    commands: Commands
    files: dict[str, tuple[str, bytes]]
    files_url: str
    public_url: str
    http: aiohttp.ClientSession
    deployer: bytes = b""
    holder: str = ""
    holder_key: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    async def run(self, *args: str, author: Author = ALICE) -> str:
        request = CommandRequest(args[0], tuple(args[1:]), " ".join(args[1:]), CHAT, author)
        return (await self.commands.handle(request)).text

    async def erc721(self, uri: str, token_id: int = 7) -> str:
        contract = await deploy(self.w3, "TestERC721", "Cats", "CAT", private_key=self.deployer)
        c = at(self.w3, "TestERC721", contract)
        await send_transaction(
            self.w3, c.functions.mint(self.holder, token_id), private_key=self.deployer
        )
        await send_transaction(
            self.w3, c.functions.setTokenURI(token_id, uri), private_key=self.deployer
        )
        return contract


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[dict[str, tuple[str, bytes]], str]]:
    files: dict[str, tuple[str, bytes]] = {}

    async def handle(request: web.Request) -> web.Response:
        found = files.get(request.path)
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found[1], headers={"Content-Type": found[0]})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield files, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def make_service(
    store: Store,
    notifier: RecordingNotifier,
    clock: Clock,
    w3: Any,
    *,
    public_url: str = "http://bridge.test",
    **overrides: Any,
) -> AvatarService:
    """An AvatarService on ``store``; by default with the DEFAULT fetch policy."""

    async def provider() -> Any:
        return w3

    options: dict[str, Any] = {
        "ipfs_gateway": "https://ipfs.invalid/ipfs/",
        "arweave_gateway": "https://arweave.invalid/",
        "max_image_bytes": 200_000,
        "fetch_timeout": 5.0,
        "recheck_hours": 24.0,
        "policy": DEFAULT_POLICY,
        **overrides,
    }
    return AvatarService(
        store=lambda: store,
        notifier=notifier,
        public_url=public_url,
        chain_id=31337,
        w3=provider,
        clock=clock,
        **options,
    )


@pytest.fixture
async def env(
    tmp_path: Path, anvil: Anvil, w3: Any, gateway: tuple[dict[str, tuple[str, bytes]], str]
) -> AsyncIterator[Env]:
    files, files_url = gateway
    port = int(files_url.rsplit(":", 1)[1])
    store = await Store.open(tmp_path / "parley.db")
    notifier = RecordingNotifier()
    clock = Clock()
    sock = free_socket()
    public_url = "http://{}:{}".format(*sock.getsockname()[:2])
    policy = FetchPolicy(
        allowed_schemes=frozenset({"http"}),
        allowed_ports=frozenset({port}),
        private_allowlist=frozenset({ipaddress.ip_network("127.0.0.1/32")}),
    )
    service = make_service(
        store,
        notifier,
        clock,
        w3,
        public_url=public_url,
        policy=policy,
        ipfs_gateway=f"{files_url}/ipfs/",
        arweave_gateway=f"{files_url}/ar",
    )
    link_service = LinkService(
        store=lambda: store,
        notifier=notifier,
        public_url=public_url,
        chain_id=31337,
        bridge_name="Parley",
        clock=clock,
    )
    commands = Commands()
    IdentityCommands(link_service, service).register(commands)
    holder, holder_key = anvil.addresses[1], anvil.private_keys[1]
    async with store.transaction() as db:
        await links.add(
            db,
            links.WalletLink("telegram", "42", "Alice", holder, 31337, "eoa", "m", "0x00", START),
        )
        # The same wallet, linked from Discord: /whois shows it as the same person.
        await links.add(
            db,
            links.WalletLink("discord", "99", "AliceD", holder, 31337, "eoa", "m", "0x00", START),
        )
    try:
        async with serve(sock, [avatar_routes(service)]), aiohttp.ClientSession() as http:
            yield Env(
                anvil,
                w3,
                store,
                notifier,
                clock,
                service,
                commands,
                files,
                files_url,
                public_url,
                http,
                deployer=anvil.private_keys[0],
                holder=holder,
                holder_key=holder_key,
            )
    finally:
        await store.close()


async def _served(env: Env, url: str) -> bytes:
    async with env.http.get(url) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "image/png"
        assert "immutable" in r.headers["Cache-Control"]
        return await r.read()


async def test_erc721_ipfs_avatar_is_verified_served_and_shown(env: Env) -> None:
    env.files[f"/ipfs/{CID}/meta/7"] = (
        "application/json",
        json.dumps(
            {"name": "Cat #7", "collection": {"name": "Cats"}, "image": f"ipfs://{CID}/cat.png"}
        ).encode(),
    )
    env.files[f"/ipfs/{CID}/cat.png"] = ("image/png", png((255, 0, 0)))
    contract = await env.erc721(f"ipfs://{CID}/meta/7")

    reply = await env.run("avatar", contract, "7")
    assert reply.startswith("Your avatar is now"), reply
    record = await avatar_store.get(env.store.db, "telegram", "42")
    assert record is not None
    assert record.caip19 == f"eip155:31337/erc721:{contract.lower()}/7"
    assert record.wallet == env.holder and record.verified_at == START and record.block > 0

    url = await env.service.avatar_url_for("telegram", "42")
    assert url == f"{env.public_url}/avatars/{record.image_sha256}.png"
    data = await _served(env, url)
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (256, 256) and img.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    enriched = await env.service.enrich(ALICE)
    assert enriched.avatar_url == url and enriched.display_name == "Alice"
    other = Author("telegram", UserId("5"), "Bob")
    assert await env.service.enrich(other) == other

    whois = await env.run("whois")
    assert env.holder in whois and "also: discord:AliceD" in whois
    assert "verified NFT" in whois and "#7" in whois

    assert "cleared" in await env.run("avatar", "clear")
    assert await env.service.avatar_url_for("telegram", "42") is None
    async with env.http.get(url) as r:  # the image went with the last avatar using it
        assert r.status == 404


async def test_inline_data_uris(env: Env) -> None:
    image = "data:image/png;base64," + base64.b64encode(png((0, 0, 255))).decode()
    meta = json.dumps({"name": "Blue", "image": image})
    uri = "data:application/json;base64," + base64.b64encode(meta.encode()).decode()
    contract = await env.erc721(uri)
    record = await env.service.set_avatar("telegram", "42", contract, 7, 31337)
    data = await _served(env, env.service.image_url(record.image_sha256))
    with Image.open(io.BytesIO(data)) as img:
        assert img.convert("RGB").getpixel((1, 1)) == (0, 0, 255)


async def test_http_metadata_with_arweave_image(env: Env) -> None:
    env.files["/meta.json"] = (
        "application/json",
        json.dumps({"name": "Green", "image": f"ar://{AR_ID}"}).encode(),
    )
    env.files[f"/ar/{AR_ID}"] = ("image/png", png((0, 255, 0)))
    contract = await env.erc721(f"{env.files_url}/meta.json")
    record = await env.service.set_avatar("telegram", "42", contract, 7, None)
    assert record.name == "Green"


async def test_erc1155_with_id_substitution(env: Env) -> None:
    token_id = 0x2A
    env.files[f"/t/{token_id:064x}.json"] = (
        "application/json",
        json.dumps({"name": "Badge", "image": f"{env.files_url}/badge.png"}).encode(),
    )
    env.files["/badge.png"] = ("image/png", png((9, 9, 9)))
    contract = await deploy(
        env.w3, "TestERC1155", f"{env.files_url}/t/{{id}}.json", private_key=env.deployer
    )
    c = at(env.w3, "TestERC1155", contract)
    await send_transaction(
        env.w3, c.functions.mint(env.holder, token_id, 3), private_key=env.deployer
    )
    reply = await env.run("avatar", contract, str(token_id), "anvil")
    assert reply.startswith("Your avatar is now"), reply
    record = await avatar_store.get(env.store.db, "telegram", "42")
    assert record is not None and record.caip19.startswith("eip155:31337/erc1155:")


async def test_transfer_away_then_recheck_removes_and_tells(env: Env) -> None:
    env.files["/m.json"] = (
        "application/json",
        json.dumps({"image": f"{env.files_url}/i.png"}).encode(),
    )
    env.files["/i.png"] = ("image/png", png((1, 2, 3)))
    contract = await env.erc721(f"{env.files_url}/m.json")
    await env.service.set_avatar("telegram", "42", contract, 7, None)

    # Still held: the scheduled re-check keeps it and refreshes the proof.
    env.clock.now += 25 * 3600
    outcome = await env.service.recheck_due()
    assert (outcome.kept, outcome.removed) == (1, 0)
    assert "still holds" in await env.run("avatar", "check")

    c = at(env.w3, "TestERC721", contract)
    await send_transaction(
        env.w3,
        c.functions.transferFrom(env.holder, env.anvil.addresses[5], 7),
        private_key=env.holder_key,
    )
    env.clock.now += 25 * 3600
    outcome = await env.service.recheck_due()
    assert (outcome.kept, outcome.removed) == (0, 1)
    assert await env.service.avatar_url_for("telegram", "42") is None
    [(platform, user_id, text)] = env.notifier.told
    assert (platform, user_id) == ("telegram", "42")
    assert "was removed" in text and "no linked wallet of yours holds token 7" in text
    assert "no NFT avatar" in await env.run("avatar", "check")


async def test_on_demand_check_after_unlink(env: Env) -> None:
    env.files["/m.json"] = (
        "application/json",
        json.dumps({"image": f"{env.files_url}/i.png"}).encode(),
    )
    env.files["/i.png"] = ("image/png", png((1, 2, 3)))
    contract = await env.erc721(f"{env.files_url}/m.json")
    await env.service.set_avatar("telegram", "42", contract, 7, None)
    assert "Unlinked 1 wallet" in await env.run("unlink", env.holder)
    assert await env.service.avatar_url_for("telegram", "42") is None
    assert "no longer have a linked wallet" in env.notifier.told[0][2]


async def test_refusals_have_clear_reasons(env: Env) -> None:
    env.files["/garbage.json"] = ("application/json", b"\x00not json at all")
    env.files["/huge.json"] = ("application/json", b'{"a": "' + b"x" * 300_000 + b'"}')
    env.files["/badimg.json"] = (
        "application/json",
        json.dumps({"image": f"{env.files_url}/bad.png"}).encode(),
    )
    env.files["/bad.png"] = ("image/png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    env.files["/bigimg.json"] = (
        "application/json",
        json.dumps({"image": f"{env.files_url}/big.png"}).encode(),
    )
    env.files["/big.png"] = ("image/png", b"\x89PNG" + bytes(250_000))
    env.files["/svg.json"] = (
        "application/json",
        json.dumps({"image_data": "<svg xmlns='http://www.w3.org/2000/svg'/>"}).encode(),
    )
    env.files["/noimage.json"] = ("application/json", json.dumps({"name": "x"}).encode())
    cases = {
        "/garbage.json": "metadata was refused",
        "/huge.json": "metadata was refused",
        "/badimg.json": "image was refused: the PNG image is damaged",
        "/bigimg.json": "image was refused",
        "/svg.json": "SVG",
        "/noimage.json": "names no image",
    }
    for token_id, (path, reason) in enumerate(cases.items(), start=1):
        contract = await env.erc721(f"{env.files_url}{path}", token_id)
        reply = await env.run("avatar", contract, str(token_id))
        assert reply.startswith("Avatar not set:") and reason in reply, (path, reply)
    assert await env.service.avatar_url_for("telegram", "42") is None

    contract = await env.erc721(f"{env.files_url}/noimage.json", 50)
    not_owned = await env.run("avatar", contract, "51")
    assert "none of your linked wallets" in not_owned and "owns token 51" in not_owned
    bob = Author("telegram", UserId("7"), "Bob")
    assert "link a wallet first" in await env.run("avatar", contract, "50", author=bob)
    assert "not an NFT contract" in await env.run("avatar", env.anvil.addresses[3], "1")
    assert "chain 31337 only, not chain 1" in await env.run("avatar", contract, "50", "ethereum")
    assert "unknown chain" in await env.run("avatar", contract, "50", "narnia")
    assert "Usage" in await env.run("avatar", "0x1234", "1")
    assert "Usage" in await env.run("avatar", contract, "-1")


async def test_ssrf_through_metadata_is_refused_by_default(env: Env) -> None:
    service = make_service(env.store, env.notifier, env.clock, env.w3)
    reasons: list[str] = []
    for image in (
        "https://127.0.0.1/x.png",
        "https://169.254.169.254/latest",
        "http://example.org/a.png",
    ):
        meta = json.dumps({"image": image})
        uri = "data:application/json;base64," + base64.b64encode(meta.encode()).decode()
        contract = await env.erc721(uri)
        with pytest.raises(AvatarError, match="image was refused") as caught:
            await service.set_avatar("telegram", "42", contract, 7, None)
        reasons.append(str(caught.value))
    assert "it does not point to a public internet address" in reasons[0], reasons
    assert "it does not point to a public internet address" in reasons[1], reasons
    assert "scheme 'http' is not allowed" in reasons[2], reasons
    # The metadata itself on a private address is refused too.
    contract = await env.erc721(f"{env.files_url}/m.json")
    with pytest.raises(AvatarError, match="metadata was refused"):
        await service.set_avatar("telegram", "42", contract, 7, None)


async def test_avatar_errors_tell_users_a_reason_and_the_log_the_detail(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    # The production policy; metadata or image on a name that resolves into the bridge's network.
    service = make_service(env.store, env.notifier, env.clock, env.w3)
    commands = Commands()
    IdentityCommands(_links(env), service).register(commands)
    meta = json.dumps({"image": "https://localhost/x.png"}).encode()
    image_uri = "data:application/json;base64," + base64.b64encode(meta).decode()
    replies = []
    with caplog.at_level(logging.INFO, logger="bridge.nft"):
        for token_uri in ("https://localhost/m.json", image_uri):
            contract = await env.erc721(token_uri)
            request = CommandRequest("avatar", (contract, "7"), f"{contract} 7", CHAT, ALICE)
            replies.append((await commands.handle(request)).text)
    for reply in replies:
        assert reply.startswith("Avatar not set:"), reply
        assert "does not point to a public internet address" in reply, reply
        assert "127.0.0.1" not in reply and "::1" not in reply and "resolves" not in reply
    assert "localhost resolves to" in caplog.text


def _links(env: Env) -> LinkService:
    return LinkService(
        store=lambda: env.store,
        notifier=env.notifier,
        public_url=env.public_url,
        chain_id=31337,
        bridge_name="Parley",
        clock=env.clock,
    )
