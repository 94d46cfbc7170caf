"""Small helpers for the contract tests: expected revert data and decoded events."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

if TYPE_CHECKING:
    from web3.contract import AsyncContract
    from web3.types import EventData, TxParams, TxReceipt

ZERO_ADDRESS = "0x" + "00" * 20


def sender(address: str, value: int = 0, data: str | None = None) -> TxParams:
    """Call parameters: from ``address``, with ``value`` wei and optional calldata."""
    from eth_typing import HexStr
    from web3.types import Wei

    params: TxParams = {"from": address, "value": Wei(value)}
    if data is not None:
        params["data"] = HexStr(data)
    return params


def error_data(abi: Sequence[Any], name: str, *args: Any) -> str:
    """The revert data of custom error ``name`` from ``abi`` with ``args``, as 0x-hex."""
    entries = [e for e in abi if e["type"] == "error" and e["name"] == name]
    assert len(entries) == 1, f"{name} is not an error of this ABI"
    types = [i["type"] for i in entries[0]["inputs"]]
    selector = keccak(text=f"{name}({','.join(types)})")[:4]
    return "0x" + (selector + encode(types, list(args))).hex()


async def reverts_with(call: Awaitable[Any], abi: Sequence[Any], name: str, *args: Any) -> None:
    """Await ``call`` and assert it reverts with exactly custom error ``name(args)``."""
    from web3.exceptions import ContractCustomError

    with pytest.raises(ContractCustomError) as caught:
        await call
    assert caught.value.data == error_data(abi, name, *args)


def events(contract: AsyncContract, name: str, receipt: TxReceipt) -> list[EventData]:
    """The ``name`` events that ``contract`` emitted in ``receipt`` (other logs ignored)."""
    from web3.logs import DISCARD

    event = contract.events[name]()
    return [
        e
        for e in event.process_receipt(receipt, errors=DISCARD)
        if e["address"] == contract.address
    ]
