"""The few TipJar and ERC-20 calls the bridge needs, ABI-encoded by hand from the artifact.

Every argument is a static ABI type (address, uint256, bytes32), so each is one 32-byte word;
the selectors come from the committed TipJar ABI, so a changed contract fails loudly here.
Event decoding treats the log as hostile: anything malformed raises ``MalformedLog``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from crypto.keccak import keccak256
from crypto.keys import checksum_address

__all__ = [
    "ALLOWANCE_SELECTOR",
    "DECIMALS_SELECTOR",
    "SYMBOL_SELECTOR",
    "MalformedLog",
    "TippedEvent",
    "allowance_calldata",
    "approve_calldata",
    "decode_tipped",
    "tip_eth_calldata",
    "tip_token_calldata",
    "tipped_topic",
    "to_checksum",
]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")

ALLOWANCE_SELECTOR = "0x" + keccak256(b"allowance(address,address)")[:4].hex()
DECIMALS_SELECTOR = "0x" + keccak256(b"decimals()")[:4].hex()
SYMBOL_SELECTOR = "0x" + keccak256(b"symbol()")[:4].hex()
_APPROVE = keccak256(b"approve(address,uint256)")[:4]


class MalformedLog(ValueError):
    """A log that is not a well-formed TipJar ``Tipped`` event."""


def to_checksum(address: str) -> str:
    """EIP-55 form of a 0x address; ``ValueError`` if it is not one (or fails its checksum)."""
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise ValueError(f"not an address: {str(address)[:50]!r}")
    body = address[2:]
    checksummed = checksum_address(bytes.fromhex(body))
    if body != body.lower() and body != body.upper() and checksummed != address:
        raise ValueError(f"{address} has mixed case but fails its EIP-55 checksum")
    return checksummed


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"


@cache
def _tipjar_abi() -> dict[str, str]:
    from contracts import load_artifact

    return {
        str(item["name"]): _signature(item)
        for item in load_artifact("TipJar").abi
        if item.get("type") in ("function", "event")
    }


def _selector(name: str, expected: str) -> bytes:
    signature = _tipjar_abi().get(name)
    if signature != expected:
        raise RuntimeError(f"the TipJar artifact has {signature!r}, the bridge expects {expected}")
    return keccak256(signature.encode())[:4]


@cache
def tipped_topic() -> str:
    signature = _tipjar_abi().get("Tipped")
    expected = "Tipped(address,address,address,uint256,bytes32)"
    if signature != expected:
        raise RuntimeError(f"the TipJar artifact has {signature!r}, the bridge expects {expected}")
    return "0x" + keccak256(signature.encode()).hex()


def _word_address(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(to_checksum(address)[2:])


def _word_uint(value: int) -> bytes:
    if not 0 <= value < 2**256:
        raise ValueError("uint256 out of range")
    return value.to_bytes(32, "big")


def _word_bytes32(value: str) -> bytes:
    if not _HEX32.match(value):
        raise ValueError("bytes32 must be 0x + 64 hex digits")
    return bytes.fromhex(value[2:])


def tip_eth_calldata(to: str, ref: str) -> str:
    data = _selector("tipETH", "tipETH(address,bytes32)") + _word_address(to) + _word_bytes32(ref)
    return "0x" + data.hex()


def tip_token_calldata(token: str, to: str, amount: int, ref: str) -> str:
    selector = _selector("tipToken", "tipToken(address,address,uint256,bytes32)")
    data = (
        selector
        + _word_address(token)
        + _word_address(to)
        + _word_uint(amount)
        + _word_bytes32(ref)
    )
    return "0x" + data.hex()


def approve_calldata(spender: str, amount: int) -> str:
    return "0x" + (_APPROVE + _word_address(spender) + _word_uint(amount)).hex()


def allowance_calldata(owner: str, spender: str) -> str:
    return ALLOWANCE_SELECTOR + (_word_address(owner) + _word_address(spender)).hex()


@dataclass(frozen=True, slots=True)
class TippedEvent:
    tx_hash: str  # 0x + 64 lower-case hex
    log_index: int
    block_number: int
    block_hash: str
    sender: str  # EIP-55
    recipient: str  # EIP-55
    token: str | None  # EIP-55; None for ETH
    amount: int
    ref: str  # 0x + 64 lower-case hex


def _int(value: object, what: str) -> int:
    if not isinstance(value, str) or not re.match(r"^0x[0-9a-fA-F]{1,16}$", value):
        raise MalformedLog(f"{what} is not a hex quantity")
    return int(value, 16)


def _hash(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise MalformedLog(f"{what} is not a 32-byte hash")
    return value.lower()


def _topic_address(topic: object, what: str) -> str:
    word = _hash(topic, what)
    if word[2:26] != "0" * 24:
        raise MalformedLog(f"{what} is not an address word")
    return checksum_address(bytes.fromhex(word[26:]))


def decode_tipped(log: object, tipjar: str) -> TippedEvent:
    """Decode one ``eth_getLogs`` entry as a TipJar ``Tipped`` event from ``tipjar``."""
    if not isinstance(log, dict):
        raise MalformedLog("a log is not an object")
    address = log.get("address")
    if not isinstance(address, str) or address.lower() != tipjar.lower():
        raise MalformedLog("the log is not from the TipJar")
    if log.get("removed") is True:
        raise MalformedLog("the log was removed by a reorg")
    topics = log.get("topics")
    if not isinstance(topics, list) or len(topics) != 4:
        raise MalformedLog("a Tipped log has exactly 4 topics")
    if _hash(topics[0], "topic0") != tipped_topic():
        raise MalformedLog("the log is not a Tipped event")
    data = log.get("data")
    if not isinstance(data, str) or not _HEX.match(data) or len(data) != 2 + 128:
        raise MalformedLog("Tipped data must be two words")
    raw = bytes.fromhex(data[2:])
    token = _topic_address(topics[3], "token topic")
    return TippedEvent(
        tx_hash=_hash(log.get("transactionHash"), "transactionHash"),
        log_index=_int(log.get("logIndex"), "logIndex"),
        block_number=_int(log.get("blockNumber"), "blockNumber"),
        block_hash=_hash(log.get("blockHash"), "blockHash"),
        sender=_topic_address(topics[1], "from topic"),
        recipient=_topic_address(topics[2], "to topic"),
        token=None if int(token, 16) == 0 else token,
        amount=int.from_bytes(raw[:32], "big"),
        ref="0x" + raw[32:].hex(),
    )
