"""Signature verification: EOA recovery, EIP-1271 on anvil, ERC-6492 refusal."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct

from bridge.identity.verify import (
    ERC6492_SUFFIX,
    JsonRpc,
    SignatureError,
    eip191_hash,
    recover_eoa,
    verify_signature,
)
from contracts import deploy
from tests.chain.anvil import Anvil

TEXT = (
    "parley.example wants you to sign in with your Ethereum account:\n"
    "0x0000000000000000000000000000000000000000\n\nURI: https://parley.example/link\n"
)
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ACCOUNT = Account.from_key(KEY)


def _sign(text: str, key: bytes = KEY) -> bytes:
    return bytes(Account.sign_message(encode_defunct(text=text), private_key=key).signature)


def test_eip191_hash_matches_eth_account() -> None:
    assert eip191_hash("héllo") == bytes(defunct_hash_message(text="héllo"))


def test_recover_eoa_with_every_v_form() -> None:
    signature = _sign(TEXT)
    assert signature[64] in (27, 28)
    assert recover_eoa(TEXT, signature) == ACCOUNT.address
    raw_v = signature[:64] + bytes((signature[64] - 27,))
    assert recover_eoa(TEXT, raw_v) == ACCOUNT.address


def test_recover_eoa_of_other_text_is_another_address() -> None:
    assert recover_eoa(TEXT + " ", _sign(TEXT)) != ACCOUNT.address


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (b"\x01" * 64, "65 bytes"),
        (b"\x01" * 64 + bytes((29,)), "recovery id"),
        (bytes(64) + bytes((27,)), "malformed"),
    ],
    ids=["short", "bad-v", "zero-r-s"],
)
def test_recover_eoa_refuses_malformed(signature: bytes, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        recover_eoa(TEXT, signature)


async def test_verify_eoa_without_rpc() -> None:
    kind = await verify_signature(TEXT, _sign(TEXT), ACCOUNT.address.lower(), rpc=None, chain_id=1)
    assert kind == "eoa"


async def test_wrong_signer_without_rpc_is_refused() -> None:
    other = bytes.fromhex("11" * 32)
    with pytest.raises(SignatureError, match="not made by"):
        await verify_signature(TEXT, _sign(TEXT, other), ACCOUNT.address, rpc=None, chain_id=1)


async def test_erc6492_signature_is_refused_with_a_clear_error() -> None:
    wrapped = b"\x00" * 96 + _sign(TEXT) + ERC6492_SUFFIX
    with pytest.raises(SignatureError, match="ERC-6492"):
        await verify_signature(TEXT, wrapped, ACCOUNT.address, rpc=None, chain_id=1)


async def test_malformed_address_is_refused() -> None:
    with pytest.raises(SignatureError, match="40 hexadecimal"):
        await verify_signature(TEXT, _sign(TEXT), "0x1234", rpc=None, chain_id=1)


async def test_oversized_signature_is_refused() -> None:
    with pytest.raises(SignatureError, match="too large"):
        await verify_signature(TEXT, b"\x00" * 100_000, ACCOUNT.address, rpc=None, chain_id=1)


# -- EIP-1271 against contracts on anvil --------------------------------------------------------


def _http_rpc(url: str, session: aiohttp.ClientSession) -> JsonRpc:
    async def call(method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with session.post(url, json=body) as response:
            reply = await response.json()
        if "error" in reply:
            raise RuntimeError(str(reply["error"]))
        return reply["result"]

    return call


@pytest.mark.chain
async def test_eip1271_wallet_accepts_its_owners_signature(anvil: Anvil, w3: Any) -> None:
    owner_key = anvil.private_keys[1]
    wallet = await deploy(
        w3, "TestWallet1271", Account.from_key(owner_key).address, private_key=anvil.private_keys[0]
    )
    signature = _sign(TEXT, owner_key)
    assert await verify_signature(TEXT, signature, wallet, rpc=w3, chain_id=31337) == "eip1271"
    async with aiohttp.ClientSession() as session:
        rpc = _http_rpc(anvil.rpc_url, session)
        assert await verify_signature(TEXT, signature, wallet, rpc=rpc, chain_id=31337) == (
            "eip1271"
        )
        # Someone else's signature: the wallet answers 0xffffffff.
        stranger = _sign(TEXT, anvil.private_keys[2])
        with pytest.raises(SignatureError, match="nor accepted by its contract"):
            await verify_signature(TEXT, stranger, wallet, rpc=rpc, chain_id=31337)
        # The right signature checked against another chain than the RPC's.
        with pytest.raises(SignatureError, match=r"chain 1:.*31337"):
            await verify_signature(TEXT, signature, wallet, rpc=rpc, chain_id=1)


@pytest.mark.chain
async def test_eip1271_refuses_plain_accounts_and_echoing_contracts(anvil: Anvil, w3: Any) -> None:
    signature = _sign(TEXT, anvil.private_keys[1])
    # An account with no code: eth_call returns nothing.
    with pytest.raises(SignatureError, match="not made by"):
        await verify_signature(TEXT, signature, anvil.addresses[3], rpc=w3, chain_id=31337)
    # A contract whose fallback returns its calldata, which starts with the magic selector.
    echo = "0x" + "ec" * 20
    # CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY CALLDATASIZE PUSH1 0 RETURN
    await w3.provider.make_request("anvil_setCode", [echo, "0x3660006000373660" + "00f3"])
    with pytest.raises(SignatureError, match="not made by"):
        await verify_signature(TEXT, signature, echo, rpc=w3, chain_id=31337)


async def test_unreachable_rpc_is_reported() -> None:
    async def down(method: str, params: list[Any]) -> Any:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(SignatureError, match="could not ask the chain"):
        await verify_signature(TEXT, _sign(TEXT), "0x" + "22" * 20, rpc=down, chain_id=1)
