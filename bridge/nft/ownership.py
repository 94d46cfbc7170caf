"""Check on chain whether an address holds an NFT, and read its token URI, at one block.

ERC-165 tells ERC-721 (``ownerOf`` + ``tokenURI``) from ERC-1155 (``balanceOf`` + ``uri``);
a contract answering neither is "unknown" and never counts as owned. Every read of one check is
pinned to the same block so a transfer between reads cannot mix states. Calls are hand-encoded
(five fixed selectors) and answers size-capped; web3 is imported only when a check runs.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from crypto.keys import checksum_address

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = [
    "ERC721_INTERFACE",
    "ERC1155_INTERFACE",
    "Ownership",
    "OwnershipError",
    "Standard",
    "caip19",
    "check_ownership",
    "parse_caip19",
]

Standard = Literal["erc721", "erc1155", "unknown"]

ERC165_INTERFACE = bytes.fromhex("01ffc9a7")
ERC721_INTERFACE = bytes.fromhex("80ac58cd")
ERC1155_INTERFACE = bytes.fromhex("d9b67a26")
_INVALID_INTERFACE = bytes.fromhex("ffffffff")
_SUPPORTS_INTERFACE = bytes.fromhex("01ffc9a7")  # supportsInterface(bytes4)
_OWNER_OF = bytes.fromhex("6352211e")  # ownerOf(uint256)
_TOKEN_URI = bytes.fromhex("c87b56dd")  # tokenURI(uint256)
_BALANCE_OF = bytes.fromhex("00fdd58e")  # balanceOf(address,uint256)
_URI = bytes.fromhex("0e89341c")  # uri(uint256)
# On-chain SVG data: URIs run to a few hundred KiB; a megabyte is plenty.
MAX_URI_BYTES = 1024 * 1024
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_CAIP19 = re.compile(
    r"eip155:([1-9][0-9]{0,19})/(erc721|erc1155):(0x[0-9a-fA-F]{40})/(0|[1-9][0-9]*)"
)


class OwnershipError(RuntimeError):
    """The chain could not be asked (RPC down, timeout); says nothing about ownership."""


@dataclass(frozen=True)
class Ownership:
    """The outcome of one check, all of it read at ``block``."""

    standard: Standard
    owned: bool
    token_uri: str | None
    block: int


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _bool(data: bytes | None) -> bool:
    # Exactly one word holding 1: anything else (revert, empty, garbage) is "no".
    return data is not None and len(data) == 32 and data == _word(1)


def _decode_string(data: bytes | None) -> str | None:
    """An ABI-encoded ``string`` return value, or None when it is absent or malformed."""
    if data is None or len(data) < 64 or len(data) > MAX_URI_BYTES + 96:
        return None
    offset = int.from_bytes(data[:32], "big")
    if offset + 32 > len(data):
        return None
    length = int.from_bytes(data[offset : offset + 32], "big")
    start = offset + 32
    if length > MAX_URI_BYTES or start + length > len(data):
        return None
    try:
        return data[start : start + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def caip19(
    chain_id: int, standard: Literal["erc721", "erc1155"], contract: str, token_id: int
) -> str:
    """The CAIP-19-style asset id ``eip155:<chain>/<standard>:<contract>/<token id>``.

    The contract is lower-cased so that one token has exactly one id string.
    """
    if chain_id <= 0 or not _ADDRESS.fullmatch(contract) or not 0 <= token_id < 2**256:
        raise ValueError("invalid chain id, contract address or token id")
    return f"eip155:{chain_id}/{standard}:{contract.lower()}/{token_id}"


def parse_caip19(asset_id: str) -> tuple[int, Literal["erc721", "erc1155"], str, int]:
    """The (chain id, standard, lower-case contract, token id) of a :func:`caip19` id."""
    match = _CAIP19.fullmatch(asset_id)
    if match is None or len(match.group(4)) > 78:
        raise ValueError(f"{asset_id[:120]!r} is not an eip155 ERC-721/1155 asset id")
    standard: Literal["erc721", "erc1155"] = "erc721" if match.group(2) == "erc721" else "erc1155"
    token_id = int(match.group(4))
    if token_id >= 2**256:
        raise ValueError("token ids are 256-bit")
    return int(match.group(1)), standard, match.group(3).lower(), token_id


async def check_ownership(
    w3: AsyncWeb3[Any],
    contract: str,
    token_id: int,
    owner: str,
    *,
    block: int | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - one deadline for several RPC calls
) -> Ownership:
    """Whether ``owner`` holds ``token_id`` of ``contract`` at ``block`` (default: latest).

    Raises OwnershipError when the chain cannot be asked, ValueError for malformed arguments.
    """
    from web3.exceptions import ContractLogicError

    if not _ADDRESS.fullmatch(contract) or not _ADDRESS.fullmatch(owner):
        raise ValueError("contract and owner must be 0x-prefixed 20-byte hex addresses")
    if not 0 <= token_id < 2**256:
        raise ValueError("token ids are 256-bit unsigned integers")
    target = checksum_address(bytes.fromhex(contract[2:]))  # web3 insists on EIP-55
    try:
        async with asyncio.timeout(timeout):
            at = int(await w3.eth.block_number) if block is None else block

            async def call(data: bytes) -> bytes | None:
                try:
                    result = await w3.eth.call(
                        {"to": target, "data": "0x" + data.hex()},  # type: ignore[typeddict-item]
                        block_identifier=at,
                    )
                except ContractLogicError:
                    return None  # a revert: the contract said no
                return bytes(result)

            supports_165, invalid, is_721, is_1155 = await asyncio.gather(
                call(_SUPPORTS_INTERFACE + ERC165_INTERFACE + bytes(28)),
                call(_SUPPORTS_INTERFACE + _INVALID_INTERFACE + bytes(28)),
                call(_SUPPORTS_INTERFACE + ERC721_INTERFACE + bytes(28)),
                call(_SUPPORTS_INTERFACE + ERC1155_INTERFACE + bytes(28)),
            )
            if not _bool(supports_165) or _bool(invalid):
                return Ownership(standard="unknown", owned=False, token_uri=None, block=at)
            if _bool(is_721):
                holder, uri = await asyncio.gather(
                    call(_OWNER_OF + _word(token_id)), call(_TOKEN_URI + _word(token_id))
                )
                owned = (
                    holder is not None
                    and len(holder) == 32
                    and holder[:12] == bytes(12)
                    and holder[12:] == bytes.fromhex(owner[2:])
                )
                return Ownership(
                    standard="erc721", owned=owned, token_uri=_decode_string(uri), block=at
                )
            if _bool(is_1155):
                balance, uri = await asyncio.gather(
                    call(_BALANCE_OF + _address_word(owner) + _word(token_id)),
                    call(_URI + _word(token_id)),
                )
                owned = balance is not None and len(balance) == 32 and int.from_bytes(balance) > 0
                return Ownership(
                    standard="erc1155", owned=owned, token_uri=_decode_string(uri), block=at
                )
            return Ownership(standard="unknown", owned=False, token_uri=None, block=at)
    except TimeoutError as exc:
        raise OwnershipError("the chain did not answer in time") from exc
    except Exception as exc:  # RPC transport and node errors of every kind
        raise OwnershipError(f"could not read the chain: {exc.__class__.__name__}: {exc}") from exc
