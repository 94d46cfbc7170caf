"""The chain fixtures: anvil's fixed accounts, per-test isolation, and the nonce handling."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from web3.exceptions import ContractCustomError

from contracts import TransactionFailed, at, deploy, nonce_manager, send_transaction
from tests.chain.anvil import CHAIN_ID, Anvil, derive_keys, start_anvil

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain

# anvil's well-known first key for the default mnemonic.
FIRST_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
FIRST_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_accounts_come_from_the_fixed_mnemonic(anvil: Anvil) -> None:
    assert anvil.chain_id == CHAIN_ID == 31337
    assert anvil.rpc_url.startswith("http://127.0.0.1:")
    assert len(anvil.private_keys) == len(anvil.addresses) == 10
    assert anvil.private_keys[0] == FIRST_KEY == derive_keys(count=1)[0]
    assert anvil.addresses[0] == FIRST_ADDRESS
    assert int(anvil.rpc("eth_chainId"), 16) == 31337


async def _assert_pristine_then_change(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    # Every test starts from the same chain, whatever ran before it ...
    assert await w3.eth.chain_id == 31337
    assert await w3.eth.block_number == 0
    assert await w3.eth.get_transaction_count(anvil.addresses[0]) == 0
    assert await w3.eth.get_balance(anvil.addresses[0]) == 10_000 * 10**18
    # ... and leaves changes behind for the next one to not see.
    await deploy(w3, "Feed", private_key=anvil.private_keys[0])
    assert await w3.eth.block_number == 1


async def test_isolation_first(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    await _assert_pristine_then_change(w3, anvil)


async def test_isolation_second(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    await _assert_pristine_then_change(w3, anvil)


async def test_concurrent_sends_get_distinct_nonces(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    key = anvil.private_keys[3]
    addresses = await asyncio.gather(*(deploy(w3, "Feed", private_key=key) for _ in range(5)))
    assert len(set(addresses)) == 5
    assert await w3.eth.get_transaction_count(anvil.addresses[3]) == 5
    for address in addresses:
        assert await w3.eth.get_code(address) != b""


async def test_a_refused_estimate_consumes_no_nonce(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    key, me = anvil.private_keys[0], anvil.addresses[0]
    feed = at(w3, "Feed", await deploy(w3, "Feed", private_key=key))
    with pytest.raises(ContractCustomError):
        await send_transaction(w3, feed.functions.post(b"\0" * 32, ""), private_key=key)
    await send_transaction(w3, feed.functions.post(b"\1" * 32, ""), private_key=key)
    assert await w3.eth.get_transaction_count(me) == 2
    # A transaction mined with status 0 does consume its nonce.
    with pytest.raises(TransactionFailed):
        await send_transaction(w3, feed.functions.post(b"\0" * 32, ""), private_key=key, gas=60_000)
    await send_transaction(w3, feed.functions.post(b"\2" * 32, ""), private_key=key)
    assert await w3.eth.get_transaction_count(me) == 4


async def test_nonce_counter_resyncs_after_an_outside_transaction(
    w3: AsyncWeb3[Any], anvil: Anvil
) -> None:
    key = anvil.private_keys[0]
    await deploy(w3, "Feed", private_key=key)
    # Someone else (another process, a wallet) uses the next nonce behind our back:
    anvil.rpc(
        "eth_sendTransaction",
        [{"from": anvil.addresses[0], "to": anvil.addresses[1], "value": "0x1"}],
    )
    # The stale counter makes the node refuse the next send; the counter is then forgotten ...
    with pytest.raises(Exception, match="nonce"):
        await deploy(w3, "Feed", private_key=key)
    # ... so the one after reads it afresh and succeeds.
    await deploy(w3, "Feed", private_key=key)
    assert await w3.eth.get_transaction_count(anvil.addresses[0]) == 3
    nonce_manager(w3).reset()


def test_a_missing_anvil_binary_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="anvil is missing"):
        start_anvil(tmp_path / "anvil")
