"""Parley's Solidity contracts: the committed build artifacts and a small async deploy helper.

The artifacts in ``contracts/artifacts/`` are built by ``node contracts/build.mjs`` and shipped
as package data, so running the bridge needs no Node. ``web3`` is imported lazily (it costs
1.7 s); importing this module only reads JSON.
"""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress
    from web3 import AsyncWeb3
    from web3.contract import AsyncContract
    from web3.types import TxParams, TxReceipt

__all__ = [
    "Artifact",
    "NonceManager",
    "TransactionFailed",
    "artifact_names",
    "at",
    "deploy",
    "load_artifact",
    "nonce_manager",
    "send_transaction",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its ABI and creation bytecode (``0x``-hex)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    source_name: str
    compiler: str


def _artifacts_dir() -> resources.abc.Traversable:
    return resources.files(__name__) / "artifacts"


@cache
def load_artifact(name: str) -> Artifact:
    """Read ``contracts/artifacts/<name>.json``; raise ``KeyError`` for an unknown contract."""
    if not _NAME.fullmatch(name):
        raise KeyError(f"not a contract name: {name!r}")
    path = _artifacts_dir() / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no artifact for contract {name!r}")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        source_name=data["sourceName"],
        compiler=data["compiler"]["version"],
    )


def artifact_names() -> list[str]:
    """Names of every contract with an artifact, sorted."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in _artifacts_dir().iterdir()
        if entry.name.endswith(".json")
    )


class TransactionFailed(RuntimeError):
    """A mined transaction has status 0."""

    def __init__(self, tx_hash: str, receipt: TxReceipt) -> None:
        super().__init__(f"transaction {tx_hash} reverted")
        self.tx_hash = tx_hash
        self.receipt = receipt


class NonceManager:
    """Nonces for locally signed transactions: one counter and one lock per sender.

    The first transaction of a sender reads the pending count from the node; later ones count
    locally (``get_transaction_count('pending')`` races when transactions are sent concurrently). A
    nonce is consumed only once the node has accepted the transaction; any error while sending
    forgets the counter so the next transaction re-reads it. Call :meth:`reset` after
    ``evm_revert`` or anything else that rewinds the chain.
    """

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, address: str) -> asyncio.Lock:
        """The lock to hold from choosing a nonce until the transaction was sent."""
        return self._locks.setdefault(address, asyncio.Lock())

    async def peek(self, w3: AsyncWeb3[Any], address: str) -> int:
        """The nonce the next transaction of ``address`` must use (call with the lock held)."""
        if address not in self._next:
            from web3 import Web3

            pending = await w3.eth.get_transaction_count(
                Web3.to_checksum_address(address), "pending"
            )
            self._next[address] = pending
        return self._next[address]

    def consume(self, address: str) -> None:
        """Mark the peeked nonce as used (the node accepted the transaction)."""
        self._next[address] += 1

    def reset(self, address: str | None = None) -> None:
        """Forget one sender's counter, or all of them."""
        if address is None:
            self._next.clear()
        else:
            self._next.pop(address, None)


_managers: weakref.WeakKeyDictionary[AsyncWeb3[Any], NonceManager] = weakref.WeakKeyDictionary()


def nonce_manager(w3: AsyncWeb3[Any]) -> NonceManager:
    """The :class:`NonceManager` shared by everything that sends through ``w3``."""
    manager = _managers.get(w3)
    if manager is None:
        manager = _managers[w3] = NonceManager()
    return manager


class _Buildable(Protocol):
    """A contract function call or constructor: anything with web3's ``build_transaction``."""

    async def build_transaction(self, transaction: TxParams | None = None) -> TxParams: ...


async def send_transaction(
    w3: AsyncWeb3[Any],
    call: _Buildable,
    *,
    private_key: bytes,
    value: int = 0,
    gas: int | None = None,
    receipt_timeout: float = 30.0,
) -> TxReceipt:
    """Sign ``call`` locally with ``private_key``, send it, and wait for its receipt.

    Unless ``gas`` is given, ``build_transaction`` estimates it, so a call that would revert
    raises web3's ``ContractLogicError``/``ContractCustomError`` before any nonce is consumed.
    A mined transaction with status 0 raises :class:`TransactionFailed`.
    """
    from eth_account import Account
    from web3.types import Nonce, Wei

    account = Account.from_key(private_key)
    sender: str = account.address
    nonces = nonce_manager(w3)
    async with nonces.lock(sender):
        nonce = await nonces.peek(w3, sender)
        params: TxParams = {"from": sender, "nonce": Nonce(nonce), "value": Wei(value)}
        if gas is not None:
            params["gas"] = gas
        tx = await call.build_transaction(params)
        signed = account.sign_transaction(tx)
        try:
            tx_hash = await w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception:
            nonces.reset(sender)
            raise
        nonces.consume(sender)
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=receipt_timeout)
    if receipt["status"] != 1:
        raise TransactionFailed(tx_hash.to_0x_hex(), receipt)
    return receipt


async def deploy(w3: AsyncWeb3[Any], name: str, *args: Any, private_key: bytes) -> ChecksumAddress:
    """Deploy contract ``name`` with constructor ``args``; return its checksum address."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = await send_transaction(w3, factory.constructor(*args), private_key=private_key)
    address = receipt["contractAddress"]
    if address is None:
        raise RuntimeError(f"deploying {name}: the receipt names no contract address")
    return address


def at(w3: AsyncWeb3[Any], name: str, address: str) -> AsyncContract:
    """The deployed contract ``name`` at ``address``, with its ABI."""
    from web3 import Web3

    checksum = Web3.to_checksum_address(address)
    contract: AsyncContract = w3.eth.contract(address=checksum, abi=load_artifact(name).abi)
    return contract
