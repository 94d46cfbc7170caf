"""The /link, /unlink and /whois commands over the link service, and the ENS name rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bots.registry import PLATFORMS
from bridge.commands import CommandRequest, Commands
from bridge.identity.commands import IdentityCommands
from bridge.identity.ens import EnsLookups, verified_name
from bridge.identity.service import LinkService
from bridge.model import Author, ChatId, ChatRef, UserId
from bridge.store import Store, links
from tests.identity.support import RecordingNotifier
from tests.platforms import INDEX

A1 = "0x" + "a1" * 20
A2 = "0x" + "b2" * 20
GROUP = ChatRef("telegram", ChatId("-1001"))
ALICE = Author("telegram", UserId("42"), "Alice", username="alice")
ALICE_D = Author("discord", UserId("900000000000000001"), "AliceD")


def lookups(reverse: dict[str, str], forward: dict[str, str]) -> EnsLookups:
    async def rev(address: str) -> str | None:
        return reverse.get(address.lower())

    async def fwd(name: str) -> str | None:
        if name == "boom.eth":
            raise RuntimeError("resolver reverted")
        return forward.get(name)

    return EnsLookups(reverse=rev, forward=fwd)


ENS = lookups(
    reverse={A1: "alice.eth", A2: "vitalik.eth"},
    forward={"alice.eth": A1.upper().replace("0X", "0x"), "vitalik.eth": "0x" + "dd" * 20},
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "parley.db")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def commands(store: Store) -> Commands:
    service = LinkService(
        store=lambda: store,
        notifier=RecordingNotifier(),
        public_url="https://bridge.example:8443",
        chain_id=1,
        bridge_name="Parley",
        clock=lambda: 1_750_000_000,
    )
    registry = Commands()
    IdentityCommands(service, None, ENS, INDEX).register(registry)
    async with store.transaction() as db:
        for author, address, at in ((ALICE, A1, 1), (ALICE, A2, 2), (ALICE_D, A1, 3)):
            await links.add(
                db,
                links.WalletLink(
                    author.platform,
                    str(author.user_id),
                    author.display_name,
                    address,
                    1,
                    "eoa",
                    "signed text",
                    "0x00",
                    at,
                ),
            )
    return registry


async def run(commands: Commands, *args: str, author: Author = ALICE) -> tuple[str, bool]:
    request = CommandRequest(args[0], tuple(args[1:]), " ".join(args[1:]), GROUP, author)
    reply = await commands.handle(request)
    return reply.text, reply.private


async def test_link_answers_privately_with_a_one_time_url(commands: Commands, store: Store) -> None:
    text, private = await run(commands, "link")
    assert private
    assert "https://bridge.example:8443/link/" in text and "10 minutes" in text
    token = text.rsplit("/link/", 1)[1].strip()
    assert len(token) == 43
    # Only the token's hash is stored.
    async with store.db.execute("SELECT token_hash, chat_id, username FROM link_tokens") as cur:
        [row] = await cur.fetchall()
    assert token.encode() not in bytes(row[0]) and len(bytes(row[0])) == 32
    assert (row[1], row[2]) == ("-1001", "alice")


async def test_verified_name_needs_the_forward_record_back() -> None:
    assert await verified_name(A1, ENS) == "alice.eth"
    assert await verified_name(A2, ENS) is None  # claims vitalik.eth, which points elsewhere
    assert await verified_name("0x" + "cc" * 20, ENS) is None
    assert await verified_name(A1, None) is None
    broken = lookups(reverse={A1: "boom.eth"}, forward={})
    assert await verified_name(A1, broken) is None
    spoof = lookups(reverse={A1: "alice.eth\n@everyone"}, forward={"alice.eth\n@everyone": A1})
    assert await verified_name(A1, spoof) is None


async def test_whois_shows_wallets_names_and_other_accounts(commands: Commands) -> None:
    text, private = await run(commands, "whois")
    assert not private
    assert text.startswith("Alice (telegram:42)")
    assert f"wallet {A1} (alice.eth)" in text
    assert f"wallet {A2} — account" in text  # no name: its forward record disagrees
    assert "also: discord:AliceD" in text

    by_mention = (await run(commands, "whois", "<@900000000000000001>", author=ALICE_D))[0]
    assert by_mention.startswith("AliceD (discord:900000000000000001)")
    assert "also: telegram:Alice" in by_mention
    assert (await run(commands, "whois", "telegram:42"))[0] == text
    assert (await run(commands, "whois", "42"))[0] == text
    assert (await run(commands, "whois", "@alice"))[0] == text  # by display name
    by_address = (await run(commands, "whois", A1.upper().replace("0X", "0x")))[0]
    assert by_address == f"{A1.upper().replace('0X', '0x')} (alice.eth) is linked to: " + (
        "telegram:Alice, discord:AliceD"
    )
    assert "no linked wallet" in (await run(commands, "whois", "77"))[0]
    assert "No linked account named nobody" in (await run(commands, "whois", "@nobody"))[0]
    assert "Usage" in (await run(commands, "whois", "a", "b"))[0]


async def test_unlink_one_then_all(commands: Commands, store: Store) -> None:
    text, private = await run(commands, "unlink", A2)
    assert not private and text == "Unlinked 1 wallet."  # nothing secret: said in the chat
    assert [w.address for w in await links.wallets_of(store.db, "telegram", "42")] == [A1]
    assert "is not linked" in (await run(commands, "unlink", A2))[0]
    assert "Usage" in (await run(commands, "unlink", "0xnope"))[0]
    assert (await run(commands, "unlink"))[0] == "Unlinked 1 wallet."
    assert await links.wallets_of(store.db, "telegram", "42") == []
    # The Discord account's link to the same address is its own.
    assert [w.platform for w in await links.accounts_of(store.db, A1)] == ["discord"]
    assert "no linked wallet" in (await run(commands, "unlink"))[0]


async def test_install_identity_wires_commands_routes_and_components(tmp_path: Path) -> None:
    from bridge.app import Bridge
    from bridge.config import parse_config
    from bridge.identity.install import install_identity
    from crypto.keys import generate_private_key

    settings = parse_config(
        {"bridge": {"data_dir": "data"}, "waku": {"rest_port": 0}, "web": {"port": 0}},
        base_dir=tmp_path,
        env={},
        platforms=PLATFORMS,
    )
    registry = Commands()
    notifier = RecordingNotifier()
    bridge = Bridge(settings, generate_private_key())
    feature = install_identity(bridge, registry, notifier)
    assert {"link", "unlink", "whois", "avatar"} <= {s.name for s in registry.specs()}
    async with bridge:
        assert bridge.web is not None
        assert {"chain_client", "avatars"} <= {c.name for c in bridge.components}
        text, private = await run(registry, "link")
        assert private
        token = text.rsplit("/link/", 1)[1].strip()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{bridge.web.url}/link/{token}") as page,
        ):
            assert page.status == 200
        assert await feature.enrich(ALICE) == ALICE  # no avatar yet
        # Without an RPC, avatars explain why they cannot be verified.
        text, _ = await run(registry, "avatar", "0x" + "ab" * 20, "1")
        assert "link a wallet first" in text


async def test_whois_takes_the_user_syntax_of_every_registered_platform(store: Store) -> None:
    from bots.matrix import SPEC as MATRIX
    from bridge.platform_index import PlatformIndex

    without_matrix = PlatformIndex.of([s for s in PLATFORMS if s is not MATRIX])
    service = LinkService(
        store=lambda: store,
        notifier=RecordingNotifier(),
        public_url="https://bridge.example:8443",
        chain_id=1,
        bridge_name="Parley",
    )
    registry = Commands()
    IdentityCommands(service, None, None, INDEX).register(registry)
    mxid = "@bob:example.org"
    async with store.transaction() as db:
        await links.add(
            db, links.WalletLink("matrix", mxid, "Bob", A1, 1, "eoa", "signed text", "0x00", 1)
        )
    # Matrix's own way to write a user, from a Telegram chat: no name lookup on Telegram.
    assert (await run(registry, "whois", mxid))[0].startswith(f"Bob (matrix:{mxid})")
    # Without the Matrix spec the same text is only a name, looked up on the asking platform.
    plain = Commands()
    IdentityCommands(service, None, None, without_matrix).register(plain)
    assert (
        "No linked account named bob:example.org on telegram"
        in (await run(plain, "whois", mxid))[0]
    )
