"""The test contracts other suites build on: NFTs, an EIP-1271 wallet and odd cases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError

from contracts import at, deploy, send_transaction
from tests.chain.anvil import Anvil
from tests.contracts.helpers import reverts_with

if TYPE_CHECKING:
    from web3 import AsyncWeb3
    from web3.contract import AsyncContract

pytestmark = pytest.mark.chain

ERC165 = bytes.fromhex("01ffc9a7")
ERC721 = bytes.fromhex("80ac58cd")
ERC721_METADATA = bytes.fromhex("5b5e139f")
ERC1155 = bytes.fromhex("d9b67a26")
MAGIC_1271 = bytes.fromhex("1626ba7e")


async def _deploy(w3: AsyncWeb3[Any], anvil: Anvil, name: str, *args: Any) -> AsyncContract:
    return at(w3, name, await deploy(w3, name, *args, private_key=anvil.private_keys[0]))


async def test_erc721_mint_owner_uri_and_interfaces(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    key, bob = anvil.private_keys[0], anvil.addresses[1]
    nft = await _deploy(w3, anvil, "TestERC721", "Parley Test", "PTN")
    await send_transaction(w3, nft.functions.mint(bob, 7), private_key=key)
    uri = "ipfs://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG/7.json"
    await send_transaction(w3, nft.functions.setTokenURI(7, uri), private_key=key)

    assert await nft.functions.ownerOf(7).call() == bob
    assert await nft.functions.tokenURI(7).call() == uri
    assert await nft.functions.balanceOf(bob).call() == 1
    for interface in (ERC165, ERC721, ERC721_METADATA):
        assert await nft.functions.supportsInterface(interface).call() is True
    assert await nft.functions.supportsInterface(ERC1155).call() is False
    # A token that does not exist (or was burnt) has no owner: ownerOf reverts.
    await reverts_with(nft.functions.ownerOf(8).call(), nft.abi, "ERC721NonexistentToken", 8)
    await send_transaction(w3, nft.functions.burn(7), private_key=key)
    await reverts_with(nft.functions.ownerOf(7).call(), nft.abi, "ERC721NonexistentToken", 7)


async def test_erc721_transfer_changes_the_owner(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    nft = await _deploy(w3, anvil, "TestERC721", "Parley Test", "PTN")
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    await send_transaction(w3, nft.functions.mint(alice, 1), private_key=anvil.private_keys[0])
    await send_transaction(
        w3, nft.functions.transferFrom(alice, bob, 1), private_key=anvil.private_keys[0]
    )
    assert await nft.functions.ownerOf(1).call() == bob


async def test_erc1155_balance_uri_and_interfaces(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    template = "https://nft.example/{id}.json"
    multi = await _deploy(w3, anvil, "TestERC1155", template)
    bob = anvil.addresses[1]
    await send_transaction(w3, multi.functions.mint(bob, 42, 3), private_key=anvil.private_keys[0])

    assert await multi.functions.balanceOf(bob, 42).call() == 3
    assert await multi.functions.balanceOf(bob, 43).call() == 0
    assert await multi.functions.balanceOf(anvil.addresses[2], 42).call() == 0
    # The client substitutes {id}: the contract returns the template unchanged.
    assert await multi.functions.uri(42).call() == template
    assert await multi.functions.supportsInterface(ERC1155).call() is True
    assert await multi.functions.supportsInterface(ERC721).call() is False


async def test_wallet_1271_accepts_only_its_owners_signature(
    w3: AsyncWeb3[Any], anvil: Anvil
) -> None:
    owner_key = anvil.private_keys[1]
    wallet = await _deploy(w3, anvil, "TestWallet1271", anvil.addresses[1])
    assert await wallet.functions.owner().call() == anvil.addresses[1]
    message = encode_defunct(text="parley.example wants you to sign in")
    digest = defunct_hash_message(text="parley.example wants you to sign in")
    good = Account.sign_message(message, owner_key).signature
    other = Account.sign_message(message, anvil.private_keys[2]).signature

    assert await wallet.functions.isValidSignature(digest, good).call() == MAGIC_1271
    assert await wallet.functions.isValidSignature(digest, other).call() == b"\xff" * 4
    assert await wallet.functions.isValidSignature(keccak(b"else"), good).call() == b"\xff" * 4
    # A malformed signature is answered, not reverted.
    assert await wallet.functions.isValidSignature(digest, b"\x01" * 10).call() == b"\xff" * 4


async def test_reverting_token_uri(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    nft = await _deploy(w3, anvil, "RevertingTokenURI")
    await send_transaction(
        w3, nft.functions.mint(anvil.addresses[1], 1), private_key=anvil.private_keys[0]
    )
    assert await nft.functions.ownerOf(1).call() == anvil.addresses[1]
    assert await nft.functions.supportsInterface(ERC721).call() is True
    await reverts_with(nft.functions.tokenURI(1).call(), nft.abi, "NoMetadata")


async def test_contract_without_erc165(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    plain = await _deploy(w3, anvil, "NoERC165")
    assert await plain.functions.ownerOf(1).call() == anvil.addresses[0]
    probe = at(w3, "TestERC721", plain.address)  # borrow an ABI that has supportsInterface
    with pytest.raises(ContractLogicError):
        await probe.functions.supportsInterface(ERC721).call()


async def test_token_decimals_are_configurable(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    for decimals in (6, 18):
        token = await _deploy(w3, anvil, "TestERC20", "T", "T", decimals)
        assert await token.functions.decimals().call() == decimals


async def test_fee_token_refuses_a_fee_above_100_percent(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    with pytest.raises(ContractLogicError):
        await deploy(w3, "FeeOnTransferERC20", "F", "F", 10_001, private_key=anvil.private_keys[0])
