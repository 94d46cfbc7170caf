"""NFT ownership on anvil: ERC-721, ERC-1155, contracts without ERC-165, pinned blocks."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.nft.ownership import (
    Ownership,
    OwnershipError,
    caip19,
    check_ownership,
    parse_caip19,
)
from contracts import at, deploy, send_transaction
from tests.chain.anvil import Anvil

pytestmark = pytest.mark.chain


async def test_erc721_owner_uri_and_transfer_pinned_to_blocks(anvil: Anvil, w3: Any) -> None:
    deployer, alice, bob = anvil.private_keys[0], anvil.addresses[1], anvil.addresses[2]
    address = await deploy(w3, "TestERC721", "Avatars", "AVA", private_key=deployer)
    token = at(w3, "TestERC721", address)
    await send_transaction(w3, token.functions.mint(alice, 7), private_key=deployer)
    await send_transaction(
        w3,
        token.functions.setTokenURI(7, "ipfs://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"),
        private_key=deployer,
    )
    before = await check_ownership(w3, address, 7, alice)
    assert before == Ownership(
        standard="erc721",
        owned=True,
        token_uri="ipfs://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        block=await w3.eth.block_number,
    )
    assert (await check_ownership(w3, address, 7, bob)).owned is False
    await send_transaction(
        w3, token.functions.transferFrom(alice, bob, 7), private_key=anvil.private_keys[1]
    )
    assert (await check_ownership(w3, address, 7, alice)).owned is False
    assert (await check_ownership(w3, address, 7, bob)).owned is True
    # Reads pinned to the earlier block still see Alice as the owner.
    pinned = await check_ownership(w3, address, 7, alice, block=before.block)
    assert pinned.owned is True and pinned.block == before.block


async def test_erc721_missing_token_reverts_to_not_owned(anvil: Anvil, w3: Any) -> None:
    address = await deploy(w3, "TestERC721", "A", "A", private_key=anvil.private_keys[0])
    result = await check_ownership(w3, address, 99, anvil.addresses[1])
    assert (result.standard, result.owned, result.token_uri) == ("erc721", False, None)


async def test_reverting_token_uri_is_none(anvil: Anvil, w3: Any) -> None:
    deployer = anvil.private_keys[0]
    address = await deploy(w3, "RevertingTokenURI", private_key=deployer)
    token = at(w3, "RevertingTokenURI", address)
    await send_transaction(w3, token.functions.mint(anvil.addresses[1], 1), private_key=deployer)
    result = await check_ownership(w3, address, 1, anvil.addresses[1])
    assert (result.standard, result.owned, result.token_uri) == ("erc721", True, None)


async def test_erc1155_balance_and_uri_template(anvil: Anvil, w3: Any) -> None:
    deployer = anvil.private_keys[0]
    address = await deploy(
        w3, "TestERC1155", "https://meta.example/{id}.json", private_key=deployer
    )
    token = at(w3, "TestERC1155", address)
    await send_transaction(w3, token.functions.mint(anvil.addresses[1], 3, 2), private_key=deployer)
    holder = await check_ownership(w3, address, 3, anvil.addresses[1])
    assert holder.standard == "erc1155" and holder.owned is True
    assert holder.token_uri == "https://meta.example/{id}.json"
    assert (await check_ownership(w3, address, 3, anvil.addresses[2])).owned is False
    assert (await check_ownership(w3, address, 4, anvil.addresses[1])).owned is False


async def test_contracts_without_erc165_and_accounts_are_unknown(anvil: Anvil, w3: Any) -> None:
    address = await deploy(w3, "NoERC165", private_key=anvil.private_keys[0])
    # NoERC165's ownerOf names the deployer for every id, but it is not trusted.
    result = await check_ownership(w3, address, 1, anvil.addresses[0])
    assert (result.standard, result.owned) == ("unknown", False)
    plain = await check_ownership(w3, anvil.addresses[5], 1, anvil.addresses[0])
    assert (plain.standard, plain.owned, plain.token_uri) == ("unknown", False, None)
    # A contract that says yes to every interface (it returns 1 for any call) fails ERC-165's
    # 0xffffffff probe.
    yes_man = "0x" + "ab" * 20
    # PUSH1 1 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    await w3.provider.make_request("anvil_setCode", [yes_man, "0x600160005260206000f3"])
    assert (await check_ownership(w3, yes_man, 1, anvil.addresses[0])).standard == "unknown"


async def test_unreachable_chain_raises_ownership_error() -> None:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    w3 = AsyncWeb3(AsyncHTTPProvider("http://127.0.0.1:9"))
    try:
        with pytest.raises(OwnershipError, match="could not read the chain"):
            await check_ownership(w3, "0x" + "11" * 20, 1, "0x" + "22" * 20, timeout=5)
    finally:
        await w3.provider.disconnect()


async def test_bad_arguments_are_value_errors(w3: Any) -> None:
    with pytest.raises(ValueError, match="addresses"):
        await check_ownership(w3, "0x1234", 1, "0x" + "22" * 20)
    with pytest.raises(ValueError, match="256-bit"):
        await check_ownership(w3, "0x" + "11" * 20, 2**256, "0x" + "22" * 20)


def test_caip19_round_trip() -> None:
    contract = "0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D"
    asset = caip19(1, "erc721", contract, 42)
    assert asset == "eip155:1/erc721:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d/42"
    assert parse_caip19(asset) == (1, "erc721", contract.lower(), 42)
    for bad in (
        "eip155:0/erc721:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d/42",
        "eip155:1/erc20:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d/42",
        "eip155:1/erc721:0xbc4c/42",
        "eip155:1/erc721:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d/042",
        f"eip155:1/erc1155:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d/{2**256}",
    ):
        with pytest.raises(ValueError):
            parse_caip19(bad)
    with pytest.raises(ValueError):
        caip19(1, "erc721", "0x12", 1)
