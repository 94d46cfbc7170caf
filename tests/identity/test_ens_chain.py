"""ENS names in /whois against a real chain: web3 8's ENS over anvil, through a stand-in
Universal Resolver (tests/chain/ens.py), wired exactly as ``install_identity`` wires it.

The rule under test: a wallet's name is shown only when its reverse record resolves AND that
name's forward record points back at the wallet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bots.registry import PLATFORMS
from bridge.commands import CommandRequest, Commands
from bridge.identity.ens import verified_name, web3_lookups
from bridge.identity.install import ENS_CHAINS
from bridge.model import Author, ChatId, ChatRef, UserId
from bridge.store import links
from tests.chain.anvil import Anvil
from tests.chain.ens import UNIVERSAL_RESOLVER, TestEns, install_ens
from tests.identity.support import RecordingNotifier

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain

GROUP = ChatRef("telegram", ChatId("-1001"))
ALICE = Author("telegram", UserId("42"), "Alice", username="alice")
WITH_ANVIL = ENS_CHAINS | {31337}


@asynccontextmanager
async def whois_bridge(
    anvil: Anvil, tmp_path: Path, wallets: list[str], *, ens_chains: frozenset[int] = WITH_ANVIL
) -> AsyncIterator[Commands]:
    """A running bridge on anvil with the identity feature; Alice has linked ``wallets``."""
    from bridge.app import Bridge
    from bridge.config import parse_config
    from bridge.identity.install import install_identity
    from crypto.keys import generate_private_key

    settings = parse_config(
        {
            "bridge": {"data_dir": "data"},
            "waku": {"rest_port": 0},
            "web": {"port": 0},
            "chain": {"rpc_url": anvil.rpc_url, "chain_id": 31337},
        },
        base_dir=tmp_path,
        env={},
        platforms=PLATFORMS,
    )
    registry = Commands()
    bridge = Bridge(settings, generate_private_key())
    install_identity(bridge, registry, RecordingNotifier(), ens_chains=ens_chains)
    async with bridge:
        async with bridge.store.transaction() as db:
            for at, address in enumerate(wallets, start=1):
                await links.add(
                    db,
                    links.WalletLink(
                        "telegram", "42", "Alice", address, 31337, "eoa", "msg", "0x00", at
                    ),
                )
        yield registry


async def whois(commands: Commands, *args: str) -> str:
    request = CommandRequest("whois", args, " ".join(args), GROUP, ALICE)
    reply = await commands.handle(request)
    assert not reply.private
    return reply.text


@pytest.fixture
async def ens(w3: AsyncWeb3[Any], anvil: Anvil) -> TestEns:
    return await install_ens(w3, anvil.private_keys[0])


async def test_reverse_and_matching_forward_show_the_name(
    ens: TestEns, anvil: Anvil, tmp_path: Path
) -> None:
    alice = anvil.addresses[1]
    await ens.set_primary("alice.eth", alice)
    async with whois_bridge(anvil, tmp_path, [alice]) as commands:
        text = await whois(commands)
        assert f"wallet {alice} (alice.eth) — account" in text
        assert (await whois(commands, alice)).startswith(f"{alice} (alice.eth) is linked to")
        # Addresses are matched whatever their case.
        assert (await whois(commands, alice.lower())).startswith(f"{alice.lower()} (alice.eth)")


async def test_reverse_claiming_someone_elses_name_shows_no_name(
    ens: TestEns, anvil: Anvil, tmp_path: Path
) -> None:
    alice, mallory, carol = anvil.addresses[1], anvil.addresses[2], anvil.addresses[3]
    await ens.set_primary("alice.eth", alice)
    await ens.set_name(mallory, "alice.eth")  # anyone can claim any name in their reverse record
    await ens.set_name(carol, "ghost.eth")  # a name with no forward record at all
    async with whois_bridge(anvil, tmp_path, [mallory, carol]) as commands:
        text = await whois(commands)
        assert f"wallet {mallory} — account" in text
        assert f"wallet {carol} — account" in text
        assert "alice.eth" not in text and "ghost.eth" not in text
        assert (await whois(commands, mallory)).startswith(f"{mallory} is linked to")
        # The real owner of the name is still shown with it.
        assert (
            await whois(commands, alice)
        ) == f"{alice} (alice.eth) is not linked to any chat account."


async def test_no_reverse_record_shows_no_name(ens: TestEns, anvil: Anvil, tmp_path: Path) -> None:
    bob = anvil.addresses[4]
    await ens.set_addr("bob.eth", bob)  # forward only: bob never chose a primary name
    async with whois_bridge(anvil, tmp_path, [bob]) as commands:
        text = await whois(commands)
        assert f"wallet {bob} — account" in text and "bob.eth" not in text


async def test_the_rule_through_web3_lookups(
    ens: TestEns, w3: AsyncWeb3[Any], anvil: Anvil
) -> None:
    alice, mallory, nobody = anvil.addresses[1], anvil.addresses[2], anvil.addresses[5]
    await ens.set_primary("alice.eth", alice)
    await ens.set_name(mallory, "alice.eth")
    lookups = web3_lookups(w3)
    assert await lookups.forward("alice.eth") == alice
    assert await lookups.forward("nobody.eth") is None
    assert await lookups.reverse(nobody) is None
    assert await verified_name(alice, lookups) == "alice.eth"
    assert await verified_name(alice.lower(), lookups) == "alice.eth"
    assert await verified_name(mallory, lookups) is None
    assert await verified_name(nobody, lookups) is None
    # Records change with the chain: clearing the forward record hides the name.
    await ens.set_addr("alice.eth", None)
    assert await verified_name(alice, lookups) is None


async def test_ens_is_off_on_anvil_by_default(ens: TestEns, anvil: Anvil, tmp_path: Path) -> None:
    alice = anvil.addresses[1]
    await ens.set_primary("alice.eth", alice)
    async with whois_bridge(anvil, tmp_path, [alice], ens_chains=ENS_CHAINS) as commands:
        assert f"wallet {alice} — account" in await whois(commands)


async def test_a_chain_without_the_resolver_shows_no_name(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice = anvil.addresses[1]
    from web3 import Web3

    # The w3 fixture's evm_revert removed the resolver the other tests installed.
    assert await w3.eth.get_code(Web3.to_checksum_address(UNIVERSAL_RESOLVER)) == b""
    async with whois_bridge(anvil, tmp_path, [alice]) as commands:
        text = await whois(commands)
        assert text.startswith("Alice (telegram:42)")
        assert f"wallet {alice} — account" in text
