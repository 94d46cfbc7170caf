"""The stand-in Universal Resolver (contracts/test/TestUniversalResolver.sol) and the helper
that installs it at the real resolver's address (tests/chain/ens.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from ens.utils import (  # type: ignore[import-untyped]  # web3's ens ships no py.typed
    address_to_reverse_domain,
    dns_encode_name,
    normal_name_to_hash,
)

from contracts import load_artifact, send_transaction
from tests.chain.anvil import Anvil
from tests.chain.ens import UNIVERSAL_RESOLVER, install_ens
from tests.contracts.helpers import reverts_with

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain

ABI = load_artifact("TestUniversalResolver").abi
ADDR = bytes.fromhex("3b3b57de")  # addr(bytes32)


async def test_installed_at_the_universal_resolver_and_owned_by_the_first_setter(
    w3: AsyncWeb3[Any], anvil: Anvil
) -> None:
    ens = await install_ens(w3, anvil.private_keys[0])
    assert ens.contract.address == UNIVERSAL_RESOLVER
    code = await w3.eth.get_code(ens.contract.address)
    assert code.to_0x_hex() == load_artifact("TestUniversalResolver").deployed_bytecode
    # setCode moved no storage: nobody owns it until the first setter call.
    assert await ens.contract.functions.owner().call() == "0x" + "00" * 20
    await ens.set_addr("alice.eth", anvil.addresses[1])
    assert await ens.contract.functions.owner().call() == anvil.addresses[0]
    intruder = ens.contract.functions.setAddr("alice.eth", anvil.addresses[2])
    await reverts_with(
        send_transaction(w3, intruder, private_key=anvil.private_keys[2]),
        ABI,
        "NotOwner",
        anvil.addresses[2],
    )
    assert await w3.ens.address("alice.eth") == anvil.addresses[1]  # type: ignore[union-attr]


async def test_hashes_match_web3s(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    ens = await install_ens(w3, anvil.private_keys[0])
    functions = ens.contract.functions
    for name in ("eth", "alice.eth", "pay.alice.eth", "_a-b.xyz"):
        node = normal_name_to_hash(name)
        assert await functions.namehash(name).call() == node
        assert await functions.dnsNamehash(bytes(dns_encode_name(name)), 0).call() == node
    assert await functions.namehash("").call() == b"\x00" * 32
    for address in anvil.addresses[:3]:
        reverse = normal_name_to_hash(address_to_reverse_domain(address))
        assert await functions.reverseNode(address).call() == reverse
    for bad in (".eth", "alice.", "alice..eth"):
        await reverts_with(functions.namehash(bad).call(), ABI, "InvalidName", bad)


async def test_resolve_refuses_what_web3_never_sends(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    ens = await install_ens(w3, anvil.private_keys[0])
    await ens.set_addr("alice.eth", anvil.addresses[1])
    resolve = ens.contract.functions.resolve
    alice = bytes(dns_encode_name("alice.eth"))
    node = normal_name_to_hash("alice.eth")
    result, resolver = await resolve(alice, ADDR + node).call()
    assert resolver == UNIVERSAL_RESOLVER
    assert result == bytes(12) + bytes.fromhex(anvil.addresses[1][2:])
    # The DNS name and the node must agree.
    other = normal_name_to_hash("bob.eth")
    await reverts_with(resolve(alice, ADDR + other).call(), ABI, "NodeMismatch", alice, other)
    truncated = alice[:-1]
    await reverts_with(resolve(truncated, ADDR + node).call(), ABI, "MalformedDnsName", truncated)
    # Only addr(bytes32) and name(bytes32): not addr(bytes32,uint256), text(...), ...
    multicoin = bytes.fromhex("f1cb7e06") + node + (60).to_bytes(32, "big")
    await reverts_with(
        resolve(alice, multicoin).call(), ABI, "UnsupportedResolverProfile", multicoin[:4]
    )
    assert await w3.ens.address("alice.eth", coin_type=60) is None  # type: ignore[union-attr]
    # An unknown name reverts as the real resolver does for a name without a resolver.
    bob = bytes(dns_encode_name("bob.eth"))
    await reverts_with(resolve(bob, ADDR + other).call(), ABI, "ResolverNotFound", bob)


async def test_web3_ens_reads_through_it(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    alice, mallory, nobody = anvil.addresses[1], anvil.addresses[2], anvil.addresses[3]
    ens = await install_ens(w3, anvil.private_keys[0])
    await ens.set_primary("Alice.eth", alice)  # stored under its normalised form
    await ens.set_name(mallory, "alice.eth")
    names = w3.ens
    assert await names.address("alice.eth") == alice  # type: ignore[union-attr]
    assert await names.address("ALICE.eth") == alice  # type: ignore[union-attr]
    assert await names.address("nobody.eth") is None  # type: ignore[union-attr]
    assert await names.name(alice) == "alice.eth"  # type: ignore[union-attr]
    assert await names.name(mallory) is None  # type: ignore[union-attr]
    assert await names.name(nobody) is None  # type: ignore[union-attr]
    await ens.set_name(alice, None)
    assert await names.name(alice) is None  # type: ignore[union-attr]
