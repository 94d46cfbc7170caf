"""Pure parts of tips: amounts, EIP-681 URIs, and decoding hostile logs."""

from __future__ import annotations

import pytest

from bridge.tips import abi
from bridge.tips.amounts import AmountError, format_amount, parse_amount
from bridge.tips.eip681 import approve_uri, tip_eth_uri, tip_token_uri

TIPJAR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
REF = "0x" + "ab" * 32


def test_amounts() -> None:
    assert parse_amount("0.01", 18, "ETH") == 10**16
    assert parse_amount(".5", 6, "USDC") == 500_000
    assert parse_amount("5", 0, "NFTX") == 5
    assert parse_amount("1.10", 1, "X") == 11  # trailing zeros are not extra precision
    for bad in ("0", "0.000", "-1", "+1", "1e3", "inf", "NaN", "1,0", "1.2.3", "", " ", "٣"):
        with pytest.raises(AmountError):
            parse_amount(bad, 18, "ETH")
    with pytest.raises(AmountError, match="6 decimal places"):
        parse_amount("0.0000001", 6, "USDC")
    with pytest.raises(AmountError, match="cannot be split"):
        parse_amount("1.5", 0, "NFTX")
    with pytest.raises(AmountError, match="more than"):
        parse_amount("1000000000001", 18, "ETH")
    assert format_amount(10**16, 18) == "0.01"
    assert format_amount(5 * 10**6, 6) == "5"
    assert format_amount(12345, 18) == "0.000000000000012345"
    assert format_amount(7, 0) == "7"


def test_eip681_uris() -> None:
    assert tip_eth_uri(TIPJAR, 1, BOB, REF, 10**16) == (
        f"ethereum:{TIPJAR}@1/tipETH?address={BOB}&bytes32={REF}&value=10000000000000000"
    )
    assert tip_token_uri(TIPJAR, 10, ALICE, BOB, 5, REF) == (
        f"ethereum:{TIPJAR}@10/tipToken?address={ALICE}&address={BOB}&uint256=5&bytes32={REF}"
    )
    assert (
        approve_uri(ALICE, 1, TIPJAR, 5) == f"ethereum:{ALICE}@1/approve?address={TIPJAR}&uint256=5"
    )


def _word(address: str) -> str:
    return "0x" + "0" * 24 + address[2:].lower()


def _log(**changes: object) -> dict[str, object]:
    word = _word
    log: dict[str, object] = {
        "address": TIPJAR.lower(),
        "topics": [abi.tipped_topic(), word(ALICE), word(BOB), "0x" + "00" * 32],
        "data": "0x" + (10**16).to_bytes(32, "big").hex() + REF[2:],
        "transactionHash": "0x" + "11" * 32,
        "blockHash": "0x" + "22" * 32,
        "blockNumber": "0x10",
        "logIndex": "0x0",
        "removed": False,
    }
    log.update(changes)
    return log


def test_decode_tipped_and_hostile_logs() -> None:
    topics = [abi.tipped_topic(), _word(ALICE), _word(BOB), "0x" + "00" * 32]
    event = abi.decode_tipped(_log(), TIPJAR)
    assert (event.sender, event.recipient, event.token) == (ALICE, BOB, None)
    assert (event.amount, event.ref, event.block_number) == (10**16, REF, 16)
    hostile = [
        "not a dict",
        _log(address=BOB),
        _log(removed=True),
        _log(topics=[abi.tipped_topic()]),
        _log(topics="0x"),
        _log(topics=["0x" + "33" * 32, *topics[1:]]),
        _log(topics=[topics[0], "0x" + "ff" * 32, *topics[2:]]),
        _log(data="0x1234"),
        _log(data="0x" + "zz" * 64),
        _log(data=None),
        _log(transactionHash="0x12"),
        _log(blockNumber=16),
        _log(logIndex="0x" + "f" * 40),
        _log(blockHash=None),
    ]
    for log in hostile:
        with pytest.raises(abi.MalformedLog):
            abi.decode_tipped(log, TIPJAR)


def test_calldata_matches_the_abi() -> None:
    from eth_abi.abi import encode
    from eth_utils.crypto import keccak

    data = abi.tip_eth_calldata(BOB, REF)
    expected = keccak(text="tipETH(address,bytes32)")[:4] + encode(
        ["address", "bytes32"], [BOB, bytes.fromhex(REF[2:])]
    )
    assert data == "0x" + expected.hex()
    data = abi.tip_token_calldata(ALICE, BOB, 5, REF)
    expected = keccak(text="tipToken(address,address,uint256,bytes32)")[:4] + encode(
        ["address", "address", "uint256", "bytes32"], [ALICE, BOB, 5, bytes.fromhex(REF[2:])]
    )
    assert data == "0x" + expected.hex()
