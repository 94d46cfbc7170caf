"""Prove that an address signed a text: EOA recovery (EIP-191), else EIP-1271 over JSON-RPC.

ERC-6492 signatures (from smart accounts that are not deployed yet) are refused outright: checking
them means simulating a deployment, and the account can sign again once it exists.
web3 is imported only when an ``AsyncWeb3`` is handed in (importing it costs ~1.7 s).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from crypto.keccak import keccak256
from crypto.keys import InvalidSignatureError, recover_public_key, to_address

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = [
    "EIP1271_MAGIC",
    "ERC6492_SUFFIX",
    "JsonRpc",
    "SignatureError",
    "eip191_hash",
    "recover_eoa",
    "verify_signature",
]

EIP1271_MAGIC = bytes.fromhex("1626ba7e")
# isValidSignature(bytes32,bytes)
_IS_VALID_SIGNATURE = bytes.fromhex("1626ba7e")
ERC6492_SUFFIX = bytes.fromhex("6492" * 16)
# Smart-account signatures (passkeys, multisigs) run to a few KiB; anything bigger is hostile.
MAX_SIGNATURE_SIZE = 16 * 1024
_EOA_SIGNATURE_SIZE = 65
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

JsonRpc = Callable[[str, list[Any]], Awaitable[Any]]
"""``await rpc(method, params)`` returns the JSON-RPC ``result`` or raises on an error reply."""


class SignatureError(ValueError):
    """The signature does not prove the address signed the text; the message says why."""


def eip191_hash(text: str) -> bytes:
    """The personal_sign hash: keccak256("\\x19Ethereum Signed Message:\\n" + len + text)."""
    data = text.encode("utf-8")
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode("ascii") + data)


def recover_eoa(text: str, signature: bytes) -> str:
    """The EIP-55 address whose key made this 65-byte personal_sign signature (v ∈ 0,1,27,28)."""
    if not isinstance(signature, bytes | bytearray) or len(signature) != _EOA_SIGNATURE_SIZE:
        raise SignatureError("an account signature is 65 bytes (r, s, v)")
    try:
        return to_address(recover_public_key(eip191_hash(text), bytes(signature)))
    except InvalidSignatureError as exc:
        raise SignatureError(f"the signature is malformed: {exc}") from exc


def _abi_is_valid_signature(digest: bytes, signature: bytes) -> bytes:
    padded = signature + b"\x00" * (-len(signature) % 32)
    return (
        _IS_VALID_SIGNATURE
        + digest
        + (64).to_bytes(32, "big")
        + len(signature).to_bytes(32, "big")
        + padded
    )


def _web3_rpc(w3: AsyncWeb3[Any]) -> JsonRpc:
    async def call(method: str, params: list[Any]) -> Any:
        response = await w3.provider.make_request(method, params)
        if "error" in response:
            raise RuntimeError(f"RPC error: {response['error']}")
        return response.get("result")

    return call


async def _eip1271(
    rpc: JsonRpc, address: str, digest: bytes, signature: bytes, chain_id: int
) -> bool:
    """True when the contract at ``address`` on ``chain_id`` accepts the signature."""
    try:
        remote_chain = int(str(await rpc("eth_chainId", [])), 16)
    except Exception as exc:  # transport and node errors of every kind
        raise SignatureError(f"could not ask the chain about this signature: {exc}") from exc
    if remote_chain != chain_id:
        raise SignatureError(
            f"cannot check a smart-account signature for chain {chain_id}: "
            f"this bridge's RPC is on chain {remote_chain}"
        )
    call = {"to": address, "data": "0x" + _abi_is_valid_signature(digest, signature).hex()}
    try:
        result = await rpc("eth_call", [call, "latest"])
    except Exception:
        # The node just answered eth_chainId, so this is a revert (or a node refusing the
        # call): either way the contract did not accept the signature.
        return False
    if not isinstance(result, str) or not result.startswith("0x"):
        return False
    try:
        returned = bytes.fromhex(result[2:])
    except ValueError:
        return False
    # Exactly one ABI word: a contract whose fallback echoes its calldata would otherwise
    # "return" the selector, which equals the magic value.
    return returned == EIP1271_MAGIC + bytes(28)


async def verify_signature(
    text: str,
    signature: bytes,
    address: str,
    *,
    rpc: JsonRpc | AsyncWeb3[Any] | None,
    chain_id: int,
    timeout: float = 10.0,  # noqa: ASYNC109 - one deadline for several RPC calls
) -> Literal["eoa", "eip1271"]:
    """How ``address`` signed ``text``: "eoa" or "eip1271"; raises SignatureError otherwise.

    ``rpc`` is a JSON-RPC endpoint for the chain the message names (an ``AsyncWeb3`` or an
    ``await rpc(method, params)`` callable); without one only plain accounts can be verified.
    """
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise SignatureError("the address must be 0x followed by 40 hexadecimal digits")
    if not isinstance(signature, bytes | bytearray):
        raise SignatureError("the signature must be bytes")
    signature = bytes(signature)
    if len(signature) > MAX_SIGNATURE_SIZE:
        raise SignatureError("the signature is too large")
    if len(signature) >= len(ERC6492_SUFFIX) and signature.endswith(ERC6492_SUFFIX):
        raise SignatureError(
            "this signature comes from a smart account that is not deployed yet (ERC-6492); "
            "deploy the account (make one transaction with it) and sign in again"
        )
    if len(signature) == _EOA_SIGNATURE_SIZE:
        try:
            if recover_eoa(text, signature).lower() == address.lower():
                return "eoa"
        except SignatureError:
            pass  # maybe a 65-byte contract signature: fall through to EIP-1271
    if rpc is None:
        raise SignatureError(f"the signature was not made by {address}")
    call: JsonRpc = _web3_rpc(rpc) if hasattr(rpc, "provider") else rpc  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(timeout):
            accepted = await _eip1271(call, address, eip191_hash(text), signature, chain_id)
    except TimeoutError as exc:
        raise SignatureError("the chain did not answer in time; try again later") from exc
    if accepted:
        return "eip1271"
    raise SignatureError(f"the signature was not made by {address} (nor accepted by its contract)")
